"""Writing scores: `scores_save` and evidence files.

`scores_save` writes any number of scores of one stage across any number of assessments with a
fixed number of queries (web row, save-all, Excel upload and command line all use it); each
change gets a ScoreChange row in the same transaction. Optimistic locking: a score carries a
version; an input based on an older version is refused (StaleScores) and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Indicator, IndicatorKind
from scoring.errors import InputErrors, LockedError, ScoringError, StaleScore, StaleScores
from scoring.inputs import ScoreInput, validate_input
from scoring.models import (
    Assessment,
    AssessmentEvent,
    AssessmentEventKind,
    ChangeSource,
    Evidence,
    Score,
    ScoreChange,
    Stage,
)
from villages.errors import ErrorCode
from villages.models import User
from villages.policy import Action, may


@dataclass
class SaveResult:
    changes: list[ScoreChange] = field(default_factory=list)
    scores: dict[tuple[int, int], Score] = field(default_factory=dict)


# --- scores ---------------------------------------------------------------------------------


def lock_assessments(ids: Iterable[int]) -> dict[int, Assessment]:
    """Lock the assessments' rows for the transaction: serialises saves against transitions."""
    return {
        a.id: a
        for a in Assessment.objects.select_for_update(of=("self",))
        .select_related("unit", "period__campaign")
        .filter(id__in=set(ids))
    }


def _check_can_edit(user: User, assessment: Assessment, stage: str) -> None:
    if assessment.stage == Stage.FINAL:
        who = assessment.finalised_by
        raise LockedError(
            _("This assessment was finalised by %(who)s on %(when)s and is locked.")
            % {
                "who": (who.get_full_name() or who.username) if who else _("the county"),
                "when": timezone.localtime(assessment.finalised_at).strftime("%Y-%m-%d %H:%M"),
            }
        )
    if not assessment.period.is_open:
        raise LockedError(_("The period %(p)s is closed.") % {"p": assessment.period.label})
    if assessment.stage != stage:
        raise ScoringError(
            _("%(unit)s is at the stage “%(now)s”; scores of “%(stage)s” cannot be changed now.")
            % {
                "unit": assessment.unit.name,
                "now": Stage(assessment.stage).label,
                "stage": Stage(stage).label,
            },
            code=ErrorCode.WRONG_STAGE,
        )
    if not may(user, Action.SCORE, state=stage, code=assessment.unit.code):
        raise ScoringError(_("You may not enter scores at this stage."), code=ErrorCode.FORBIDDEN)


def _submitted_before(assessment_ids: Iterable[int], stage: str) -> set[int]:
    return set(
        AssessmentEvent.objects.filter(
            assessment_id__in=set(assessment_ids),
            kind=AssessmentEventKind.SUBMIT,
            from_stage=stage,
        ).values_list("assessment_id", flat=True)
    )


