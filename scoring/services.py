"""Every write that matters in scoring: one transaction, validated, audited.

Scores: `scores_save` writes any number of scores of one stage across any number of assessments
with a fixed number of queries (web row, save-all, Excel upload and command line all use it);
each change gets a ScoreChange row in the same transaction. Optimistic locking: a score carries
a version; an input based on an older version is refused (StaleScores) and nothing is written.
Transitions: submit, return, finalise, each recorded as an AssessmentEvent.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign, CampaignStatus, Indicator, IndicatorKind, RuleMode
from scoring import permissions, rules
from scoring.models import (
    AdjustmentProposal,
    AdjustmentRun,
    AdjustmentStatus,
    Assessment,
    AssessmentEvent,
    AssessmentEventKind,
    ChangeSource,
    Evidence,
    ExportJob,
    ExportKind,
    Holding,
    HoldingChange,
    HoldingChangeKind,
    JobStatus,
    Period,
    ProposalAction,
    RectificationAction,
    RectificationEvent,
    RectificationItem,
    RectificationStatus,
    ReportRun,
    Score,
    ScoreChange,
    Stage,
)
from scoring.selectors import (
    applicable_indicators,
    final_results,
    indicator_counts,
    previous_stage,
    stage_order,
)
from villages.models import Region, RegionLevel, Role, Unit


class ScoringError(Exception):
    """A refused action, with a message for the user (already translated)."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class LockedError(ScoringError):
    pass


@dataclass
class StaleScore:
    """An input refused because someone saved the same score after it was loaded."""

    assessment_id: int
    indicator_id: int
    current: Score


class StaleScores(ScoringError):
    def __init__(self, stale: list[StaleScore]):
        super().__init__(
            _(
                "Someone else saved %(n)d of these scores after you opened the page. "
                "Nothing was saved; the current values are shown. Check them and save again."
            )
            % {"n": len(stale)}
        )
        self.stale = stale


@dataclass
class ScoreInput:
    """One score as a user typed it. `expected_version` is the version the user saw (0 = none
    existed); None skips the staleness check (used where no version was shown)."""

    assessment_id: int
    indicator_id: int
    value: Decimal | None = None
    vetoed: bool | None = None
    note: str = ""
    expected_version: int | None = None


@dataclass
class SaveResult:
    changes: list[ScoreChange] = field(default_factory=list)
    scores: dict[tuple[int, int], Score] = field(default_factory=dict)


# --- validation (no database) ---------------------------------------------------------------


def parse_points(raw: str | None) -> Decimal | None:
    """Turn what a user typed into points; '' means not scored. Raises ValueError."""
    text = (raw or "").strip().replace(",", ".").replace("。", ".")
    if text == "":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if not value.is_finite():
        raise ValueError(text)
    return value


def validate_input(item: ScoreInput, indicator: Indicator) -> list[tuple[str, str]]:
    """Return [(field, message)] for one input: range, steps, veto, required note."""
    errors: list[tuple[str, str]] = []
    if indicator.kind == IndicatorKind.VETO:
        return errors
    value = item.value
    if value is None:
        return errors
    if value < 0:
        errors.append(("value", _("Points cannot be negative.")))
    elif value > indicator.max_points:
        errors.append(
            (
                "value",
                _("At most %(max)s points for this indicator.") % {"max": indicator.max_points},
            )
        )
    elif value != value.quantize(Decimal("0.01")):
        errors.append(("value", _("Use at most two decimal places.")))
    elif (
        indicator.kind == IndicatorKind.POINTS
        and value < indicator.max_points
        and not item.note.strip()
    ):
        errors.append(("note", _("Say why points were deducted.")))
    return errors


# --- scores ---------------------------------------------------------------------------------


def _lock_assessments(ids: Iterable[int]) -> dict[int, Assessment]:
    """Lock the assessments' rows for the transaction: serialises saves against transitions."""
    return {
        a.id: a
        for a in Assessment.objects.select_for_update(of=("self",))
        .select_related("unit", "period__campaign")
        .filter(id__in=set(ids))
    }


def _check_can_edit(user, assessment: Assessment, stage: str) -> None:
    if assessment.stage == Stage.FINAL:
        who = assessment.finalised_by
        raise LockedError(
            _("This assessment was finalised by %(who)s on %(when)s and is locked.")
            % {
                "who": (who.get_full_name() or who.username) if who else _("the county"),
                "when": timezone.localtime(assessment.finalised_at).strftime("%Y-%m-%d %H:%M"),
            }
        )
    if assessment.period.status != "open":
        raise LockedError(_("The period %(p)s is closed.") % {"p": assessment.period.label})
    if assessment.stage != stage:
        raise ScoringError(
            _("%(unit)s is at the stage “%(now)s”; scores of “%(stage)s” cannot be changed now.")
            % {
                "unit": assessment.unit.name,
                "now": Stage(assessment.stage).label,
                "stage": Stage(stage).label,
            }
        )
    if not permissions.can_score(user, stage, assessment.unit.code):
        raise ScoringError(_("You may not enter scores at this stage."))


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
    user,
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
        assessments = _lock_assessments(i.assessment_id for i in inputs)
        missing = {i.assessment_id for i in inputs} - set(assessments)
        if missing:
            raise ScoringError(_("An assessment was not found."))
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


