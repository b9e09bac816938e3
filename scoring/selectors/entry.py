"""One assessment's entry sheet: its indicators by dimension with the scores of every stage."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count

from campaigns.models import Dimension, Indicator, IndicatorKind
from scoring.models import Assessment, Score, ScoreStage, Stage
from scoring.rules import DimensionParts, DimensionResult

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
    """The dimension's result from the entry rows' scores (`attr`: this or the previous stage),
    summed into the same parts SQL aggregates, so the page shows what lists and exports show."""
    parts = DimensionParts()
    for row in rows:
        score, ind = getattr(row, attr), row.indicator
        if ind.kind == IndicatorKind.POINTS:
            parts.possible += ind.max_points
        if score is None:
            continue
        if ind.kind == IndicatorKind.VETO:
            parts.vetoed = parts.vetoed or score.vetoed is True
        elif score.value is not None:
            capped = min(score.value, ind.max_points)
            if ind.kind == IndicatorKind.BONUS:
                parts.bonus += capped
            else:
                parts.points += capped
    return parts.result(dimension.bonus_cap, dimension.effective_threshold)


def entry_sheet(assessment: Assessment, stage: str) -> list[EntryDimension]:
    """The score-entry sheet of one assessment at one stage, grouped by dimension.

    Three queries whatever the size of the catalogue: indicators with their dimensions and
    departments, scores of this and the previous stage, and evidence counts.
    """
    period = assessment.period
    campaign = period.campaign
    indicators = list(
        Indicator.objects.applicable(campaign.id, period.catalogue_version, assessment.unit.kind)
        .select_related("dimension__campaign", "lead_department")
        .order_by("dimension__order", "dimension_id", "order", "id")
    )
    before = campaign.previous_stage(stage) if stage != Stage.FINAL else None
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