def scores_save(
    *,
    user: User,
    stage: str,
    inputs: Sequence[ScoreInput],
    source: str = ChangeSource.WEB,
    changed_since: dt.datetime | None = None,
) -> SaveResult:
    """Validate and write scores of one stage; write an audit row per change. All or nothing.

    Queries are fixed whatever the number of inputs: lock assessments, load indicators and
    existing scores, check earlier submissions, then bulk update, bulk insert and audit insert.
    `changed_since` (Excel uploads): a score saved by someone else after that moment is stale.
    Raises ScoringError (with `errors` on validation), LockedError or StaleScores.
    """
    if not inputs:
        return SaveResult()
    now = timezone.now()
    with transaction.atomic():
        assessments = lock_assessments(i.assessment_id for i in inputs)
        missing = {i.assessment_id for i in inputs} - set(assessments)
        if missing:
            raise ScoringError(_("An assessment was not found."), code=ErrorCode.NOT_FOUND)
        for assessment in assessments.values():
            _check_can_edit(user, assessment, stage)
        indicators = {
            ind.id: ind for ind in Indicator.objects.filter(id__in={i.indicator_id for i in inputs})
        }
        _check_inputs(user, stage, inputs, assessments, indicators)

        existing = {
            (s.assessment_id, s.indicator_id): s
            for s in Score.objects.select_for_update(of=("self",)).filter(
                stage=stage,
                assessment_id__in=set(assessments),
                indicator_id__in=set(indicators),
            )
        }
        stale = []
        for item in inputs:
            current = existing.get((item.assessment_id, item.indicator_id))
            if _is_stale(item, current, user, changed_since):
                stale.append(StaleScore(item.assessment_id, item.indicator_id, current))
        if stale:
            raise StaleScores(stale)

        resubmitted = _submitted_before(assessments, stage)
        to_update, to_create, changes = [], [], []
        for item in inputs:
            key = (item.assessment_id, item.indicator_id)
            current = existing.get(key)
            indicator = indicators[item.indicator_id]
            value = None if indicator.kind == IndicatorKind.VETO else item.value
            vetoed = item.vetoed if indicator.kind == IndicatorKind.VETO else None
            note = item.note.strip()
            if current is not None and (current.value, current.vetoed, current.note) == (
                value,
                vetoed,
                note,
            ):
                continue
            if current is None and value is None and vetoed is None and not note:
                continue
            change = ScoreChange(
                assessment_id=item.assessment_id,
                indicator_id=item.indicator_id,
                stage=stage,
                old_value=current.value if current else None,
                old_vetoed=current.vetoed if current else None,
                new_value=value,
                new_vetoed=vetoed,
                note=note,
                source=source,
                after_submission=item.assessment_id in resubmitted,
                changed_by=user,
                changed_at=now,
            )
            if current is None:
                current = Score(
                    assessment_id=item.assessment_id,
                    indicator_id=item.indicator_id,
                    stage=stage,
                    version=1,
                )
                to_create.append(current)
                existing[key] = current
            else:
                current.version += 1
                to_update.append(current)
            current.value, current.vetoed, current.note = value, vetoed, note
            current.updated_by, current.updated_at = user, now
            change.score = current
            changes.append(change)
        if to_update:
            _scores_update(to_update)
        if to_create:
            try:
                with transaction.atomic():
                    Score.objects.bulk_create(to_create)
            except IntegrityError as exc:
                # Someone created one of these scores between our read and our insert.
                raise StaleScores(
                    [StaleScore(s.assessment_id, s.indicator_id, s) for s in to_create]
                ) from exc
        for change in changes:
            change.score_id = change.score.id
        ScoreChange.objects.bulk_create(changes)
        if changes:
            Assessment.objects.filter(id__in={c.assessment_id for c in changes}).update(
                updated_at=now
            )
    return SaveResult(changes=changes, scores=existing)


SCORE_UPDATE_FIELDS = ["value", "vetoed", "note", "version", "updated_by", "updated_at"]


def _scores_update(scores: list[Score]) -> None:
    """Write the changed fields of many scores in one statement.

    Django's bulk_update builds a CASE WHEN per row and field: for an Excel upload of 5,000
    scores that is seconds of Python and a CASE that PostgreSQL walks for every row (12 s in
    bench/run). On PostgreSQL one UPDATE joined to a VALUES list writes the same columns with
    the same values in milliseconds; other databases keep bulk_update.
    """
    if connection.vendor != "postgresql":
        Score.objects.bulk_update(scores, SCORE_UPDATE_FIELDS)
        return
    qn = connection.ops.quote_name
    fields = [Score._meta.get_field(name) for name in SCORE_UPDATE_FIELDS]
    params: list = []
    for score in scores:
        params.append(score.pk)
        params += [f.get_db_prep_save(getattr(score, f.attname), connection) for f in fields]
    row = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
    names = ", ".join(["id", *(qn(f.column) for f in fields)])
    assignments = ", ".join(
        f"{qn(f.column)} = v.{qn(f.column)}::{f.db_type(connection)}" for f in fields
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(Score._meta.db_table)} AS s SET {assignments} "
            f"FROM (VALUES {', '.join([row] * len(scores))}) AS v({names}) WHERE s.id = v.id",
            params,
        )


