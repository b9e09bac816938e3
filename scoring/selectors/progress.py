"""Where assessments stand: dimension totals per stage in SQL, scored counts, work waiting."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

from django.db.models import Case, Count, F, Max, Q, QuerySet, Sum, When
from django.utils import timezone

from campaigns.models import Campaign, Dimension, Indicator, IndicatorKind, LevelTarget
from scoring.models import Assessment, Holding, Period, Score
from scoring.rules import DimensionParts
from villages.access import scope_for
from villages.models import Role, User
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
    result: dict = defaultdict(lambda: defaultdict(dict))
    for assessment_id, stage, dim_id, parts in dimension_sums(scores):
        dim = dims[dim_id]
        parts.possible = max_by.get(dim_id, Decimal(0))
        result[assessment_id][stage][dim_id] = parts.result(dim.bonus_cap, dim.effective_threshold)
    return result


def dimension_sums(scores: QuerySet[Score]) -> Iterator[tuple[int, str, int, DimensionParts]]:
    """(assessment id, stage, dimension id, parts) for the scores given, summed in SQL by one
    grouped query: capped points, capped bonus and triggered vetoes. `possible` is left 0 for
    the caller to set from the catalogue version the assessment is scored against."""
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
    for assessment_id, stage, dim_id, points, bonus, vetoes in rows:
        yield (
            assessment_id,
            stage,
            dim_id,
            DimensionParts(points=points or zero, bonus=bonus or zero, vetoed=bool(vetoes)),
        )


def _capped_value() -> Case:
    # Points above an indicator's max never count (the entry forms refuse them anyway).
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


def work_due(user: User, limit: int = 10) -> dict:
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
        a.overdue = a.is_overdue(today)  # `a.due`: a returned one's own date, else the period's
    returned = list(waiting.exclude(returned_reason="")[:limit])
    return {"stage": stage, "count": waiting.count(), "items": items, "returned": returned}


def campaigns_for_home(*, user: User) -> list[Campaign]:
    """Return the user's visible campaigns, each with `latest_period` and `stage_counts` set.

    Also sets `levels`: [(level, units holding that many now, county target)] from the top
    level down to 0; targets only where the user sees the whole campaign region.
    Six queries whatever the number of campaigns or units: campaigns, their latest periods
    (two), stage counts of the user's units, held counts, targets.
    """
    campaigns = list(
        Campaign.objects.visible_to(user).select_related("region").order_by("-year", "name")
    )
    if not campaigns:
        return campaigns
    latest_starts = (
        Period.objects.filter(campaign__in=campaigns)
        .values("campaign_id")
        .annotate(latest=Max("starts_on"))
    )
    wanted = {(row["campaign_id"], row["latest"]) for row in latest_starts}
    periods = {
        p.campaign_id: p
        for p in Period.objects.filter(campaign__in=campaigns)
        if (p.campaign_id, p.starts_on) in wanted
    }
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        Assessment.objects.visible_to(user)
        .filter(period__in=list(periods.values()))
        .values("period_id", "stage")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counts[row["period_id"]][row["stage"]] = row["n"]
    held: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        Holding.objects.visible_to(user)
        .filter(dimension__campaign__in=campaigns)
        .values("dimension__campaign_id", "unit_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        held[row["dimension__campaign_id"]][row["n"]] += 1
    targets: dict[int, dict[int, int]] = defaultdict(dict)
    for t in LevelTarget.objects.filter(campaign__in=campaigns).values(
        "campaign_id", "campaign__region_id", "region_id", "level", "count"
    ):
        if t["region_id"] == t["campaign__region_id"]:
            targets[t["campaign_id"]][t["level"]] = t["count"]
    scope = scope_for(user)
    for campaign in campaigns:
        # County targets compare with county counts only: a township sees its own numbers.
        whole = scope.everything or campaign.region.prefix.startswith(scope.prefix)
        if not whole:
            targets[campaign.id] = {}
        period = periods.get(campaign.id)
        campaign.latest_period = period
        campaign.stage_counts = counts.get(period.id, {}) if period else {}
        campaign.assessment_total = sum(campaign.stage_counts.values())
        by_level = held[campaign.id]
        top = max([*by_level, *targets[campaign.id], 0])
        holders = sum(by_level.values())
        campaign.levels = [
            (level, by_level.get(level, 0), targets[campaign.id].get(level))
            for level in range(top, 0, -1)
        ]
        if campaign.assessment_total:
            campaign.levels.append((0, max(0, campaign.assessment_total - holders), None))
    return campaigns
