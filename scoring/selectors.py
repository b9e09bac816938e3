"""Reads shared by scoring pages, uploads, exports and reports. Set-based: fixed query counts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from campaigns.models import Campaign, Dimension, Indicator, IndicatorKind
from scoring.models import Assessment, Score, ScoreStage, Stage
from scoring.rules import DimensionResult, dimension_result


def stage_order(campaign: Campaign) -> list[str]:
    """The stages an assessment of this campaign goes through, ending with final."""
    return [*campaign.stages(), Stage.FINAL]


def previous_stage(campaign: Campaign, stage: str) -> str | None:
    order = stage_order(campaign)
    index = order.index(stage)
    return order[index - 1] if index > 0 else None


def applicable_indicators(campaign_id: int, version: int, kind: str):
    """Indicators of a campaign's catalogue version that apply to a unit kind (a queryset)."""
    return (
        Indicator.objects.for_version(version)
        .filter(dimension__campaign_id=campaign_id)
        .filter(Q(dimension__applies_to=kind) | Q(dimension__applies_to="both"))
    )


def due_date(period, stage: str):
    return {
        Stage.SELF: period.self_due,
        Stage.TOWNSHIP: period.township_due,
        Stage.COUNTY: period.county_due,
    }.get(stage)


def is_overdue(period, stage: str, today=None) -> bool:
    """Past the stage's due date (Asia/Shanghai calendar day) and not final yet."""
    due = due_date(period, stage)
    today = today or timezone.localdate()
    return stage != Stage.FINAL and due is not None and today > due


# --- one assessment -------------------------------------------------------------------------


@dataclass
class EntryRow:
    indicator: Indicator
    score: Score | None = None
    previous: Score | None = None
    evidence_count: int = 0


@dataclass
class EntryDimension:
    dimension: Dimension
    rows: list[EntryRow] = field(default_factory=list)
    result: DimensionResult | None = None
    previous_result: DimensionResult | None = None


def dimension_results(dimension: Dimension, rows: list[EntryRow], attr: str) -> DimensionResult:
    points, vetoes, bonus = [], [], []
    for row in rows:
        score = getattr(row, attr)
        ind = row.indicator
        if ind.kind == IndicatorKind.VETO:
            vetoes.append(score.vetoed if score else None)
        elif ind.kind == IndicatorKind.BONUS:
            bonus.append(score.value if score else None)
        else:
            points.append((score.value if score else None, ind.max_points))
    return dimension_result(
        points, vetoes, bonus, dimension.bonus_cap, dimension.effective_threshold
    )


def entry_sheet(assessment: Assessment, stage: str) -> list[EntryDimension]:
    """The score-entry sheet of one assessment at one stage, grouped by dimension.

    Three queries whatever the size of the catalogue: indicators with their dimensions and
    departments, scores of this and the previous stage, and evidence counts.
    """
    period = assessment.period
    campaign = period.campaign
    indicators = list(
        applicable_indicators(campaign.id, period.catalogue_version, assessment.unit.kind)
        .select_related("dimension__campaign", "lead_department")
        .order_by("dimension__order", "dimension_id", "order", "id")
    )
    before = previous_stage(campaign, stage) if stage != Stage.FINAL else None
    stages = [s for s in (stage, before) if s in ScoreStage.values]
    scores = {
        (s.indicator_id, s.stage): s
        for s in Score.objects.filter(assessment=assessment, stage__in=stages)
        .select_related("updated_by")
        .annotate(evidence_count=Count("evidence"))
    }
    sheet: dict[int, EntryDimension] = {}
    for ind in indicators:
        block = sheet.setdefault(ind.dimension_id, EntryDimension(dimension=ind.dimension))
        score = scores.get((ind.id, stage))
        block.rows.append(
            EntryRow(
                indicator=ind,
                score=score,
                previous=scores.get((ind.id, before)) if before else None,
                evidence_count=score.evidence_count if score else 0,
            )
        )
    for block in sheet.values():
        block.result = dimension_results(block.dimension, block.rows, "score")
        if before:
            block.previous_result = dimension_results(block.dimension, block.rows, "previous")
    return list(sheet.values())


# --- many assessments -----------------------------------------------------------------------


def stage_totals(assessment_ids: list[int], campaign: Campaign, version: int) -> dict:
    """Dimension results per assessment and stage for many assessments at once.

    Returns {assessment_id: {stage: {dimension_id: DimensionResult}}}. Two queries: the
    catalogue and one grouped aggregate of scores (sums per assessment × stage × dimension
    × indicator kind, vetoes counted), whatever the number of assessments.
    """
    dims = {d.id: d for d in Dimension.objects.filter(campaign=campaign).select_related("campaign")}
    max_by = dict(
        Indicator.objects.for_version(version)
        .filter(dimension__campaign=campaign, kind=IndicatorKind.POINTS)
        .values_list("dimension_id")
        .annotate(total=Sum("max_points"))
    )
    rows = (
        Score.objects.filter(assessment_id__in=assessment_ids)
        .values("assessment_id", "stage", "indicator__dimension_id", "indicator__kind")
        .annotate(
            total=Sum(
                _capped_value(),
            ),
            vetoes=Count("id", filter=Q(vetoed=True)),
        )
        .order_by()
    )
    parts: dict = defaultdict(lambda: {"points": Decimal(0), "bonus": Decimal(0), "veto": False})
    for row in rows:
        key = (row["assessment_id"], row["stage"], row["indicator__dimension_id"])
        kind = row["indicator__kind"]
        if kind == IndicatorKind.POINTS:
            parts[key]["points"] += row["total"] or 0
        elif kind == IndicatorKind.BONUS:
            parts[key]["bonus"] += row["total"] or 0
        elif row["vetoes"]:
            parts[key]["veto"] = True
    result: dict = defaultdict(lambda: defaultdict(dict))
    for (assessment_id, stage, dim_id), p in parts.items():
        dim = dims[dim_id]
        result[assessment_id][stage][dim_id] = dimension_result(
            [(p["points"], max_by.get(dim_id, Decimal(0)))],
            [p["veto"]],
            [p["bonus"]],
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
    from scoring.permissions import STAGE_ROLE

    stage = next((s for s, role in STAGE_ROLE.items() if role == user.role), None)
    if stage is None:
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
        a.due = due_date(a.period, a.stage)
        a.overdue = is_overdue(a.period, a.stage, today)
    returned = list(waiting.exclude(returned_reason="")[:limit])
    return {"stage": stage, "count": waiting.count(), "items": items, "returned": returned}