class InputErrors(ScoringError):
    """Validation failed; `errors` maps (assessment_id, indicator_id) to [(field, message)]."""

    def __init__(self, errors: dict[tuple[int, int], list[tuple[str, str]]]):
        super().__init__(_("Some scores are not valid. Nothing was saved."))
        self.errors = errors


def _check_inputs(user, stage, inputs, assessments, indicators) -> None:
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
        if not permissions.can_score(
            user, stage, assessment.unit.code, indicator.lead_department_id
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
            applicable_indicators(campaign_id, version, kind).values_list("id", flat=True)
        )
        for assessment_id in ids:
            allowed[assessment_id] = indicator_ids
    return allowed


def _is_stale(item: ScoreInput, current: Score | None, user, changed_since) -> bool:
    if changed_since is not None:
        return (
            current is not None
            and current.updated_at > changed_since
            and current.updated_by_id != user.id
        )
    if item.expected_version is None:
        return False
    return (current.version if current else 0) != item.expected_version


# --- transitions ----------------------------------------------------------------------------


def _next_stage(campaign: Campaign, stage: str) -> str:
    order = stage_order(campaign)
    return order[order.index(stage) + 1]


def scored_counts(assessments: Iterable[Assessment]) -> dict[int, int]:
    """How many indicators each assessment has scored at its current stage (one query)."""
    rows = (
        Score.objects.filter(assessment__in=[a.id for a in assessments])
        .filter(stage=F("assessment__stage"))
        .filter(Q(value__isnull=False) | Q(vetoed__isnull=False))
        .values("assessment_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["assessment_id"]: row["n"] for row in rows}


def assessment_submit(
    *, user, assessment_id: int, expected_version: int | None = None
) -> Assessment:
    """Submit one assessment (see assessments_submit); raise ScoringError if refused."""
    done, refused = assessments_submit(
        user=user,
        assessment_ids=[assessment_id],
        expected_versions={assessment_id: expected_version} if expected_version else None,
    )
    if refused:
        _id, error = refused[0]
        raise error
    return done[0]


def assessments_submit(
    *, user, assessment_ids: Iterable[int], expected_versions: dict[int, int] | None = None
) -> tuple[list[Assessment], list[tuple[int, ScoringError]]]:
    """Pass assessments on to their next stage; at the county stage, finalise (lock) them.

    Set-based: a fixed number of queries for any number of assessments. Each one is checked on
    its own (permission, stage, completeness); those refused stay as they were and come back
    with the reason. The next stage starts from this stage's values: scores it does not have
    yet are carried over and audited as carried.
    """
    ids = set(assessment_ids)
    expected_versions = expected_versions or {}
    done: list[Assessment] = []
    refused: list[tuple[int, ScoringError]] = []
    with transaction.atomic():
        locked = _lock_assessments(ids)
        candidates = []
        for assessment_id in sorted(ids):
            assessment = locked.get(assessment_id)
            try:
                if assessment is None:
                    raise ScoringError(_("An assessment was not found."))
                _check_transition(user, assessment, permissions.can_submit)
                _check_version(assessment, expected_versions.get(assessment_id))
                candidates.append(assessment)
            except ScoringError as exc:
                refused.append((assessment_id, exc))
        needed = {}
        for a in candidates:
            key = (a.period.campaign_id, a.period.catalogue_version)
            if key not in needed:
                needed[key] = indicator_counts(a.period.campaign, a.period.catalogue_version)
        scored = scored_counts(candidates)
        now = timezone.now()
        events, moving = [], []
        for a in candidates:
            gaps = needed[(a.period.campaign_id, a.period.catalogue_version)][a.unit.kind] - (
                scored.get(a.id, 0)
            )
            if gaps > 0:
                refused.append(
                    (
                        a.id,
                        ScoringError(
                            _("%(unit)s: %(n)d indicators are not scored yet; score them first.")
                            % {"unit": a.unit.name, "n": gaps}
                        ),
                    )
                )
                continue
            source = a.stage
            target = _next_stage(a.period.campaign, source)
            if target == Stage.FINAL:
                kind = AssessmentEventKind.FINALISE
                a.finalised_by, a.finalised_at = user, now
            else:
                kind = AssessmentEventKind.SUBMIT
                moving.append((a, source, target))
            a.stage, a.version, a.returned_reason = target, a.version + 1, ""
            a.updated_at = now
            events.append(
                AssessmentEvent(
                    assessment=a, kind=kind, from_stage=source, to_stage=target, actor=user, at=now
                )
            )
            done.append(a)
        _carry_scores(user, moving, now)
        _open_rectifications([a.id for a in done if a.stage == Stage.FINAL], now)
        Assessment.objects.bulk_update(
            done,
            ["stage", "version", "returned_reason", "finalised_by", "finalised_at", "updated_at"],
        )
        AssessmentEvent.objects.bulk_create(events)
    return done, refused


def _open_rectifications(assessment_ids: list[int], now) -> None:
    """Every deduction in the final stage becomes a lost-points item (失分清单) to follow up."""
    if not assessment_ids:
        return
    deductions = Score.objects.filter(
        assessment_id__in=assessment_ids,
        stage=Stage.COUNTY,
        indicator__kind=IndicatorKind.POINTS,
        value__lt=F("indicator__max_points"),
    ).values_list("assessment_id", "indicator_id", "value", "indicator__max_points", "note")
    RectificationItem.objects.bulk_create(
        [
            RectificationItem(
                assessment_id=assessment_id,
                indicator_id=indicator_id,
                points_lost=maximum - value,
                lost_note=note,
                created_at=now,
            )
            for assessment_id, indicator_id, value, maximum, note in deductions
        ],
        batch_size=2000,
        ignore_conflicts=True,
    )


def _carry_scores(user, moving: list[tuple[Assessment, str, str]], now) -> None:
    """Copy each moving assessment's scores into its next stage where that has none yet."""
    if not moving:
        return
    by_source: dict[tuple[str, str], list[int]] = defaultdict(list)
    for a, source, target in moving:
        by_source[(source, target)].append(a.id)
    carried = []
    for (source, target), ids in by_source.items():  # at most two pairs: self→township, →county
        have = Score.objects.filter(
            assessment=OuterRef("assessment"), stage=target, indicator=OuterRef("indicator")
        )
        carried += [
            Score(
                assessment_id=s.assessment_id,
                indicator_id=s.indicator_id,
                stage=target,
                value=s.value,
                vetoed=s.vetoed,
                note=s.note,
                version=1,
                updated_by=user,
                updated_at=now,
            )
            for s in Score.objects.filter(assessment_id__in=ids, stage=source).exclude(Exists(have))
        ]
    Score.objects.bulk_create(carried, batch_size=2000)
    ScoreChange.objects.bulk_create(
        (
            ScoreChange(
                score=s,
                assessment_id=s.assessment_id,
                indicator_id=s.indicator_id,
                stage=s.stage,
                new_value=s.value,
                new_vetoed=s.vetoed,
                note=s.note,
                source=ChangeSource.CARRIED,
                changed_by=user,
                changed_at=now,
            )
            for s in carried
        ),
        batch_size=2000,
    )


def _check_version(assessment: Assessment, expected: int | None) -> None:
    if expected is not None and assessment.version != expected:
        raise ScoringError(
            _("%(unit)s was changed by someone else meanwhile (now at “%(stage)s”). Reload.")
            % {"unit": assessment.unit.name, "stage": Stage(assessment.stage).label}
        )


def _check_transition(user, assessment: Assessment, rule) -> None:
    if assessment.stage == Stage.FINAL:
        raise LockedError(_("%(unit)s is already final.") % {"unit": assessment.unit.name})
    if assessment.period.status != "open":
        raise LockedError(_("The period %(p)s is closed.") % {"p": assessment.period.label})
    if not rule(user, assessment.stage, assessment.unit.code):
        raise ScoringError(
            _("You may not do this at the stage “%(s)s”.") % {"s": Stage(assessment.stage).label}
        )


def assessment_return(
    *, user, assessment_id: int, reason: str, expected_version: int | None = None
) -> Assessment:
    """Send an assessment back to the stage before, with a reason the receivers will see."""
    reason = (reason or "").strip()
    if not reason:
        raise ScoringError(_("Give a reason for returning it."), field="reason")
    with transaction.atomic():
        assessment = _lock_assessments([assessment_id]).get(assessment_id)
        if assessment is None:
            raise ScoringError(_("An assessment was not found."))
        _check_transition(user, assessment, permissions.can_return)
        _check_version(assessment, expected_version)
        stage = assessment.stage
        target = previous_stage(assessment.period.campaign, stage)
        if target is None:
            raise ScoringError(_("There is no earlier stage to return it to."))
        now = timezone.now()
        assessment.stage = target
        assessment.version += 1
        assessment.returned_reason = reason
        assessment.returned_by = user
        assessment.returned_at = now
        assessment.save()
        AssessmentEvent.objects.create(
            assessment=assessment,
            kind=AssessmentEventKind.RETURN,
            from_stage=stage,
            to_stage=target,
            reason=reason,
            actor=user,
            at=now,
        )
    return assessment


# --- periods --------------------------------------------------------------------------------


def period_open(
    *,
    user,
    campaign: Campaign,
    label: str,
    starts_on: dt.date,
    ends_on: dt.date,
    self_due: dt.date | None = None,
    township_due: dt.date | None = None,
    county_due: dt.date | None = None,
) -> Period:
    """Open a period and create one assessment per active unit of the campaign in the user's
    scope, at the campaign's first stage."""
    if not permissions.can_open_period(user):
        raise ScoringError(_("Only county staff may open a period."))
    if campaign.status != CampaignStatus.ACTIVE:
        raise ScoringError(_("Periods can only be opened in an active campaign."))
    if ends_on < starts_on:
        raise ScoringError(_("The period ends before it starts."), field="ends_on")
    if Period.objects.filter(campaign=campaign, label=label).exists():
        raise ScoringError(_("The period %(p)s is already open.") % {"p": label}, field="label")
    with transaction.atomic():
        period = Period.objects.create(
            campaign=campaign,
            label=label,
            starts_on=starts_on,
            ends_on=ends_on,
            catalogue_version=campaign.catalogue_version,
            self_due=self_due,
            township_due=township_due,
            county_due=county_due,
            opened_by=user,
        )
        first = stage_order(campaign)[0]
        units = (
            Unit.objects.visible_to(user)
            .active()
            .filter(code__startswith=campaign.region.prefix)
            .values_list("id", flat=True)
        )
        Assessment.objects.bulk_create(
            [Assessment(period=period, unit_id=unit_id, stage=first) for unit_id in units],
            batch_size=2000,
        )
    return period


# --- evidence -------------------------------------------------------------------------------

EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
EVIDENCE_TYPES = {
    # extension: leading bytes of a real file of that type
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".pdf": (b"%PDF-",),
    ".docx": (b"PK\x03\x04",),
    ".xlsx": (b"PK\x03\x04",),
}


def check_attachment(upload, field: str = "file") -> str:
    """Refuse a file that is too large, of a type we do not take, or not what its name says.

    Returns the file's base name.
    """
    import os

    name = os.path.basename(upload.name or "")
    extension = os.path.splitext(name)[1].lower()
    if upload.size > EVIDENCE_MAX_BYTES:
        raise ScoringError(_("The file is larger than 10 MB."), field=field)
    if extension not in EVIDENCE_TYPES:
        raise ScoringError(
            _("Only JPG, PNG, PDF, DOCX and XLSX files can be attached."), field=field
        )
    head = upload.read(16)
    upload.seek(0)
    if not head.startswith(EVIDENCE_TYPES[extension]):
        raise ScoringError(_("The file's content does not match its type."), field=field)
    return name


def evidence_attach(*, user, score_id: int, upload) -> Evidence:
    """Attach a file to a score the user may edit now. Checks size, extension and content."""
    name = check_attachment(upload)
    with transaction.atomic():
        score = Score.objects.select_related("assessment", "indicator").get(pk=score_id)
        assessment = _lock_assessments([score.assessment_id])[score.assessment_id]
        _check_can_edit(user, assessment, score.stage)
        if not permissions.can_score(
            user, score.stage, assessment.unit.code, score.indicator.lead_department_id
        ):
            raise ScoringError(_("Only the lead department of this indicator may score it."))
        return Evidence.objects.create(
            score=score, file=upload, original_name=name[:200], size=upload.size, uploaded_by=user
        )


# --- adjustment (调旗) ----------------------------------------------------------------------


@dataclass
class AdjustmentSummary:
    units: int = 0
    award: int = 0
    withdraw: int = 0
    keep: int = 0

    def add(self, action: str) -> None:
        setattr(self, action, getattr(self, action) + 1)


def adjustment_propose(
    *, user, period: Period, township_codes: Sequence[str] = (), save: bool = True
) -> tuple[AdjustmentRun | None, list[AdjustmentProposal], AdjustmentSummary]:
    """Propose award / keep / withdraw for every unit × dimension of the chosen townships.

    Needs county review final for every unit chosen. Rules come from the campaign: per-dimension
    threshold (a veto fails the dimension) or total-score bands. With save=False nothing is
    written (command-line dry run). Fixed number of queries whatever the number of units.
    """
    if not (user is None or user.is_superuser or user.role == Role.COUNTY_STAFF):
        raise ScoringError(_("Only county staff may run an adjustment."))
    campaign = period.campaign
    assessments = Assessment.objects.filter(period=period).select_related("unit")
    if user is not None:
        assessments = assessments.visible_to(user)
    townships = []
    if township_codes:
        townships = list(Region.objects.filter(code__in=township_codes, level=RegionLevel.TOWNSHIP))
        if len(townships) != len(set(township_codes)):
            raise ScoringError(_("Unknown township code."))
        assessments = assessments.filter(unit__township__in=townships)
    assessments = list(assessments)
    if not assessments:
        raise ScoringError(_("There are no assessments to adjust."))
    pending = [a for a in assessments if a.stage != Stage.FINAL]
    if pending:
        raise ScoringError(
            _("%(n)d units are not final yet (e.g. %(unit)s); finish county review first.")
            % {"n": len(pending), "unit": pending[0].unit.name}
        )
    results = final_results(period, assessments)
    held = set(
        Holding.objects.filter(
            dimension__campaign=campaign, unit__in=[a.unit_id for a in assessments]
        ).values_list("unit_id", "dimension_id")
    )
    bands = rules.parse_bands(campaign.bands) if campaign.rule_mode == RuleMode.BANDS else None
    by_unit: dict[int, dict[int, tuple]] = defaultdict(dict)
    for (unit_id, dim_id), value in results.items():
        by_unit[unit_id][dim_id] = value
    run = None
    if save:
        run = AdjustmentRun.objects.create(campaign=campaign, period=period, created_by=user)
        if townships:
            run.townships.set(townships)
    proposals, summary = [], AdjustmentSummary()
    for unit_id, dims in by_unit.items():
        summary.units += 1
        chosen = None
        if bands is not None:
            level = rules.band_level(
                rules.total_score(r for r, _lost in dims.values()), bands, campaign.level_cap
            )
            chosen = rules.band_dimensions({d: r for d, (r, _l) in dims.items()}, level)
        for dim_id, (result, lost) in sorted(dims.items()):
            is_held = (unit_id, dim_id) in held
            reaches = result.reaches if chosen is None else dim_id in chosen
            action = rules.dimension_action(held=is_held, reaches=reaches)
            summary.add(action)
            proposals.append(
                AdjustmentProposal(
                    run=run,
                    unit_id=unit_id,
                    dimension_id=dim_id,
                    held=is_held,
                    score=result.score,
                    vetoed=result.vetoed,
                    action=action,
                    lost=[[code, str(points)] for code, points in lost[:10]],
                )
            )
    if save:
        AdjustmentProposal.objects.bulk_create(proposals, batch_size=2000)
    return run, proposals, summary


def adjustment_override(*, user, proposal: AdjustmentProposal, action: str, reason: str) -> None:
    """Decide differently from the rules for one proposal; a reason is required."""
    reason = (reason or "").strip()
    if not (user.is_superuser or user.role == Role.COUNTY_STAFF):
        raise ScoringError(_("Only county staff may override a proposal."))
    if proposal.confirmed:
        raise ScoringError(_("This proposal is already confirmed."))
    if action not in ProposalAction.values:
        raise ScoringError(_("Unknown decision."), field="action")
    if action == ProposalAction.AWARD and proposal.held:
        raise ScoringError(_("The unit already holds it; choose keep."), field="action")
    if action == ProposalAction.WITHDRAW and not proposal.held:
        raise ScoringError(_("The unit does not hold it; nothing to withdraw."), field="action")
    if action == proposal.action:
        proposal.override, proposal.override_reason = "", ""
    else:
        if not reason:
            raise ScoringError(_("Give a reason for overriding the proposal."), field="reason")
        proposal.override, proposal.override_reason = action, reason
    proposal.overridden_by, proposal.overridden_at = user, timezone.now()
    proposal.save(update_fields=["override", "override_reason", "overridden_by", "overridden_at"])


def adjustment_confirm(
    *, user, run: AdjustmentRun, proposal_ids: Iterable[int] | None = None
) -> AdjustmentSummary:
    """Write holdings and their history for the run's proposals (all, or the ids given).

    One transaction, a fixed number of queries. Idempotent: a proposal already confirmed, or a
    change already recorded for the unit, dimension and period, is not written again; an award
    of something held meanwhile or a withdrawal of something no longer held is skipped.
    """
    if not (user.is_superuser or user.role == Role.COUNTY_STAFF):
        raise ScoringError(_("Only county staff may confirm an adjustment."))
    summary = AdjustmentSummary()
    now = timezone.now()
    with transaction.atomic():
        run = (
            AdjustmentRun.objects.select_for_update(of=("self",))
            .select_related("campaign", "period")
            .get(pk=run.pk)
        )
        proposals = run.proposals.filter(confirmed=False).select_related("run")
        if proposal_ids is not None:
            proposals = proposals.filter(id__in=list(proposal_ids))
        proposals = list(proposals)
        if not proposals:
            return summary
        units = {p.unit_id for p in proposals}
        held = {
            (h.unit_id, h.dimension_id): h
            for h in Holding.objects.select_for_update().filter(
                unit_id__in=units, dimension__campaign=run.campaign
            )
        }
        recorded = set(
            HoldingChange.objects.filter(period=run.period, unit_id__in=units).values_list(
                "unit_id", "dimension_id"
            )
        )
        new_holdings, gone, changes = [], [], []
        for p in proposals:
            key = (p.unit_id, p.dimension_id)
            decision = p.decision
            p.confirmed = True
            if decision == ProposalAction.KEEP or key in recorded:
                summary.add(ProposalAction.KEEP)
                continue
            if decision == ProposalAction.AWARD and key not in held:
                new_holdings.append(
                    Holding(
                        unit_id=p.unit_id,
                        dimension_id=p.dimension_id,
                        since_period=run.period,
                        since=now,
                    )
                )
                kind = HoldingChangeKind.AWARD
            elif decision == ProposalAction.WITHDRAW and key in held:
                gone.append(held[key].id)
                kind = HoldingChangeKind.WITHDRAW
            else:
                summary.add(ProposalAction.KEEP)
                continue
            summary.add(decision)
            recorded.add(key)
            changes.append(
                HoldingChange(
                    unit_id=p.unit_id,
                    dimension_id=p.dimension_id,
                    period=run.period,
                    kind=kind,
                    score=p.score,
                    reason=p.override_reason or _default_reason(p, run.campaign.rule_mode),
                    decided_by=user,
                    decided_at=now,
                )
            )
        summary.units = len(units)
        Holding.objects.filter(id__in=gone).delete()
        Holding.objects.bulk_create(new_holdings)
        HoldingChange.objects.bulk_create(changes)
        AdjustmentProposal.objects.bulk_update(proposals, ["confirmed"], batch_size=2000)
        if not run.proposals.filter(confirmed=False).exists():
            run.status = AdjustmentStatus.CONFIRMED
            run.confirmed_by, run.confirmed_at = user, now
            run.save(update_fields=["status", "confirmed_by", "confirmed_at"])
    return summary


def _default_reason(p: AdjustmentProposal, mode: str) -> str:
    """The reason recorded in the history for a decision that followed the rules."""
    if p.vetoed and p.decision == ProposalAction.WITHDRAW:
        return _("A veto item was triggered.")
    if mode == RuleMode.BANDS:
        return _("Set by the total-score band.")
    if p.decision == ProposalAction.AWARD:
        return _("The dimension reached the threshold.")
    return _("The dimension fell below the threshold.")


# --- rectification (整改) -------------------------------------------------------------------

# (action, from status, to status, roles that may do it)
RECTIFICATION_STEPS = {
    RectificationAction.ASSIGN: (
        {RectificationStatus.OPEN},
        RectificationStatus.OPEN,
        {Role.TOWNSHIP_OFFICIAL, Role.COUNTY_STAFF},
    ),
    RectificationAction.REPORT: (
        {RectificationStatus.OPEN},
        RectificationStatus.REPORTED,
        {Role.VILLAGE_SECRETARY, Role.TOWNSHIP_OFFICIAL},
    ),
    RectificationAction.VERIFY: (
        {RectificationStatus.REPORTED},
        RectificationStatus.VERIFIED,
        {Role.TOWNSHIP_OFFICIAL},
    ),
    RectificationAction.CLOSE: (
        {RectificationStatus.VERIFIED},
        RectificationStatus.CLOSED,
        {Role.COUNTY_STAFF},
    ),
}


def rectification_allowed(user, item: RectificationItem, action: str) -> bool:
    """May the user take this step on this item now? (No query: item must carry its unit.)"""
    if not permissions.in_scope(user, item.assessment.unit.code):
        return False
    if action == RectificationAction.SEND_BACK:
        roles_by_status = {
            RectificationStatus.REPORTED: {Role.TOWNSHIP_OFFICIAL},
            RectificationStatus.VERIFIED: {Role.COUNTY_STAFF},
        }
        roles = roles_by_status.get(item.status)
        if roles is None:
            return False
    else:
        sources, _target, roles = RECTIFICATION_STEPS[action]
        if item.status not in sources:
            return False
    return user.is_superuser or user.role in roles


def rectification_step(
    *,
    user,
    item_id: int,
    action: str,
    note: str = "",
    responsible_person: str = "",
    measure: str = "",
    deadline: dt.date | None = None,
    attachment=None,
) -> RectificationItem:
    """Move a rectification item one step (assign, report, verify, close, send back), recorded
    as a RectificationEvent in the same transaction."""
    note = (note or "").strip()
    if attachment:
        check_attachment(attachment, field="attachment")
    with transaction.atomic():
        item = (
            RectificationItem.objects.select_for_update(of=("self",))
            .select_related("assessment__unit")
            .get(pk=item_id)
        )
        if action not in RectificationAction.values:
            raise ScoringError(_("Unknown step."))
        if not rectification_allowed(user, item, action):
            raise ScoringError(
                _("You may not do this while the item is “%(s)s”.")
                % {"s": RectificationStatus(item.status).label}
            )
        before, now = item.status, timezone.now()
        if action == RectificationAction.ASSIGN:
            responsible_person, measure = responsible_person.strip(), measure.strip()
            if not responsible_person:
                raise ScoringError(_("Name the person responsible."), field="responsible_person")
            if not measure:
                raise ScoringError(_("Describe the measure."), field="measure")
            if deadline is None:
                raise ScoringError(_("Set a deadline."), field="deadline")
            item.responsible_person, item.measure, item.deadline = (
                responsible_person,
                measure,
                deadline,
            )
        elif action == RectificationAction.REPORT:
            if not (item.responsible_person and item.measure and item.deadline):
                raise ScoringError(
                    _("The township has not assigned a person, measure and deadline yet.")
                )
            if not note:
                raise ScoringError(_("Say what was done."), field="note")
            item.status = RectificationStatus.REPORTED
            item.report_note, item.reported_by, item.reported_at = note, user, now
        elif action == RectificationAction.VERIFY:
            item.status = RectificationStatus.VERIFIED
            item.verified_by, item.verified_at = user, now
        elif action == RectificationAction.CLOSE:
            item.status = RectificationStatus.CLOSED
            item.closed_by, item.closed_at = user, now
        else:  # send back
            if not note:
                raise ScoringError(_("Give a reason for sending it back."), field="note")
            item.status = RectificationStatus.OPEN
            item.sent_back_reason = note
        item.save()
        RectificationEvent.objects.create(
            item=item,
            action=action,
            from_status=before,
            to_status=item.status,
            note=note if action != RectificationAction.ASSIGN else measure,
            attachment=attachment or "",
            actor=user,
            at=now,
        )
    return item


# --- monthly reports and exports (run by Celery tasks, see scoring/tasks.py) -------------------

SMALL_EXPORT_ROWS = 1000  # below this an export is written during the request


class QueueError(ScoringError):
    """The job could not be handed to the broker (e.g. Redis is down)."""


def _enqueue(task, object_id: int) -> None:
    """Send a task for a row already committed; a broker failure raises QueueError.

    Callers commit the row first (their atomic block has closed), so a worker never looks for
    a row it cannot see yet; sending directly rather than on_commit lets a broker outage be
    reported to the user at once.
    """
    try:
        task.delay(object_id)
    except Exception as exc:  # kombu/redis connection errors share no narrower base
        raise QueueError(_("The job could not be queued; try again in a few minutes.")) from exc


def _write_then_attach(field_file, filename: str, write):
    """Run `write(path)` into a private temporary file and only then store it in `field_file`
    (not saved to the database: the caller saves the row with its status). Returns what
    `write` returned. A failing writer leaves the field as it was: no half-written file."""
    import os
    import tempfile

    from django.core.files import File

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "file.xlsx")
        result = write(path)
        with open(path, "rb") as fh:
            field_file.save(filename, File(fh), save=False)
    return result


def _mark_failed(model, pk: int, exc: Exception) -> None:
    model.objects.filter(pk=pk).update(
        status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
    )


def report_run_start(
    *, campaign, month: dt.date, requested_by=None, trigger: str = "", enqueue: bool = True
) -> ReportRun:
    """Queue the monthly report of a campaign and month; running a month again replaces it.

    Returns the (re)queued run; with enqueue=False the caller runs report_run_execute itself.
    """
    first = month.replace(day=1)
    with transaction.atomic():
        run, _created = ReportRun.objects.select_for_update().get_or_create(
            campaign=campaign, month=first
        )
        if (
            run.status == JobStatus.RUNNING
            and run.started_at
            and (timezone.now() - run.started_at < settings.JOB_STALE_AFTER)
        ):
            raise ScoringError(_("This month's report is being produced right now."))
        run.status, run.error = JobStatus.QUEUED, ""
        run.trigger, run.requested_by = trigger, requested_by
        run.started_at = run.finished_at = None
        run.save()
    if not enqueue:
        return run
    from scoring.tasks import monthly_report

    try:
        _enqueue(monthly_report, run.id)
    except QueueError as exc:
        ReportRun.objects.filter(pk=run.pk).update(status=JobStatus.FAILED, error=exc.message)
        raise
    return run


def report_run_execute(*, run_id: int) -> ReportRun:
    """Produce a queued report: figures, then the workbook, kept only when complete.

    A failure leaves the run marked failed with the reason, and any earlier good file in place.
    """
    from scoring.reports import monthly_figures, write_monthly

    ReportRun.objects.filter(pk=run_id).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1
    )
    run = ReportRun.objects.select_related("campaign").get(pk=run_id)
    try:
        data = monthly_figures(run.campaign, run.month)
        _write_then_attach(
            run.file,
            f"monthly-{run.campaign.slug}-{run.month:%Y-%m}.xlsx",
            lambda path: write_monthly(path, data),
        )
        # Two executions of one run (two workers, or a redelivered task) may finish together:
        # the file the row points to is read under the row lock when this one is swapped in,
        # and that one is deleted, so exactly one file is left whoever finishes last.
        with transaction.atomic():
            old = (
                ReportRun.objects.select_for_update().values_list("file", flat=True).get(pk=run_id)
            )
            run.data, run.status, run.error = data, JobStatus.DONE, ""
            run.finished_at = timezone.now()
            run.save()
        if old and old != run.file.name:
            run.file.storage.delete(old)
    except Exception as exc:
        _mark_failed(ReportRun, run_id, exc)
        raise
    return run


