"""The monthly analysis (月度分析): figures of one campaign for one month.

Plain JSON-ready data, stored on the ReportRun, shown as HTML and written by
`scoring.excel.monthly`.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q
from django.utils import timezone

from campaigns.models import Campaign, LevelTarget
from scoring.models import (
    Assessment,
    HoldingChange,
    RectificationItem,
    RectificationStatus,
    ScoreStage,
    Stage,
)
from scoring.selectors.levels import level_distribution
from scoring.selectors.progress import stage_totals
from scoring.selectors.rankings import rankings
from scoring.selectors.results import final_period_for

BOTTOM = 10


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    first = month.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return first, last


def previous_month(today: dt.date) -> dt.date:
    first = today.replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def _aware(day: dt.date, end: bool = False) -> dt.datetime:
    moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
    return timezone.make_aware(moment)


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def monthly_figures(campaign: Campaign, month: dt.date) -> dict:
    """All figures of the month: progress, dimension averages, levels against targets, changes,
    township ranking, bottom units, rectification. A fixed number of queries for any size."""
    first, last = month_bounds(month)
    start, end = _aware(first), _aware(last, end=True)
    period = campaign.periods.filter(starts_on__lte=last).order_by("-starts_on").first()
    final_period = final_period_for(campaign, before=last + dt.timedelta(days=1))
    data: dict = {
        "campaign": campaign.name,
        "month": first.strftime("%Y-%m"),
        "period": period.label if period else None,
        "final_period": final_period.label if final_period else None,
    }

    # Progress by stage and township (the period under way in the month).
    order = campaign.stage_order()
    data["stages"] = [str(Stage(s).label) for s in order]
    progress: dict[str, dict] = {}
    if period:
        for row in (
            Assessment.objects.filter(period=period)
            .values("unit__township__code", "unit__township__name", "stage")
            .annotate(n=Count("id"))
            .order_by("unit__township__code")
        ):
            entry = progress.setdefault(
                row["unit__township__code"],
                {"township": row["unit__township__name"], "counts": dict.fromkeys(order, 0)},
            )
            entry["counts"][row["stage"]] = row["n"]
    data["progress"] = [
        {"township": e["township"], "counts": [e["counts"][s] for s in order]}
        for e in progress.values()
    ]

    # Dimension averages by township (county scores of the latest final period).
    dims = list(campaign.dimensions.order_by("order", "id"))
    data["dimensions"] = [d.name for d in dims]
    averages = []
    if final_period:
        pairs = list(
            Assessment.objects.filter(period=final_period, stage=Stage.FINAL).values_list(
                "id", "unit__township__name", "unit__township__code"
            )
        )
        totals = stage_totals(
            [p[0] for p in pairs],
            campaign,
            final_period.catalogue_version,
            stages=[ScoreStage.COUNTY],
        )
        sums: dict[str, dict[int, list]] = defaultdict(lambda: defaultdict(list))
        names = {}
        for assessment_id, name, code in pairs:
            names[code] = name
            for dim_id, result in totals.get(assessment_id, {}).get(ScoreStage.COUNTY, {}).items():
                sums[code][dim_id].append(result.score)
        for code in sorted(sums):
            averages.append(
                {
                    "township": names[code],
                    "averages": [
                        _num(sum(sums[code][d.id]) / len(sums[code][d.id]))
                        if sums[code][d.id]
                        else None
                        for d in dims
                    ],
                }
            )
    data["dimension_averages"] = averages

    # Levels against targets.
    distribution = level_distribution(campaign, None)
    targets = dict(
        LevelTarget.objects.filter(campaign=campaign, region=campaign.region).values_list(
            "level", "count"
        )
    )
    top = max([*distribution, *targets, 5])
    data["levels"] = [
        {"level": n, "actual": distribution.get(n, 0), "target": targets.get(n)}
        for n in range(top, -1, -1)
    ]

    # Changes in the month.
    changes = (
        HoldingChange.objects.filter(dimension__campaign=campaign, decided_at__range=(start, end))
        .select_related("unit__township", "dimension", "period")
        .order_by("unit__code", "dimension__order")
    )
    data["changes"] = [
        {
            "township": c.unit.township.name,
            "unit": c.unit.name,
            "dimension": c.dimension.name,
            "kind": c.kind,
            "kind_label": c.get_kind_display(),
            "period": c.period.label,
            "score": _num(c.score),
        }
        for c in changes
    ]

    # Township ranking and bottom units.
    township_rows, unit_rows = rankings(final_period, None) if final_period else ([], [])
    data["ranking"] = [
        {
            "rank": t.rank,
            "township": t.township.name,
            "units": t.units,
            "average": _num(t.average),
            "change": _num(t.rise),
            "held": t.held,
        }
        for t in township_rows
    ]
    scored = [r for r in unit_rows if r.total is not None]
    data["bottom"] = [
        {
            "unit": r.unit.name,
            "township": r.unit.township.name,
            "total": _num(r.total),
            "level": r.level,
        }
        for r in sorted(scored, key=lambda r: (r.total, r.unit.code))[:BOTTOM]
    ]

    # Rectification: opened, closed, overdue at the end of the month.
    items = RectificationItem.objects.filter(assessment__period__campaign=campaign)
    counts = items.aggregate(
        opened=Count("id", filter=Q(created_at__range=(start, end))),
        closed=Count("id", filter=Q(closed_at__range=(start, end))),
        # Overdue at the month's end: past the deadline and not yet reported done by then.
        overdue=Count(
            "id",
            filter=Q(deadline__lt=last, created_at__lte=end)
            & (Q(reported_at__isnull=True) | Q(reported_at__gt=end))
            & (Q(closed_at__isnull=True) | Q(closed_at__gt=end)),
        ),
        still_open=Count("id", filter=~Q(status=RectificationStatus.CLOSED)),
    )
    data["rectification"] = counts
    return data
