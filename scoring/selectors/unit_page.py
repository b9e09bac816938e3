"""Reads for one unit's page: the total of each of its assessments at each scoring stage."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q, Sum

from campaigns.models import Dimension, Indicator, IndicatorKind
from scoring.models import Assessment, Score
from scoring.rules import DimensionParts, total_score
from scoring.selectors.progress import _capped_value


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

    rows = (
        Score.objects.filter(assessment_id__in=list(version_of))
        .values_list("assessment_id", "stage", "indicator__dimension_id")
        .annotate(
            points=Sum(_capped_value(), filter=Q(indicator__kind=IndicatorKind.POINTS)),
            bonus=Sum(_capped_value(), filter=Q(indicator__kind=IndicatorKind.BONUS)),
            vetoes=Count("id", filter=Q(indicator__kind=IndicatorKind.VETO, vetoed=True)),
        )
        .order_by()
    )
    zero = Decimal(0)
    results: dict = defaultdict(lambda: defaultdict(list))
    for assessment_id, stage, dim_id, points, bonus, vetoes in rows:
        dim = dims[dim_id]
        parts = DimensionParts(
            points or zero, max_for(dim_id, version_of[assessment_id]), bonus or zero, bool(vetoes)
        )
        results[assessment_id][stage].append(parts.result(dim.bonus_cap, dim.effective_threshold))
    return {
        a: {stage: total_score(found) for stage, found in by_stage.items()}
        for a, by_stage in results.items()
    }