def export_rows_estimate(*, kind: str, campaign, period=None, user=None, region=None) -> int:
    """Rows an export will have (one cheap count), to decide between now and a job."""
    if kind == ExportKind.LEDGER:
        items = RectificationItem.objects.filter(assessment__period__campaign=campaign)
        if user is not None:
            items = items.visible_to(user)
        if region is not None:
            items = items.filter(assessment__unit__code__startswith=region.prefix)
        if period is not None:
            items = items.filter(assessment__period=period)
        return items.count()
    units = Unit.objects.filter(code__startswith=campaign.region.prefix)
    if user is not None:
        units = units.visible_to(user)
    if region is not None:
        units = units.filter(code__startswith=region.prefix)
    return units.count()


def export_write(
    path, *, kind: str, campaign, period=None, user=None, region=None, progress=None
) -> int:
    """Write one export kind to `path`; returns the number of data rows."""
    from scoring import exports

    if kind in (ExportKind.SCORES, ExportKind.RANKING) and period is None:
        raise ScoringError(_("Choose a period for this export."))
    if kind == ExportKind.SCORES:
        return exports.write_scores(
            path, period=period, user=user, region=region, progress=progress
        )
    if kind == ExportKind.ROSTER:
        return exports.write_roster(
            path, campaign=campaign, user=user, region=region, progress=progress
        )
    if kind == ExportKind.LEDGER:
        return exports.write_ledger(
            path, campaign=campaign, user=user, region=region, period=period, progress=progress
        )
    if kind == ExportKind.RANKING:
        return exports.write_ranking(path, period=period, user=user, progress=progress)
    raise ScoringError(_("Unknown export."))


