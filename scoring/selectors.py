"""Reads shared by scoring pages, uploads, exports and reports. Set-based: fixed query counts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

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


# --- final results of a period (adjustment, rankings, reports) -----------------------------


def final_results(period, assessments: list[Assessment]) -> dict:
    """County-stage dimension results and lost points of final assessments.

    Returns {(unit_id, dimension_id): (DimensionResult, [(code, points lost), …])}. Three
    queries whatever the number of units: the totals aggregate (two) and the deductions.
    """
    from scoring.rules import lost_points

    campaign = period.campaign
    by_id = {a.id: a for a in assessments}
    totals = stage_totals(
        list(by_id), campaign, period.catalogue_version, stages=[ScoreStage.COUNTY]
    )
    deductions: dict[tuple[int, int], list] = defaultdict(list)
    rows = (
        Score.objects.filter(
            assessment_id__in=list(by_id),
            stage=ScoreStage.COUNTY,
            indicator__kind=IndicatorKind.POINTS,
            value__lt=F("indicator__max_points"),
        )
        .values_list(
            "assessment__unit_id",
            "indicator__dimension_id",
            "indicator__code",
            "value",
            "indicator__max_points",
        )
        .iterator(chunk_size=5000)
    )
    for unit_id, dim_id, code, value, maximum in rows:
        deductions[(unit_id, dim_id)].append((code, value, maximum))
    results = {}
    for assessment_id, stages in totals.items():
        unit_id = by_id[assessment_id].unit_id
        for dim_id, result in stages.get(ScoreStage.COUNTY, {}).items():
            results[(unit_id, dim_id)] = (
                result,
                lost_points(deductions.get((unit_id, dim_id), [])),
            )
    return results


# --- rankings, levels, targets --------------------------------------------------------------


def unit_totals(period, user=None) -> dict[int, Decimal]:
    """Each unit's total (mean of its county-stage dimension scores) in a period, for final
    assessments visible to the user. Four queries."""
    from scoring.rules import total_score

    assessments = Assessment.objects.filter(period=period, stage=Stage.FINAL)
    if user is not None:
        assessments = assessments.visible_to(user)
    pairs = list(assessments.values_list("id", "unit_id"))
    totals = stage_totals(
        [a for a, _u in pairs],
        period.campaign,
        period.catalogue_version,
        stages=[ScoreStage.COUNTY],
    )
    unit_of = dict(pairs)
    return {
        unit_of[a]: total_score(stages.get(ScoreStage.COUNTY, {}).values())
        for a, stages in totals.items()
    }


def previous_period(period):
    return (
        period.campaign.periods.filter(starts_on__lt=period.starts_on)
        .order_by("-starts_on")
        .first()
    )


def unit_levels(campaign, user=None) -> dict[int, int]:
    """Flags or stars each unit holds now (units holding none are absent). One query."""
    from scoring.models import Holding

    # A unit merged away or retired keeps its history but no longer counts towards levels.
    holdings = Holding.objects.filter(dimension__campaign=campaign, unit__is_active=True)
    if user is not None:
        holdings = holdings.visible_to(user)
    return dict(holdings.values_list("unit_id").annotate(n=Count("id")).order_by())


def level_changes(period, user=None) -> dict[int, int]:
    """Net flags or stars gained (+) or lost (−) per unit in a period. One query."""
    from django.db.models import Case, IntegerField, Value, When

    from scoring.models import HoldingChange, HoldingChangeKind

    changes = HoldingChange.objects.filter(period=period)
    if user is not None:
        changes = changes.visible_to(user)
    rows = (
        changes.values("unit_id")
        .annotate(
            net=Sum(
                Case(
                    When(kind=HoldingChangeKind.AWARD, then=Value(1)),
                    default=Value(-1),
                    output_field=IntegerField(),
                )
            )
        )
        .order_by()
    )
    return {row["unit_id"]: row["net"] for row in rows}


@dataclass
class UnitRank:
    unit: object
    total: Decimal | None
    previous_total: Decimal | None
    level: int
    change: int

    @property
    def rise(self) -> Decimal | None:
        if self.total is None or self.previous_total is None:
            return None
        return self.total - self.previous_total


@dataclass
class TownshipRank:
    township: object
    units: int
    average: Decimal | None
    previous_average: Decimal | None
    held: int
    change: int
    rank: int = 0

    @property
    def rise(self) -> Decimal | None:
        if self.average is None or self.previous_average is None:
            return None
        return self.average - self.previous_average


def rankings(period, user) -> tuple[list[TownshipRank], list[UnitRank]]:
    """Townships ranked by average final score (赛马) and every unit with its total, level and
    change since the previous period. A fixed number of queries whatever the size."""

    campaign = period.campaign
    before = previous_period(period)
    totals = unit_totals(period, user)
    previous = unit_totals(before, user) if before else {}
    levels = unit_levels(campaign, user)
    changes = level_changes(period, user)
    units = list(
        _units_for(user)
        .filter(code__startswith=campaign.region.prefix, assessments__period=period)
        .select_related("township")
        .order_by("code")
    )
    unit_rows = [
        UnitRank(
            unit=u,
            total=totals.get(u.id),
            previous_total=previous.get(u.id),
            level=levels.get(u.id, 0),
            change=changes.get(u.id, 0),
        )
        for u in units
    ]
    by_township: dict[int, list[UnitRank]] = defaultdict(list)
    for row in unit_rows:
        by_township[row.unit.township_id].append(row)
    township_rows = []
    for rows in by_township.values():
        scored = [r.total for r in rows if r.total is not None]
        before_scored = [r.previous_total for r in rows if r.previous_total is not None]
        township_rows.append(
            TownshipRank(
                township=rows[0].unit.township,
                units=len(rows),
                average=_mean(scored),
                previous_average=_mean(before_scored),
                held=sum(r.level for r in rows),
                change=sum(r.change for r in rows),
            )
        )
    township_rows.sort(key=lambda t: (-(t.average or Decimal(-1)), t.township.code))
    for i, row in enumerate(township_rows, start=1):
        row.rank = i
    unit_rows.sort(key=lambda r: (-(r.total or Decimal(-1)), r.unit.code))
    return township_rows, unit_rows


def _units_for(user):
    """Units the user may see; user None is the system (scheduled reports, command line)."""
    from villages.models import Unit

    return Unit.objects.all() if user is None else Unit.objects.visible_to(user)


def _mean(values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def effective_and_slow(campaign, unit_rows: list[UnitRank]) -> tuple[list, list]:
    """The period's effective units (gained a level, or total rose by the campaign's margin)
    and slow ones (lost a level, or total below the campaign's floor)."""
    effective = [
        r
        for r in unit_rows
        if r.change > 0 or (r.rise is not None and r.rise >= campaign.effective_rise)
    ]
    slow = [
        r
        for r in unit_rows
        if r.change < 0 or (r.total is not None and r.total < campaign.slow_below)
    ]
    return effective, slow


def level_distribution(campaign, user) -> dict[int, int]:
    """How many units of the campaign in the user's scope hold each level now (0 included).
    Two queries."""

    levels = unit_levels(campaign, user)
    units = _units_for(user).active().filter(code__startswith=campaign.region.prefix)
    total = units.count()
    distribution: dict[int, int] = defaultdict(int)
    for n in levels.values():
        distribution[n] += 1
    distribution[0] = max(0, total - sum(distribution.values()))
    return dict(distribution)


def targets_by_township(campaign, user) -> list[dict]:
    """Per township: units at each level now and the county's decided unit targets (荐旗).
    Three queries."""
    from campaigns.models import UnitTarget
    from villages.models import Unit

    levels = unit_levels(campaign, user)
    targets = dict(
        UnitTarget.objects.visible_to(user)
        .filter(campaign=campaign)
        .values_list("unit_id", "decided_level")
    )
    rows: dict[int, dict] = {}
    top = max([*levels.values(), *[t or 0 for t in targets.values()], 5])
    for unit in (
        Unit.objects.visible_to(user)
        .active()
        .filter(code__startswith=campaign.region.prefix)
        .select_related("township")
        .order_by("code")
    ):
        row = rows.setdefault(
            unit.township_id,
            {
                "township": unit.township,
                "actual": [0] * (top + 1),
                "target": [0] * (top + 1),
                "below_target": 0,
            },
        )
        level = levels.get(unit.id, 0)
        target = targets.get(unit.id)
        row["actual"][level] += 1
        if target is not None:
            row["target"][target] += 1
            if level < target:
                row["below_target"] += 1
    return list(rows.values())
