"""Reads for one unit's page: the total of each of its assessments at each scoring stage."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from campaigns.models import Dimension, Indicator, IndicatorKind
from scoring.models import Assessment, Score
from scoring.rules import total_score
from scoring.selectors.progress import dimension_sums


def assessment_stage_totals(assessments: list[Assessment]) -> dict[int, dict[str, Decimal]]:
    """{assessment id: {score stage: total}} for the stages that have scores, the same sums as
    `stage_totals` but across campaigns and catalogue versions. Three queries whatever the
    number of assessments or campaigns: dimensions, points maxima, one grouped score sum."""
    if not assessments:
        return {}
    version_of = {a.id: a.period.catalogue_version for a in assessments}
    campaign_ids = {a.period.campaign_id for a in assessments}
    dims = {
        d.id: d
        for d in Dimension.objects.filter(campaign_id__in=campaign_ids).select_related("campaign")
    }
    maxima = list(
        Indicator.objects.filter(
            dimension__campaign_id__in=campaign_ids, kind=IndicatorKind.POINTS
        ).values_list("dimension_id", "max_points", "version_from", "version_to")
    )

    def max_for(dim_id: int, version: int) -> Decimal:
        return sum(
            (
                m
                for d, m, since, until in maxima
                if d == dim_id and since <= version and (until is None or until > version)
            ),
            Decimal(0),
        )

    results: dict = defaultdict(lambda: defaultdict(list))
    scores = Score.objects.filter(assessment_id__in=list(version_of))
    for assessment_id, stage, dim_id, parts in dimension_sums(scores):
        dim = dims[dim_id]
        parts.possible = max_for(dim_id, version_of[assessment_id])
        results[assessment_id][stage].append(parts.result(dim.bonus_cap, dim.effective_threshold))
    return {
        a: {stage: total_score(found) for stage, found in by_stage.items()}
        for a, by_stage in results.items()
    }
