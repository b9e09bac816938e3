"""A small hand-made county for the monthly report, export and Celery job tests.

Every figure of the October 2026 report can be worked out by hand from this module:

Catalogue (campaign ``neihuang-report``, threshold 90, all four stages):
    党建引领 (order 1): 1.1 points /60, 1.2 points /40, 1.3 veto
    产业兴旺 (order 2): 2.1 points /50, 2.2 points /50
Both dimensions add up to 100, so a dimension score is the sum of its points.

Units (codes 9xx so that factory-generated units, 001–899, never collide):
    城关镇 (410527100000): 红星村 100901, 前进村 100902
    东庄镇 (410527101000): 胜利村 101901, 和平村 101902, 旧址村 101903 (inactive, no assessment)

Periods:
    2026Q2 final      红星村 90/90 → 90.00, 前进村 80/70 → 75.00, 胜利村 90/80 → 85.00
                      (和平村 was not assessed)
    2026Q3 final      红星村 95/92 → 93.50, 前进村 80/75 → 77.50, 胜利村 100/98 → 99.00,
                      和平村 70/60 → 65.00 with the veto 1.3 triggered
                      (红星村 also has township-stage full marks, which must never count)
    2026Q4 under way  红星村 self, 前进村 township, 胜利村 county (county scores of 10 each,
                      which must never count: the period is not final), 和平村 county

Holdings now: 红星村 both (2), 前进村 党建引领 (1), 胜利村 both (2), 和平村 none (0).
Level targets of the county: level 2 → 3 units, level 1 → 1 unit (a township's own target of
level 2 → 1 must be ignored). Unit targets: 红星村 2, 和平村 1.

Holding changes (Asia/Shanghai wall clock), October 2026 is the month reported on:
    红星村 产业兴旺 award   2026Q3  2026-10-01 00:30  in  (still September in UTC)
    前进村 党建引领 award   2026Q3  2026-10-31 23:50  in
    和平村 党建引领 withdraw 2026Q3  2026-11-01 00:10  out (still October in UTC)
    胜利村 党建引领 award   2026Q2  2026-09-30 23:59  out

Rectification items (Shanghai wall clock; month end is 2026-10-31 24:00):
    r1 红星村 1.1 created 10-01 00:05, deadline 10-20, open              opened, overdue
    r2 红星村 1.2 created 09-30 23:55, deadline 10-15, reported 10-10     (nothing)
    r3 前进村 1.1 created 09-10, deadline 10-05, reported 10-30,
                  closed 10-31 23:30                                     closed
    r4 前进村 2.1 created 09-05, deadline 10-10, reported 11-01 00:20,
                  closed 11-01 00:30                                     overdue (done too late)
    r5 和平村 1.1 created 10-31 23:59, deadline 10-31, open              opened (due that day)
    r6 和平村 2.1 created 11-01 00:01, deadline 10-25, open              (not yet created)
So October has opened 2, closed 1, overdue 2, and 4 items are not closed today (r1 r2 r5 r6).
r1 carries text Excel would take for a formula (=, @, +) and r2 one starting with -.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from campaigns.models import AppliesTo, Campaign, Dimension, Indicator, IndicatorKind
from scoring.models import (
    Assessment,
    Holding,
    HoldingChange,
    HoldingChangeKind,
    Period,
    RectificationItem,
    RectificationStatus,
    Score,
    ScoreStage,
    Stage,
)
from tests import factories
from villages.models import Unit, UnitKind

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
OCTOBER = dt.date(2026, 10, 1)
SLUG = "neihuang-report"

# County scores: unit key → period → (1.1, 1.2, veto 1.3, 2.1, 2.2).
COUNTY_SCORES = {
    "2026Q2": {
        "A1": ("54", "36", False, "45", "45"),
        "A2": ("48", "32", False, "35", "35"),
        "B1": ("54", "36", False, "40", "40"),
    },
    "2026Q3": {
        "A1": ("57", "38", False, "45", "47"),
        "A2": ("50", "30", False, "40", "35"),
        "B1": ("60", "40", False, "50", "48"),
        "B2": ("42", "28", True, "30", "30"),
    },
}
ITEMS = ("1.1", "1.2", "1.3", "2.1", "2.2")


def shanghai(year, month, day, hour=12, minute=0) -> dt.datetime:
    """An aware datetime given as Asia/Shanghai wall-clock time (UTC+8, no daylight saving)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@dataclass
class ReportWorld:
    """The built county, looked up by short keys (see the module docstring)."""

    campaign: Campaign
    dims: dict[str, Dimension] = field(default_factory=dict)
    items: dict[str, Indicator] = field(default_factory=dict)
    periods: dict[str, Period] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)
    assessments: dict[tuple[str, str], Assessment] = field(default_factory=dict)
    rectifications: dict[str, RectificationItem] = field(default_factory=dict)