def export_job_start(*, user, kind: str, campaign, period=None, region=None) -> ExportJob:
    """Record an export job and queue it (the page then shows its progress)."""
    if kind not in ExportKind.values:
        raise ScoringError(_("Unknown export."))
    job = ExportJob.objects.create(
        kind=kind, campaign=campaign, period=period, region=region, requested_by=user
    )
    from scoring.tasks import export_run

    try:
        _enqueue(export_run, job.id)
    except QueueError as exc:
        ExportJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error=exc.message)
        raise
    return job


def export_job_execute(*, job_id: int) -> ExportJob:
    """Run a queued export, reporting progress; the file is attached only when complete."""
    ExportJob.objects.filter(pk=job_id).update(status=JobStatus.RUNNING, progress=1)
    job = ExportJob.objects.select_related(
        "campaign__region", "period", "region", "requested_by"
    ).get(pk=job_id)

    def progress(done: int, total: int) -> None:
        percent = min(99, max(1, int(100 * done / total))) if total else 50
        ExportJob.objects.filter(pk=job_id).update(progress=percent)

    label = job.period.label if job.period else job.campaign.year
    try:
        rows = _write_then_attach(
            job.file,
            f"{job.kind}-{job.campaign.slug}-{label}.xlsx",
            lambda path: export_write(
                path,
                kind=job.kind,
                campaign=job.campaign,
                period=job.period,
                user=job.requested_by,
                region=job.region,
                progress=progress,
            ),
        )
        job.status, job.progress, job.rows, job.error = JobStatus.DONE, 100, rows, ""
        job.finished_at = timezone.now()
        job.save()
    except Exception as exc:
        _mark_failed(ExportJob, job_id, exc)
        raise
    return job


