"""Where assessments stand: dimension totals per stage in SQL, scored counts, work waiting."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from campaigns.models import Campaign, Dimension, Indicator, IndicatorKind
from scoring.models import Assessment, Score
from scoring.rules import dimension_result
from villages.models import Role
from villages.policy import role_stage

# --- many assessments -----------------------------------------------------------------------


def stage_totals(
    assessment_ids: list[int], campaign: Campaign, version: int, stages: list[str] | None = None
) -> dict:
    """Dimension results per assessment and stage for many assessments at once.

    Returns {assessment_id: {stage: {dimension_id: DimensionResult}}}, for every stage or only
    `stages`. Three queries: dimensions, the catalogue's maxima and one grouped aggregate of
    scores (capped points, bonus and triggered vetoes per assessment × stage × dimension),
    whatever the number of assessments.
    """
    dims = {d.id: d for d in Dimension.objects.filter(campaign=campaign).select_related("campaign")}
    max_by = dict(
        Indicator.objects.for_version(version)
        .filter(dimension__campaign=campaign, kind=IndicatorKind.POINTS)
        .values_list("dimension_id")
        .annotate(total=Sum("max_points"))
    )
    scores = Score.objects.filter(assessment_id__in=assessment_ids)
    if stages is not None:
        scores = scores.filter(stage__in=stages)
    rows = (
        scores.values_list("assessment_id", "stage", "indicator__dimension_id")
        .annotate(
            points=Sum(_capped_value(), filter=Q(indicator__kind=IndicatorKind.POINTS)),
            bonus=Sum(_capped_value(), filter=Q(indicator__kind=IndicatorKind.BONUS)),
            vetoes=Count("id", filter=Q(indicator__kind=IndicatorKind.VETO, vetoed=True)),
        )
        .order_by()
    )
    zero = Decimal(0)
    result: dict = defaultdict(lambda: defaultdict(dict))
    for assessment_id, stage, dim_id, points, bonus, vetoes in rows:
        dim = dims[dim_id]
        result[assessment_id][stage][dim_id] = dimension_result(
            [(points or zero, max_by.get(dim_id, zero))],
            [bool(vetoes)],
            [bonus or zero],
            dim.bonus_cap,
            dim.effective_threshold,
        )
    return result


def _capped_value():
    # Points above an indicator's max never count (the entry forms refuse them anyway).
    from django.db.models import Case, When

    return Case(
        When(value__gt=F("indicator__max_points"), then=F("indicator__max_points")),
        default=F("value"),
    )


def indicator_counts(campaign: Campaign, version: int) -> dict[str, int]:
    """Number of applicable indicators per unit kind (one query)."""
    per_applies = dict(
        Indicator.objects.for_version(version)
        .filter(dimension__campaign=campaign)
        .values_list("dimension__applies_to")
        .annotate(n=Count("id"))
    )
    both = per_applies.get("both", 0)
    return {
        "village": both + per_applies.get("village", 0),
        "community": both + per_applies.get("community", 0),
    }


def work_due(user, limit: int = 10) -> dict:
    """What waits for this user: assessments at the stage their role scores, in open periods.

    Returns {"stage", "count", "items", "returned"}: the number waiting, the first `limit`
    (overdue marked), and those among them that were returned with a reason. Three queries.
    """
    stage = role_stage(user.role)
    if stage is None or user.role == Role.DEPARTMENT:
        return {"stage": None, "count": 0, "items": [], "returned": []}
    waiting = (
        Assessment.objects.visible_to(user)
        .filter(period__status="open", stage=stage)
        .select_related("unit", "period__campaign")
        .order_by("period__starts_on", "unit__code")
    )
    items = list(waiting[:limit])
    today = timezone.localdate()
    for a in items:
        a.due = a.period.due_on(a.stage)
        a.overdue = a.period.is_overdue(a.stage, today)
    returned = list(waiting.exclude(returned_reason="")[:limit])
    return {"stage": stage, "count": waiting.count(), "items": items, "returned": returned}
