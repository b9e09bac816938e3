"""Moving assessments between stages: submit, return, finalise, each an AssessmentEvent."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import IndicatorKind
from scoring.errors import LockedError, ScoringError
from scoring.models import (
    Assessment,
    AssessmentEvent,
    AssessmentEventKind,
    ChangeSource,
    RectificationItem,
    Score,
    ScoreChange,
    Stage,
)
from scoring.selectors.progress import indicator_counts
from scoring.services.scores import lock_assessments
from villages.errors import ErrorCode
from villages.models import User
from villages.policy import Action, may

# --- transitions ----------------------------------------------------------------------------


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
    *, user: User, assessment_id: int, expected_version: int | None = None
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
    *, user: User, assessment_ids: Iterable[int], expected_versions: dict[int, int] | None = None
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
        locked = lock_assessments(ids)
        candidates = []
        for assessment_id in sorted(ids):
            assessment = locked.get(assessment_id)
            try:
                if assessment is None:
                    raise ScoringError(_("An assessment was not found."), code=ErrorCode.NOT_FOUND)
                _check_transition(user, assessment, Action.SUBMIT)
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
                            % {"unit": a.unit.name, "n": gaps},
                            code=ErrorCode.REQUIRED,
                        ),
                    )
                )
                continue
            source = a.stage
            target = a.period.campaign.next_stage(source)
            if target == Stage.FINAL:
                kind = AssessmentEventKind.FINALISE
                a.finalised_by, a.finalised_at = user, now
            else:
                kind = AssessmentEventKind.SUBMIT
                moving.append((a, source, target))
            a.stage, a.version, a.returned_reason = target, a.version + 1, ""
            a.due_on = None  # the next stage keeps the period's due date
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
            [
                "stage",
                "version",
                "returned_reason",
                "due_on",
                "finalised_by",
                "finalised_at",
                "updated_at",
            ],
        )
        AssessmentEvent.objects.bulk_create(events)
    return done, refused


def _open_rectifications(assessment_ids: list[int], now: dt.datetime) -> None:
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


def _carry_scores(user: User, moving: list[tuple[Assessment, str, str]], now: dt.datetime) -> None:
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
            % {"unit": assessment.unit.name, "stage": Stage(assessment.stage).label},
            code=ErrorCode.STALE,
        )


def _check_transition(user: User, assessment: Assessment, action: Action) -> None:
    if assessment.stage == Stage.FINAL:
        raise LockedError(_("%(unit)s is already final.") % {"unit": assessment.unit.name})
    if not assessment.period.is_open:
        raise LockedError(_("The period %(p)s is closed.") % {"p": assessment.period.label})
    if not may(user, action, assessment):
        raise ScoringError(
            _("You may not do this at the stage “%(s)s”.") % {"s": Stage(assessment.stage).label},
            code=ErrorCode.FORBIDDEN,
        )


def _reason_given(reason: str, missing: str) -> str:
    """The reason, stripped; refused (REQUIRED, on the reason field) when empty."""
    reason = (reason or "").strip()
    if not reason:
        raise ScoringError(missing, field="reason", code=ErrorCode.REQUIRED)
    return reason


def _lock_one(assessment_id: int) -> Assessment:
    """Lock one assessment for the transaction (see lock_assessments); NOT_FOUND if absent."""
    assessment = lock_assessments([assessment_id]).get(assessment_id)
    if assessment is None:
        raise ScoringError(_("An assessment was not found."), code=ErrorCode.NOT_FOUND)
    return assessment


def assessment_return(
    *, user: User, assessment_id: int, reason: str, expected_version: int | None = None
) -> Assessment:
    """Send an assessment back to the stage before, with a reason the receivers will see."""
    reason = _reason_given(reason, _("Give a reason for returning it."))
    with transaction.atomic():
        assessment = _lock_one(assessment_id)
        _check_transition(user, assessment, Action.RETURN)
        _check_version(assessment, expected_version)
        stage = assessment.stage
        target = assessment.period.campaign.previous_stage(stage)
        if target is None:
            raise ScoringError(
                _("There is no earlier stage to return it to."), code=ErrorCode.WRONG_STAGE
            )
        now = timezone.now()
        assessment.stage = target
        assessment.version += 1
        assessment.returned_reason = reason
        assessment.returned_by = user
        assessment.returned_at = now
        # A fresh due date: the period's may have passed while it was being reviewed.
        days = assessment.period.campaign.return_days
        assessment.due_on = timezone.localdate() + dt.timedelta(days=days)
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


def assessment_reopen(
    *, user: User, assessment_id: int, reason: str, expected_version: int | None = None
) -> Assessment:
    """Take a final assessment back to the county stage (county staff, with a reason).

    Only while its period is open. Its county-stage scores stay as they were and can be
    changed again (audited as after submission); finalising it again opens rectification
    items only for deductions that have none yet.
    """
    reason = _reason_given(reason, _("Give a reason for reopening it."))
    with transaction.atomic():
        assessment = _lock_one(assessment_id)
        if assessment.stage != Stage.FINAL:
            raise ScoringError(
                _("%(unit)s is not final; there is nothing to reopen.")
                % {"unit": assessment.unit.name},
                code=ErrorCode.WRONG_STAGE,
            )
        if not assessment.period.is_open:
            raise LockedError(_("The period %(p)s is closed.") % {"p": assessment.period.label})
        if not may(user, Action.REOPEN, assessment):
            raise ScoringError(_("You may not reopen it."), code=ErrorCode.FORBIDDEN)
        _check_version(assessment, expected_version)
        now = timezone.now()
        assessment.stage = Stage.COUNTY
        assessment.version += 1
        assessment.finalised_by = None
        assessment.finalised_at = None
        assessment.updated_at = now
        assessment.save()
        AssessmentEvent.objects.create(
            assessment=assessment,
            kind=AssessmentEventKind.REOPEN,
            from_stage=Stage.FINAL,
            to_stage=Stage.COUNTY,
            reason=reason,
            actor=user,
            at=now,
        )
    return assessment


def assessment_submit_on_behalf(
    *, user: User, assessment_id: int, reason: str, expected_version: int | None = None
) -> Assessment:
    """Pass a silent village's self-assessment on to the township stage (代村提交).

    For the township official of a village that has not self-assessed: no completeness
    check (the village scored nothing, or not everything); what it did score is carried over
    as usual. Recorded as an event of its own kind with who and why, so it is never taken for
    the village's own submission.
    """
    reason = _reason_given(reason, _("Say why you submit it for the village."))
    with transaction.atomic():
        assessment = _lock_one(assessment_id)
        _check_transition(user, assessment, Action.ACT_FOR_VILLAGE)
        _check_version(assessment, expected_version)
        source = assessment.stage
        target = assessment.period.campaign.next_stage(source)
        now = timezone.now()
        assessment.stage = target
        assessment.version += 1
        assessment.returned_reason = ""
        assessment.due_on = None
        assessment.updated_at = now
        assessment.save()
        AssessmentEvent.objects.create(
            assessment=assessment,
            kind=AssessmentEventKind.ON_BEHALF,
            from_stage=source,
            to_stage=target,
            reason=reason,
            actor=user,
            at=now,
        )
        _carry_scores(user, [(assessment, source, target)], now)
    return assessment