# --- unit targets (荐旗) ---------------------------------------------------------------------


def unit_targets_set(*, user, campaign, levels: dict[int, int | None], field: str) -> int:
    """Record recommended (township) or decided (county) target levels for several units.

    `levels` maps unit id → level (None clears it). Units must be the campaign's and inside the
    user's scope. One transaction, a fixed number of queries. Returns the number changed.
    """
    from campaigns.models import MAX_LEVEL, UnitTarget

    roles = {"recommended": {Role.TOWNSHIP_OFFICIAL}, "decided": {Role.COUNTY_STAFF}}[field]
    if not (user.is_superuser or user.role in roles):
        raise ScoringError(_("You may not set these targets."))
    top = campaign.dimensions.count() or MAX_LEVEL
    for level in levels.values():
        if level is not None and not 0 <= level <= top:
            raise ScoringError(_("A target level is between 0 and %(n)d.") % {"n": top})
    now = timezone.now()
    with transaction.atomic():
        units = set(
            Unit.objects.visible_to(user)
            .filter(id__in=list(levels), code__startswith=campaign.region.prefix)
            .values_list("id", flat=True)
        )
        if units != set(levels):
            raise ScoringError(_("A unit is not in this campaign or not in your scope."))
        existing = {
            t.unit_id: t
            for t in UnitTarget.objects.select_for_update().filter(
                campaign=campaign, unit_id__in=units
            )
        }
        changed, new = [], []
        for unit_id, level in levels.items():
            target = existing.get(unit_id)
            if target is None:
                if level is None:
                    continue  # nothing set and nothing to set: no empty row
                target = UnitTarget(campaign=campaign, unit_id=unit_id)
            elif getattr(target, f"{field}_level") == level:
                continue
            setattr(target, f"{field}_level", level)
            setattr(target, f"{field}_by", user)
            setattr(target, f"{field}_at", now)
            (changed if target.pk else new).append(target)
        UnitTarget.objects.bulk_create(new)
        UnitTarget.objects.bulk_update(changed, [f"{field}_level", f"{field}_by", f"{field}_at"])
    return len(changed) + len(new)
