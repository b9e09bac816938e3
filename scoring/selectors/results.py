"""Final results of a period: per unit and dimension (adjustment, rankings, reports)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import F

from campaigns.models import Campaign, IndicatorKind
from scoring.models import Assessment, Period, Score, ScoreStage, Stage
from scoring.rules import DimensionResult, lost_points, total_score
from scoring.selectors.progress import stage_totals
from villages.models import User

# --- final results of a period (adjustment, rankings, reports) -----------------------------


def final_results(
    period: Period, assessments: list[Assessment]
) -> dict[tuple[int, int], tuple[DimensionResult, list[tuple[str, Decimal]]]]:
    """County-stage dimension results and lost points of final assessments.

    Returns {(unit_id, dimension_id): (DimensionResult, [(code, points lost), …])}. Three
    queries whatever the number of units: the totals aggregate (two) and the deductions.
    """
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


def unit_totals(period: Period, user: User | None = None) -> dict[int, Decimal]:
    """Each unit's total (mean of its county-stage dimension scores) in a period, for final
    assessments visible to the user. Four queries."""
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


def previous_period(period: Period) -> Period | None:
    return (
        period.campaign.periods.filter(starts_on__lt=period.starts_on)
        .order_by("-starts_on")
        .first()
    )


def final_period_for(campaign: Campaign, before: dt.date | None = None) -> Period | None:
    """The latest period with final assessments (optionally starting before a date)."""
    periods = campaign.periods.filter(assessments__stage=Stage.FINAL)
    if before is not None:
        periods = periods.filter(starts_on__lt=before)
    return periods.distinct().order_by("-starts_on").first()