def _scores(assessment, items, values, stage=ScoreStage.COUNTY) -> list[Score]:
    rows = []
    for code, value in zip(ITEMS, values, strict=True):
        indicator = items[code]
        if indicator.kind == IndicatorKind.VETO:
            rows.append(
                Score(assessment=assessment, indicator=indicator, stage=stage, vetoed=value)
            )
        else:
            rows.append(
                Score(assessment=assessment, indicator=indicator, stage=stage, value=Decimal(value))
            )
    return rows


def report_world_build(*, county, township_a, township_b) -> ReportWorld:
    """Build the county of the module docstring over the conftest county and townships."""
    campaign = factories.CampaignFactory(region=county, slug=SLUG, name="内黄县红旗创建（月报）")
    world = ReportWorld(campaign=campaign)
    world.dims["d1"] = factories.DimensionFactory(
        campaign=campaign, code="dangjian", name="党建引领", order=1, applies_to=AppliesTo.BOTH
    )
    world.dims["d2"] = factories.DimensionFactory(
        campaign=campaign, code="chanye", name="产业兴旺", order=2, applies_to=AppliesTo.BOTH
    )
    for order, (code, dim, kind, maximum) in enumerate(
        [
            ("1.1", "d1", IndicatorKind.POINTS, "60"),
            ("1.2", "d1", IndicatorKind.POINTS, "40"),
            ("1.3", "d1", IndicatorKind.VETO, "0"),
            ("2.1", "d2", IndicatorKind.POINTS, "50"),
            ("2.2", "d2", IndicatorKind.POINTS, "50"),
        ],
        start=1,
    ):
        world.items[code] = factories.IndicatorFactory(
            dimension=world.dims[dim],
            code=code,
            title=f"指标{code}",
            kind=kind,
            max_points=Decimal(maximum),
            order=order,
        )

    for key, township, code, name, active in [
        ("A1", township_a, "410527100901", "红星村", True),
        ("A2", township_a, "410527100902", "前进村", True),
        ("B1", township_b, "410527101901", "胜利村", True),
        ("B2", township_b, "410527101902", "和平村", True),
        ("B3", township_b, "410527101903", "旧址村", False),
    ]:
        world.units[key] = factories.UnitFactory(
            township=township, code=code, name=name, kind=UnitKind.VILLAGE, is_active=active
        )

    for label in ("2026Q2", "2026Q3", "2026Q4"):
        world.periods[label] = factories.PeriodFactory(campaign=campaign, label=label)

    scores: list[Score] = []
    finalised = timezone.now()
    for label, by_unit in COUNTY_SCORES.items():
        for key, values in by_unit.items():
            assessment = factories.AssessmentFactory(
                period=world.periods[label],
                unit=world.units[key],
                stage=Stage.FINAL,
                finalised_at=finalised,
            )
            world.assessments[(label, key)] = assessment
            scores += _scores(assessment, world.items, values)
    # Township-stage full marks on a final assessment: never part of any county figure.
    scores += _scores(
        world.assessments[("2026Q3", "A1")],
        world.items,
        ("60", "40", False, "50", "50"),
        stage=ScoreStage.TOWNSHIP,
    )
    for key, stage in [
        ("A1", Stage.SELF),
        ("A2", Stage.TOWNSHIP),
        ("B1", Stage.COUNTY),
        ("B2", Stage.COUNTY),
    ]:
        world.assessments[("2026Q4", key)] = factories.AssessmentFactory(
            period=world.periods["2026Q4"], unit=world.units[key], stage=stage
        )
    # County scores in a period under way: never part of the final period's figures.
    scores += _scores(
        world.assessments[("2026Q4", "B1")], world.items, ("10", "10", False, "10", "10")
    )
    Score.objects.bulk_create(scores)

    Holding.objects.bulk_create(
        Holding(unit=world.units[u], dimension=world.dims[d])
        for u, d in [("A1", "d1"), ("A1", "d2"), ("A2", "d1"), ("B1", "d1"), ("B1", "d2")]
    )
    factories.LevelTargetFactory(campaign=campaign, region=county, level=2, count=3)
    factories.LevelTargetFactory(campaign=campaign, region=county, level=1, count=1)
    factories.LevelTargetFactory(campaign=campaign, region=township_a, level=2, count=1)
    factories.UnitTargetFactory(campaign=campaign, unit=world.units["A1"], decided_level=2)
    factories.UnitTargetFactory(campaign=campaign, unit=world.units["B2"], decided_level=1)

    for unit, dim, period, kind, score, at in [
        ("A1", "d2", "2026Q3", HoldingChangeKind.AWARD, "92", shanghai(2026, 10, 1, 0, 30)),
        ("A2", "d1", "2026Q3", HoldingChangeKind.AWARD, "80", shanghai(2026, 10, 31, 23, 50)),
        ("B2", "d1", "2026Q3", HoldingChangeKind.WITHDRAW, "70", shanghai(2026, 11, 1, 0, 10)),
        ("B1", "d1", "2026Q2", HoldingChangeKind.AWARD, "90", shanghai(2026, 9, 30, 23, 59)),
    ]:
        HoldingChange.objects.create(
            unit=world.units[unit],
            dimension=world.dims[dim],
            period=world.periods[period],
            kind=kind,
            score=Decimal(score),
            reason="测试",
            decided_at=at,
        )

    q3 = world.assessments
    for key, (unit, item, fields) in {
        "r1": (
            "A1",
            "1.1",
            {
                "created_at": shanghai(2026, 10, 1, 0, 5),
                "deadline": dt.date(2026, 10, 20),
                "lost_note": "=SUM(A1:A9)",
                "responsible_person": "@王五",
                "measure": "+补齐台账",
            },
        ),
        "r2": (
            "A1",
            "1.2",
            {
                "created_at": shanghai(2026, 9, 30, 23, 55),
                "deadline": dt.date(2026, 10, 15),
                "status": RectificationStatus.REPORTED,
                "reported_at": shanghai(2026, 10, 10),
                "lost_note": "-2分 会议记录缺失",
            },
        ),
        "r3": (
            "A2",
            "1.1",
            {
                "created_at": shanghai(2026, 9, 10),
                "deadline": dt.date(2026, 10, 5),
                "status": RectificationStatus.CLOSED,
                "reported_at": shanghai(2026, 10, 30),
                "closed_at": shanghai(2026, 10, 31, 23, 30),
            },
        ),
        "r4": (
            "A2",
            "2.1",
            {
                "created_at": shanghai(2026, 9, 5),
                "deadline": dt.date(2026, 10, 10),
                "status": RectificationStatus.CLOSED,
                "reported_at": shanghai(2026, 11, 1, 0, 20),
                "closed_at": shanghai(2026, 11, 1, 0, 30),
            },
        ),
        "r5": (
            "B2",
            "1.1",
            {"created_at": shanghai(2026, 10, 31, 23, 59), "deadline": dt.date(2026, 10, 31)},
        ),
        "r6": (
            "B2",
            "2.1",
            {"created_at": shanghai(2026, 11, 1, 0, 1), "deadline": dt.date(2026, 10, 25)},
        ),
    }.items():
        indicator = world.items[item]
        fields.setdefault("responsible_person", "李主任")
        fields.setdefault("measure", "补齐台账")
        world.rectifications[key] = RectificationItem.objects.create(
            assessment=q3[("2026Q3", unit)],
            indicator=indicator,
            points_lost=Decimal("2"),
            **fields,
        )
    return world