def _check_inputs(
    user: User,
    stage: str,
    inputs: Sequence[ScoreInput],
    assessments: dict[int, Assessment],
    indicators: dict[int, Indicator],
) -> None:
    errors: dict[tuple[int, int], list[tuple[str, str]]] = defaultdict(list)
    allowed = _allowed_indicator_ids(assessments.values())
    seen: set[tuple[int, int]] = set()
    for item in inputs:
        key = (item.assessment_id, item.indicator_id)
        if key in seen:
            errors[key].append(("value", _("This score is given more than once.")))
            continue
        seen.add(key)
        indicator = indicators.get(item.indicator_id)
        assessment = assessments[item.assessment_id]
        if indicator is None or item.indicator_id not in allowed[assessment.id]:
            errors[key].append(("value", _("This indicator does not apply to this unit.")))
            continue
        if not may(
            user,
            Action.SCORE,
            state=stage,
            code=assessment.unit.code,
            department_id=indicator.lead_department_id,
        ):
            errors[key].append(
                ("value", _("Only the lead department of this indicator may score it."))
            )
            continue
        errors[key].extend(validate_input(item, indicator))
    errors = {k: v for k, v in errors.items() if v}
    if errors:
        raise InputErrors(errors)


def _allowed_indicator_ids(assessments: Iterable[Assessment]) -> dict[int, set[int]]:
    """Indicator ids that apply to each assessment (by unit kind and catalogue version)."""
    groups: dict[tuple[int, int, str], list[int]] = defaultdict(list)
    for a in assessments:
        groups[(a.period.campaign_id, a.period.catalogue_version, a.unit.kind)].append(a.id)
    allowed: dict[int, set[int]] = {}
    for (campaign_id, version, kind), ids in groups.items():
        indicator_ids = set(
            Indicator.objects.applicable(campaign_id, version, kind).values_list("id", flat=True)
        )
        for assessment_id in ids:
            allowed[assessment_id] = indicator_ids
    return allowed


def _is_stale(
    item: ScoreInput, current: Score | None, user: User, changed_since: dt.datetime | None
) -> bool:
    if changed_since is not None:
        return (
            current is not None
            and current.updated_at > changed_since
            and current.updated_by_id != user.id
        )
    if item.expected_version is None:
        return False
    return (current.version if current else 0) != item.expected_version


# --- evidence -------------------------------------------------------------------------------


def check_attachment(upload: UploadedFile, field: str = "file") -> str:
    """Refuse a file that is too large, of a type we do not take, or not what its name says.

    Returns the file's base name.
    """
    name = os.path.basename(upload.name or "")
    extension = os.path.splitext(name)[1].lower()
    if upload.size > settings.EVIDENCE_MAX_BYTES:
        raise ScoringError(
            _("The file is larger than %(mb)d MB.") % {"mb": settings.EVIDENCE_MAX_BYTES // 2**20},
            field=field,
            code=ErrorCode.FILE,
        )
    if extension not in settings.EVIDENCE_TYPES:
        raise ScoringError(
            _("Only JPG, PNG, PDF, DOCX and XLSX files can be attached."),
            field=field,
            code=ErrorCode.FILE,
        )
    head = upload.read(16)
    upload.seek(0)
    if not head.startswith(settings.EVIDENCE_TYPES[extension]):
        raise ScoringError(
            _("The file's content does not match its type."), field=field, code=ErrorCode.FILE
        )
    return name


def evidence_attach(*, user: User, score_id: int, upload: UploadedFile) -> Evidence:
    """Attach a file to a score the user may edit now. Checks size, extension and content."""
    name = check_attachment(upload)
    with transaction.atomic():
        score = Score.objects.select_related("assessment", "indicator").filter(pk=score_id).first()
        if score is None:
            raise ScoringError(_("The score was not found."), code=ErrorCode.NOT_FOUND)
        assessment = lock_assessments([score.assessment_id])[score.assessment_id]
        _check_can_edit(user, assessment, score.stage)
        if not may(
            user,
            Action.SCORE,
            state=score.stage,
            code=assessment.unit.code,
            department_id=score.indicator.lead_department_id,
        ):
            raise ScoringError(
                _("Only the lead department of this indicator may score it."),
                code=ErrorCode.FORBIDDEN,
            )
        return Evidence.objects.create(
            score=score, file=upload, original_name=name[:200], size=upload.size, uploaded_by=user
        )
