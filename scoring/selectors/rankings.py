"""Rankings (赛马) of units and townships, effective and slow units."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from campaigns.models import Campaign
from scoring.models import Period
from scoring.selectors.levels import level_changes, unit_levels, units_for
from scoring.selectors.results import previous_period, unit_totals
from villages.models import Region, Unit, User


@dataclass
class UnitRank:
    unit: Unit
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
    township: Region
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


def rankings(period: Period, user: User | None) -> tuple[list[TownshipRank], list[UnitRank]]:
    """Townships ranked by average final score (赛马) and every unit with its total, level and
    change since the previous period. A fixed number of queries whatever the size."""

    campaign = period.campaign
    before = previous_period(period)
    totals = unit_totals(period, user)
    previous = unit_totals(before, user) if before else {}
    levels = unit_levels(campaign, user)
    changes = level_changes(period, user)
    units = list(
        units_for(user)
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


def _mean(values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def effective_and_slow(
    campaign: Campaign, unit_rows: list[UnitRank]
) -> tuple[list[UnitRank], list[UnitRank]]:
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