def other_county_campaign():
    """An active campaign of 安阳县, a county next to 内黄 that none of the base users covers."""
    other = factories.CountyFactory(code="410522000000", name="安阳县")
    return factories.CampaignFactory(region=other, slug="anyang-report", name="安阳县红旗创建")


# --- Celery -----------------------------------------------------------------------------------


@contextmanager
def celery_eager():
    """Run Celery tasks in-process for the block, whatever the environment (CI sets REDIS_URL,
    which turns eager mode off), with the project's own choice of not propagating errors."""
    from config.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    try:
        yield app
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def _reset_broker_pools(app) -> None:
    # The app keeps its producer pool once built from the broker URL; forget it so the next send
    # looks the pool up again for whatever broker_url says now (kombu keeps one per URL).
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker_down(url: str = "redis://127.0.0.1:1/0"):
    """Point the Celery app at a broker nobody listens on (port 1), not eager, for the block."""
    from config.celery import app

    saved = (
        app.conf.broker_url,
        app.conf.task_always_eager,
        app.conf.broker_connection_timeout,
        app.conf.task_publish_retry_policy,
    )
    _reset_broker_pools(app)
    app.conf.broker_url = url
    app.conf.task_always_eager = False
    # Fail in well under a second rather than after the default publish retries.
    app.conf.broker_connection_timeout = 1
    app.conf.task_publish_retry_policy = {"max_retries": 1, "interval_start": 0}
    try:
        yield app
    finally:
        _reset_broker_pools(app)
        (
            app.conf.broker_url,
            app.conf.task_always_eager,
            app.conf.broker_connection_timeout,
            app.conf.task_publish_retry_policy,
        ) = saved
