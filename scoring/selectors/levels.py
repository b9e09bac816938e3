"""Levels held (flags/stars), their changes, and the distribution against targets."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Case, Count, IntegerField, Sum, Value, When

from campaigns.models import Campaign, UnitTarget
from scoring.models import Holding, HoldingChange, HoldingChangeKind, Period
from villages.models import Unit, UnitQuerySet, User


def unit_levels(campaign: Campaign, user: User | None = None) -> dict[int, int]:
    """Flags or stars each unit holds now (units holding none are absent). One query."""
    # A unit merged away or retired keeps its history but no longer counts towards levels.
    holdings = Holding.objects.filter(dimension__campaign=campaign, unit__is_active=True)
    if user is not None:
        holdings = holdings.visible_to(user)
    return dict(holdings.values_list("unit_id").annotate(n=Count("id")).order_by())


def level_changes(period: Period, user: User | None = None) -> dict[int, int]:
    """Net flags or stars gained (+) or lost (−) per unit in a period. One query."""
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


def level_distribution(campaign: Campaign, user: User | None) -> dict[int, int]:
    """How many units of the campaign in the user's scope hold each level now (0 included).
    Two queries."""

    levels = unit_levels(campaign, user)
    units = units_for(user).active().filter(code__startswith=campaign.region.prefix)
    total = units.count()
    distribution: dict[int, int] = defaultdict(int)
    for n in levels.values():
        distribution[n] += 1
    distribution[0] = max(0, total - sum(distribution.values()))
    return dict(distribution)


def targets_by_township(campaign: Campaign, user: User) -> list[dict]:
    """Per township: units at each level now and the county's decided unit targets (荐旗).
    Three queries."""
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


def units_for(user: User | None) -> UnitQuerySet:
    """Units the user may see; user None is the system (scheduled reports, command line)."""
    return Unit.objects.all() if user is None else Unit.objects.visible_to(user)
