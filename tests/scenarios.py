"""The worlds the tests build: catalogues, counties, periods and assessments, in one module.

Four scenarios, each in its own section below, share the helpers at the top:

- Hand-made catalogues (`campaign_build` and friends), for the decision and follow-up tests:
  a campaign gets a catalogue described by `Spec` rows, so that every dimension score in a test
  can be worked out by hand; final assessments get their county scores written directly (no
  audit rows), full marks unless a test says otherwise. `assessment_at` puts an assessment of
  the conftest catalogue at a stage with a complete sheet.
- The report county (`report_world_build`), for the monthly report, export and job tests:
  every figure of the October 2026 report can be worked out by hand (see that section).
- The security pair of counties (`security_world_build`): one object of every kind in three
  places, for the access matrix, audit, race, upload and backup tests.
- The browser county (`browser_world_build`): built with the ORM and the scoring services
  only, for the browser journeys.

Celery switches (eager mode, a broker that is down) are test machinery, in tests/helpers.py.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from campaigns.models import (
    AppliesTo,
    Campaign,
    CampaignStatus,
    Dimension,
    Indicator,
    IndicatorKind,
    LevelTarget,
    Scheme,
)
from scoring.excel.template import FIRST_DATA_ROW, ROW_CODE, SCORE_SHEET, template_build
from scoring.inputs import ScoreInput
from scoring.models import (
    AdjustmentProposal,
    AdjustmentRun,
    Assessment,
    ChangeSource,
    Evidence,
    ExportJob,
    ExportKind,
    Holding,
    HoldingChange,
    HoldingChangeKind,
    JobStatus,
    Period,
    PeriodStatus,
    ProposalAction,
    RectificationAction,
    RectificationEvent,
    RectificationItem,
    RectificationStatus,
    ReportRun,
    Score,
    ScoreStage,
    Stage,
)
from scoring.services import assessment_submit, period_open, scores_save
from tests import factories
from villages.models import Department, Region, RegionLevel, Role, Unit, UnitKind, User

# --- shared ---------------------------------------------------------------------------------------

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
OCTOBER = dt.date(2026, 10, 1)  # the month the report county reports on; the security pair's


def shanghai(year, month, day, hour=12, minute=0) -> dt.datetime:
    """An aware datetime given as Asia/Shanghai wall-clock time (UTC+8, no daylight saving)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def xlsx_bytes(title: str = "ok") -> bytes:
    """A minimal real workbook with `title` in A1."""
    workbook = Workbook()
    workbook.active["A1"] = title
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- hand-made catalogues -------------------------------------------------------------------------
#
# The decision and follow-up tests of tests/scoring use them, and so do the security pair below
# and tests/security/test_races.py.


@dataclass(frozen=True)
class Spec:
    """One dimension of a hand-made catalogue: points items (code, max), an optional veto code
    and an optional bonus item (code, max) with the dimension's bonus cap."""

    code: str
    name: str
    points: tuple[tuple[str, str], ...]
    veto: str | None = None
    bonus: tuple[str, str] | None = None
    bonus_cap: str = "0"


# Three dimensions: 1 and 2 add up to 100 and have a veto each; 3 adds up to 50 (normalised).
THREE_DIMENSIONS = (
    Spec("dangjian", "党建引领", (("1.1", "40"), ("1.2", "30"), ("1.3", "30")), veto="1.4"),
    Spec("chanye", "产业兴旺", (("2.1", "60"), ("2.2", "40")), veto="2.3"),
    Spec("shengtai", "生态宜居", (("3.1", "20"), ("3.2", "30"))),
)

# One dimension with one item worth 100: a unit's total is the points it was given.
ONE_ITEM = (Spec("zonghe", "综合", (("1.1", "100"),)),)


@dataclass
class Built:
    """A campaign with its catalogue, looked up by code."""

    campaign: Campaign
    dimensions: dict[str, Dimension] = field(default_factory=dict)
    indicators: dict[str, Indicator] = field(default_factory=dict)

    def dim(self, code: str) -> Dimension:
        return self.dimensions[code]


def campaign_build(*, region, specs=THREE_DIMENSIONS, **fields) -> Built:
    """Create an active campaign over `region` with the catalogue the specs describe."""
    fields.setdefault("name", "内黄县红旗创建（决策）")
    campaign = factories.CampaignFactory(region=region, **fields)
    built = Built(campaign=campaign)
    for order, spec in enumerate(specs, start=1):
        dimension = factories.DimensionFactory(
            campaign=campaign,
            code=spec.code,
            name=spec.name,
            order=order,
            bonus_cap=Decimal(spec.bonus_cap),
        )
        built.dimensions[spec.code] = dimension
        rows = [(code, IndicatorKind.POINTS, maximum) for code, maximum in spec.points]
        if spec.veto:
            rows.append((spec.veto, IndicatorKind.VETO, "0"))
        if spec.bonus:
            rows.append((spec.bonus[0], IndicatorKind.BONUS, spec.bonus[1]))
        for item_order, (code, kind, maximum) in enumerate(rows, start=1):
            built.indicators[code] = factories.IndicatorFactory(
                dimension=dimension,
                code=code,
                title=f"指标{code}",
                kind=kind,
                max_points=Decimal(maximum),
                order=item_order,
            )
    return built


def period_build(built: Built, label: str = "2026Q3", **fields) -> Period:
    return factories.PeriodFactory(campaign=built.campaign, label=label, **fields)


def county_scores(
    built: Built,
    assessment: Assessment,
    values: dict[str, str] | None = None,
    vetoed: set[str] = frozenset(),
    *,
    stage: str = ScoreStage.COUNTY,
    bonus: dict[str, str] | None = None,
) -> list[Score]:
    """Score every indicator of the catalogue at one stage: points items at full marks unless
    `values` names them (a deduction gets the note 扣分<code>), vetoes triggered when named in
    `vetoed`, bonus items 0 unless `bonus` names them."""
    values, bonus = values or {}, bonus or {}
    scores = []
    for code, indicator in built.indicators.items():
        score = Score(assessment=assessment, indicator=indicator, stage=stage)
        if indicator.kind == IndicatorKind.VETO:
            score.vetoed = code in vetoed
        elif indicator.kind == IndicatorKind.BONUS:
            score.value = Decimal(bonus.get(code, "0"))
        else:
            score.value = Decimal(values.get(code, indicator.max_points))
            if score.value < indicator.max_points:
                score.note = f"扣分{code}"
        scores.append(score)
    return Score.objects.bulk_create(scores)


def final_assessment(
    built: Built,
    period: Period,
    unit: Unit,
    values: dict[str, str] | None = None,
    vetoed: set[str] = frozenset(),
    *,
    stage: str = Stage.FINAL,
) -> Assessment:
    """An assessment of `unit` (final unless told) with its county scores."""
    assessment = factories.AssessmentFactory(
        period=period,
        unit=unit,
        stage=stage,
        finalised_at=timezone.now() if stage == Stage.FINAL else None,
    )
    county_scores(built, assessment, values, vetoed)
    return assessment


def holdings(built: Built, unit: Unit, *codes: str) -> None:
    Holding.objects.bulk_create(Holding(unit=unit, dimension=built.dim(c)) for c in codes)


def many_units(township, n: int, *, prefix: str = "村") -> list[Unit]:
    """`n` village units of a township, named <township><prefix><i>."""
    return [
        factories.UnitFactory(township=township, name=f"{township.name}{prefix}{i}")
        for i in range(n)
    ]


def assessment_at(period, unit, stage, catalogue, *, finaliser=None) -> Assessment:
    """An assessment at `stage` whose sheet at that stage is complete (full marks).

    `catalogue` is a tests.factories.Catalogue (the conftest fixture); a final assessment
    carries its county sheet and, when given, who finalised it.
    """
    extra = {}
    if stage == Stage.FINAL:
        extra = {"finalised_by": finaliser, "finalised_at": timezone.now()}
    assessment = factories.AssessmentFactory(period=period, unit=unit, stage=stage, **extra)
    score_stage = Stage.COUNTY if stage == Stage.FINAL else stage
    factories.scores_fill(assessment, score_stage, catalogue.for_kind(unit.kind))
    return assessment


# --- the report county ----------------------------------------------------------------------------
#
# A small hand-made county for the monthly report, export and Celery job tests.
#
# Every figure of the October 2026 report can be worked out by hand from this section:
#
# Catalogue (campaign ``neihuang-report``, threshold 90, all four stages):
#     党建引领 (order 1): 1.1 points /60, 1.2 points /40, 1.3 veto
#     产业兴旺 (order 2): 2.1 points /50, 2.2 points /50
# Both dimensions add up to 100, so a dimension score is the sum of its points.
#
# Units (codes 9xx so that factory-generated units, 001–899, never collide):
#     城关镇 (410527100000): 红星村 100901, 前进村 100902
#     东庄镇 (410527101000): 胜利村 101901, 和平村 101902, 旧址村 101903 (inactive, no assessment)
#
# Periods:
#     2026Q2 final      红星村 90/90 → 90.00, 前进村 80/70 → 75.00, 胜利村 90/80 → 85.00
#                       (和平村 was not assessed)
#     2026Q3 final      红星村 95/92 → 93.50, 前进村 80/75 → 77.50, 胜利村 100/98 → 99.00,
#                       和平村 70/60 → 65.00 with the veto 1.3 triggered
#                       (红星村 also has township-stage full marks, which must never count)
#     2026Q4 under way  红星村 self, 前进村 township, 胜利村 county (county scores of 10 each,
#                       which must never count: the period is not final), 和平村 county
#
# Holdings now: 红星村 both (2), 前进村 党建引领 (1), 胜利村 both (2), 和平村 none (0).
# Level targets of the county: level 2 → 3 units, level 1 → 1 unit (a township's own target of
# level 2 → 1 must be ignored). Unit targets: 红星村 2, 和平村 1.
#
# Holding changes (Asia/Shanghai wall clock), October 2026 is the month reported on:
#     红星村 产业兴旺 award   2026Q3  2026-10-01 00:30  in  (still September in UTC)
#     前进村 党建引领 award   2026Q3  2026-10-31 23:50  in
#     和平村 党建引领 withdraw 2026Q3  2026-11-01 00:10  out (still October in UTC)
#     胜利村 党建引领 award   2026Q2  2026-09-30 23:59  out
#
# Rectification items (Shanghai wall clock; month end is 2026-10-31 24:00):
#     r1 红星村 1.1 created 10-01 00:05, deadline 10-20, open              opened, overdue
#     r2 红星村 1.2 created 09-30 23:55, deadline 10-15, reported 10-10     (nothing)
#     r3 前进村 1.1 created 09-10, deadline 10-05, reported 10-30,
#                   closed 10-31 23:30                                     closed
#     r4 前进村 2.1 created 09-05, deadline 10-10, reported 11-01 00:20,
#                   closed 11-01 00:30                                     overdue (done too late)
#     r5 和平村 1.1 created 10-31 23:59, deadline 10-31, open              opened (due that day)
#     r6 和平村 2.1 created 11-01 00:01, deadline 10-25, open              (not yet created)
# So October has opened 2, closed 1, overdue 2, and 4 items are not closed today (r1 r2 r5 r6).
# r1 carries text Excel would take for a formula (=, @, +) and r2 one starting with -.

REPORT_SLUG = "neihuang-report"

# County scores: unit key → period → (1.1, 1.2, veto 1.3, 2.1, 2.2).
REPORT_SCORES = {
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
REPORT_ITEMS = ("1.1", "1.2", "1.3", "2.1", "2.2")


@dataclass
class ReportWorld:
    """The built county, looked up by short keys (see the comment above)."""

    campaign: Campaign
    dims: dict[str, Dimension] = field(default_factory=dict)
    items: dict[str, Indicator] = field(default_factory=dict)
    periods: dict[str, Period] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)
    assessments: dict[tuple[str, str], Assessment] = field(default_factory=dict)
    rectifications: dict[str, RectificationItem] = field(default_factory=dict)


def _report_scores(assessment, items, values, stage=ScoreStage.COUNTY) -> list[Score]:
    rows = []
    for code, value in zip(REPORT_ITEMS, values, strict=True):
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
    """Build the report county described above over the conftest county and townships."""
    campaign = factories.CampaignFactory(
        region=county, slug=REPORT_SLUG, name="内黄县红旗创建（月报）"
    )
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
    for label, by_unit in REPORT_SCORES.items():
        for key, values in by_unit.items():
            assessment = factories.AssessmentFactory(
                period=world.periods[label],
                unit=world.units[key],
                stage=Stage.FINAL,
                finalised_at=finalised,
            )
            world.assessments[(label, key)] = assessment
            scores += _report_scores(assessment, world.items, values)
    # Township-stage full marks on a final assessment: never part of any county figure.
    scores += _report_scores(
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
    scores += _report_scores(
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


# --- the security pair ----------------------------------------------------------------------------
#
# A compact county pair for the security tests: one object of every kind in three places.
#
# 内黄县 (410527, county X) has 城关镇 (township A: 东街村, the village secretary's unit) and
# 东庄镇 (township B: 西庄村); 滑县 (410526, county Y) has 道口镇 with 北街村. The base users
# (village secretary of 东街村, township official of A, county staff, lead department and leader
# of X, a superuser) act for A; B is "another township" and Y "another county" to them.
#
# Each place (`A`, `B`, `Y`) holds the same objects, so a route's arguments are built the same way
# wherever the object lies: an assessment of 2026Q3 at the township stage (self and township
# scores complete), a final 2026Q2 assessment with a deduction, its rectification item and a
# reported step with an attachment, evidence on a township score, an adjustment run of 2026Q2
# with a proposal for the unit, a finished monthly report, a township template filled in, and a
# finished export file per user. A and B share county X's campaign, run and report.

ROLES = ("anonymous", "secretary", "official", "county", "department", "leader", "superuser")
PLACES = ("A", "B", "Y")
PDF = b"%PDF-1.4\n% security-test evidence\n"

# 党建引领: 1.1 points /60, 1.2 points /40 led by the county's department.
SECURITY_SPECS = (Spec("dangjian", "党建引领", (("1.1", "60"), ("1.2", "40"))),)


@dataclass
class Place:
    """The objects of one place; A and B share the campaign-level ones (X's)."""

    key: str
    county: Region
    township: Region
    unit: Unit
    campaign: Campaign
    current: Period  # 2026Q3, open
    past: Period  # 2026Q2, every assessment final
    indicator: Indicator  # 1.1, no lead department
    led: Indicator  # 1.2, led by the county's department
    assessment: Assessment  # 2026Q3, township stage
    final: Assessment  # 2026Q2, final
    evidence: Evidence
    item: RectificationItem
    event: RectificationEvent
    run: AdjustmentRun
    proposal: AdjustmentProposal
    report: ReportRun
    official: User  # the township official of this place
    county_staff: User  # county staff of this place's county
    template: bytes = b""  # the official's township template with 1.1 changed for the unit
    silent: Assessment | None = None  # 2026Q3, self stage, nothing scored (another unit)
    county_stage: Assessment | None = None  # 2026Q3, county stage, no county score (a third unit)


@dataclass
class SecurityWorld:
    places: dict[str, Place]
    users: dict[str, User | None]  # by role; anonymous is None
    jobs: dict[int, ExportJob] = field(default_factory=dict)  # by requesting user id

    def job_of(self, user: User) -> ExportJob:
        return self.jobs[user.id]


def _security_county(code: str, name: str, township: tuple[str, str], unit: tuple[str, str]):
    county = factories.CountyFactory(code=code, name=name)
    town = factories.TownshipFactory(parent=county, code=township[0], name=township[1])
    return county, town, factories.UnitFactory(township=town, code=unit[0], name=unit[1])


def _security_campaign(county: Region, slug: str, department):
    built = campaign_build(
        region=county, specs=SECURITY_SPECS, slug=slug, name=f"{county.name}红旗创建"
    )
    led = built.indicators["1.2"]
    led.lead_department = department
    led.save(update_fields=["lead_department"])
    current = factories.PeriodFactory(campaign=built.campaign, label="2026Q3")
    past = factories.PeriodFactory(campaign=built.campaign, label="2026Q2")
    return built, current, past


def _security_report(campaign: Campaign) -> ReportRun:
    run = ReportRun(
        campaign=campaign,
        month=OCTOBER,
        status=JobStatus.DONE,
        trigger="test",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        data={},
    )
    run.file.save(f"monthly-{campaign.slug}-2026-10.xlsx", ContentFile(xlsx_bytes()), save=False)
    run.save()
    return run


def _security_job(user: User, campaign: Campaign) -> ExportJob:
    job = ExportJob(
        kind=ExportKind.ROSTER,
        campaign=campaign,
        requested_by=user,
        status=JobStatus.DONE,
        progress=100,
        rows=1,
        finished_at=timezone.now(),
    )
    job.file.save(f"roster-{campaign.slug}-{user.username}.xlsx", ContentFile(xlsx_bytes()))
    return job


def _security_place(
    key, *, county, township, unit, built, current, past, run, report, official, staff
):
    item_1_1, item_1_2 = built.indicators["1.1"], built.indicators["1.2"]
    assessment = factories.AssessmentFactory(period=current, unit=unit, stage=Stage.TOWNSHIP)
    for stage in (ScoreStage.SELF, ScoreStage.TOWNSHIP):
        county_scores(built, assessment, stage=stage)
    Score.objects.filter(assessment=assessment).update(
        updated_at=timezone.now() - dt.timedelta(hours=1)
    )
    final = factories.AssessmentFactory(
        period=past, unit=unit, stage=Stage.FINAL, finalised_at=timezone.now()
    )
    county_scores(built, final, {"1.1": "50"})
    township_score = Score.objects.get(
        assessment=assessment, indicator=item_1_1, stage=ScoreStage.TOWNSHIP
    )
    evidence = Evidence(
        score=township_score, original_name="台账.pdf", size=len(PDF), uploaded_by=official
    )
    evidence.file.save("ledger.pdf", ContentFile(PDF), save=False)
    evidence.save()
    item = RectificationItem.objects.create(
        assessment=final,
        indicator=item_1_1,
        points_lost=Decimal("10"),
        lost_note="扣分1.1",
        responsible_person="李主任",
        measure="补齐台账",
        deadline=dt.date(2026, 12, 31),
        status=RectificationStatus.OPEN,
    )
    event = RectificationEvent(
        item=item,
        action=RectificationAction.ASSIGN,
        from_status=RectificationStatus.OPEN,
        to_status=RectificationStatus.OPEN,
        note="补齐台账",
        actor=official,
    )
    event.attachment.save("photo.pdf", ContentFile(PDF), save=False)
    event.save()
    proposal = AdjustmentProposal.objects.create(
        run=run,
        unit=unit,
        dimension=built.dim("dangjian"),
        held=False,
        score=Decimal("90"),
        action=ProposalAction.AWARD,
    )
    silent_unit = factories.UnitFactory(
        township=township, code=f"{township.code[:9]}099", name=f"{township.name}未自评村"
    )
    silent = factories.AssessmentFactory(period=current, unit=silent_unit, stage=Stage.SELF)
    county_unit = factories.UnitFactory(
        township=township, code=f"{township.code[:9]}098", name=f"{township.name}县审村"
    )
    county_stage = factories.AssessmentFactory(period=current, unit=county_unit, stage=Stage.COUNTY)
    return Place(
        silent=silent,
        county_stage=county_stage,
        key=key,
        county=county,
        township=township,
        unit=unit,
        campaign=built.campaign,
        current=current,
        past=past,
        indicator=item_1_1,
        led=item_1_2,
        assessment=assessment,
        final=final,
        evidence=evidence,
        item=item,
        event=event,
        run=run,
        proposal=proposal,
        report=report,
        official=official,
        county_staff=staff,
    )


def filled_template(official: User, period: Period, unit: Unit, indicator: Indicator) -> bytes:
    """The official's township template with `indicator` set to 55 points (and a note)."""
    content = template_build(user=official, period=period, stage=ScoreStage.TOWNSHIP)
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook[SCORE_SHEET]
    column = next(c.column for c in sheet[ROW_CODE] if c.value == indicator.code)
    row = next(
        r for r in range(FIRST_DATA_ROW, sheet.max_row + 1) if sheet.cell(r, 1).value == unit.code
    )
    sheet.cell(row, column).value = 55
    sheet.cell(row, column + 1).value = "台账缺两页"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def security_world_build() -> SecurityWorld:
    """Create both counties, their campaigns and one object of every kind per place."""
    county_x, town_a, unit_a = _security_county(
        "410527000000", "内黄县", ("410527100000", "城关镇"), ("410527100001", "东街村")
    )
    town_b = factories.TownshipFactory(parent=county_x, code="410527101000", name="东庄镇")
    unit_b = factories.UnitFactory(township=town_b, code="410527101001", name="西庄村")
    county_y, town_y, unit_y = _security_county(
        "410526000000", "滑县", ("410526100000", "道口镇"), ("410526100001", "北街村")
    )
    dept_x = factories.DepartmentFactory(region=county_x, name="农业农村局")
    dept_y = factories.DepartmentFactory(region=county_y, name="滑县农业农村局")

    users: dict[str, User | None] = {
        "anonymous": None,
        "secretary": factories.VillageSecretaryFactory(username="dongjie", unit=unit_a),
        "official": factories.TownshipOfficialFactory(username="chengguan", region=town_a),
        "county": factories.CountyStaffFactory(username="zuzhibu", region=county_x),
        "department": factories.DepartmentUserFactory(username="nongye", department=dept_x),
        "leader": factories.LeaderFactory(username="lingdao", region=county_x),
        "superuser": factories.SuperuserFactory(username="admin"),
    }
    official_b = factories.TownshipOfficialFactory(username="dongzhuang", region=town_b)
    official_y = factories.TownshipOfficialFactory(username="daokou", region=town_y)
    staff_y = factories.CountyStaffFactory(username="huaxian", region=county_y)

    built_x, current_x, past_x = _security_campaign(county_x, "neihuang-flags", dept_x)
    built_y, current_y, past_y = _security_campaign(county_y, "huaxian-flags", dept_y)
    run_x = AdjustmentRun.objects.create(
        campaign=built_x.campaign, period=past_x, created_by=users["county"]
    )
    run_y = AdjustmentRun.objects.create(
        campaign=built_y.campaign, period=past_y, created_by=staff_y
    )
    report_x, report_y = _security_report(built_x.campaign), _security_report(built_y.campaign)

    common_x = {"built": built_x, "current": current_x, "past": past_x, "run": run_x}
    places = {
        "A": _security_place(
            "A",
            county=county_x,
            township=town_a,
            unit=unit_a,
            report=report_x,
            official=users["official"],
            staff=users["county"],
            **common_x,
        ),
        "B": _security_place(
            "B",
            county=county_x,
            township=town_b,
            unit=unit_b,
            report=report_x,
            official=official_b,
            staff=users["county"],
            **common_x,
        ),
        "Y": _security_place(
            "Y",
            county=county_y,
            township=town_y,
            unit=unit_y,
            built=built_y,
            current=current_y,
            past=past_y,
            run=run_y,
            report=report_y,
            official=official_y,
            staff=staff_y,
        ),
    }
    for place in places.values():
        place.template = filled_template(place.official, place.current, place.unit, place.indicator)
    world = SecurityWorld(places=places, users=users)
    for user in [*(u for u in users.values() if u), official_b, official_y, staff_y]:
        campaign = built_y.campaign if user in (official_y, staff_y) else built_x.campaign
        world.jobs[user.id] = _security_job(user, campaign)
    return world


# --- the browser county ---------------------------------------------------------------------------
#
# The small county the browser journeys run in, built with the ORM and the scoring services.
#
# 内黄县 (河南省 安阳市) has two townships: 城关镇 with 东街村, 南关村, 北关村 and 城北社区, and
# 东庄镇 with 东庄村 and 西庄村. The star campaign `neihuang-wuxing-2026` scores three
# dimensions: 支部过硬 (three points items, a veto and a bonus; villages and communities),
# 产业兴旺 (villages only, with a veto; its first item led by 县农业农村局) and 平安法治 (two
# points items). 2026Q3 is closed and left the holdings every unit starts with; 2026Q4 is open,
# every unit at the self-assessment stage. Every unit has its secretary, every township its
# official; all users share one password.
#
# Deliberately independent of tests/factories.py (this section uses no factory): journeys reach
# their states through scoring.services (audited like real use), so they keep working while the
# factories change.

BROWSER_PASSWORD = "Hongqi-Browser-2026"
BROWSER_SLUG = "neihuang-wuxing-2026"

# name, code, kind, township, secretary (name on the unit record), phone, secretary's username
BROWSER_UNITS = [
    ("东街村", "410527100001", UnitKind.VILLAGE, "城关镇", "刘建国", "13903720001", "dongjie"),
    ("南关村", "410527100002", UnitKind.VILLAGE, "城关镇", "陈志刚", "13903720002", "nanguan"),
    ("北关村", "410527100003", UnitKind.VILLAGE, "城关镇", "赵红梅", "13903720003", "beiguan"),
    ("城北社区", "410527100004", UnitKind.COMMUNITY, "城关镇", "孙丽", "13903720004", "chengbei"),
    (
        "东庄村",
        "410527101001",
        UnitKind.VILLAGE,
        "东庄镇",
        "王守田",
        "13903720005",
        "dongzhuangcun",
    ),
    ("西庄村", "410527101002", UnitKind.VILLAGE, "东庄镇", "李春生", "13903720006", "xizhuang"),
]
BROWSER_TOWNSHIPS = [
    ("城关镇", "410527100000", "chengguan", "王芳"),
    ("东庄镇", "410527101000", "dongzhuang", "周强"),
]

# dimension code, name, applies to, bonus cap, [(indicator code, title, kind, max points)]
BROWSER_CATALOGUE = [
    (
        "zhibu",
        "支部过硬",
        AppliesTo.BOTH,
        "5",
        [
            ("1.1", "党组织班子健全、分工明确", IndicatorKind.POINTS, "40"),
            ("1.2", "“三会一课”制度落实", IndicatorKind.POINTS, "30"),
            ("1.3", "党员教育管理规范", IndicatorKind.POINTS, "30"),
            ("1.4", "班子成员发生严重违纪违法问题", IndicatorKind.VETO, "0"),
            ("1.5", "获县级以上党建表彰", IndicatorKind.BONUS, "5"),
        ],
    ),
    (
        "chanye",
        "产业兴旺",
        AppliesTo.VILLAGE,
        "3",
        [
            ("2.1", "村集体经济年收入", IndicatorKind.POINTS, "60"),
            ("2.2", "特色主导产业发展", IndicatorKind.POINTS, "40"),
            ("2.3", "发生重大安全生产事故", IndicatorKind.VETO, "0"),
        ],
    ),
    (
        "pingan",
        "平安法治",
        AppliesTo.BOTH,
        "0",
        [
            ("3.1", "矛盾纠纷排查化解", IndicatorKind.POINTS, "50"),
            ("3.2", "法治宣传教育", IndicatorKind.POINTS, "50"),
        ],
    ),
]

# What 2026Q3 left: the dimensions each unit holds when 2026Q4 starts.
HELD_AFTER_Q3 = {
    "东街村": ["zhibu", "chanye"],
    "南关村": ["zhibu"],
    "东庄村": ["zhibu", "chanye", "pingan"],
    "西庄村": ["zhibu"],
}


@dataclass
class BrowserWorld:
    county: Region
    townships: dict[str, Region]
    units: dict[str, Unit]
    campaign: Campaign
    dimensions: dict[str, Dimension]
    indicators: dict[str, Indicator]
    period: Period
    previous: Period
    department: Department
    users: dict[str, User] = field(default_factory=dict)

    county_staff = "xianwei"
    leader = "lingdao"
    department_user = "nongye"

    def assessment(self, unit_name: str) -> Assessment:
        return Assessment.objects.select_related("unit", "period__campaign").get(
            period=self.period, unit=self.units[unit_name]
        )

    def secretary_of(self, unit_name: str) -> str:
        return next(u[6] for u in BROWSER_UNITS if u[0] == unit_name)

    def official_of(self, unit_name: str) -> str:
        township = self.units[unit_name].township.name
        return next(t[2] for t in BROWSER_TOWNSHIPS if t[0] == township)

    def scorer(self, stage: str, unit_name: str) -> User:
        """The user who scores and submits this unit at this stage."""
        username = {
            Stage.SELF: self.secretary_of(unit_name),
            Stage.TOWNSHIP: self.official_of(unit_name),
            Stage.COUNTY: self.county_staff,
        }[stage]
        return self.users[username]

    def applicable(self, unit_name: str) -> list[Indicator]:
        kind = self.units[unit_name].kind
        return [
            ind
            for ind in self.indicators.values()
            if ind.dimension.applies_to in (AppliesTo.BOTH, kind)
        ]

    def inputs(
        self,
        unit_name: str,
        *,
        points: dict[str, str] | None = None,
        vetoed: tuple[str, ...] = (),
        notes: dict[str, str] | None = None,
    ) -> list[ScoreInput]:
        """Every applicable indicator of a unit: full marks, no veto, no bonus, unless named.

        A deduction without a note in `notes` gets a plausible one (the services require it).
        """
        points, notes = points or {}, notes or {}
        assessment = self.assessment(unit_name)
        items = []
        for ind in self.applicable(unit_name):
            value, veto, note = None, None, notes.get(ind.code, "")
            if ind.kind == IndicatorKind.VETO:
                veto = ind.code in vetoed
            elif ind.kind == IndicatorKind.BONUS:
                value = Decimal(points.get(ind.code, "0"))
            else:
                value = Decimal(points.get(ind.code, ind.max_points))
                if value < ind.max_points and not note:
                    note = f"{ind.title}未达标，扣{ind.max_points - value}分"
            items.append(
                ScoreInput(
                    assessment_id=assessment.id,
                    indicator_id=ind.id,
                    value=value,
                    vetoed=veto,
                    note=note,
                )
            )
        return items

    def advance(self, unit_name: str, to_stage: str, scores: dict[str, dict] | None = None) -> None:
        """Move a unit's 2026Q4 assessment on to `to_stage` the way its users would.

        The village scores every indicator (full marks unless `scores[Stage.SELF]` says
        otherwise) and submits; each later stage keeps what was carried over, changes what
        `scores[stage]` names, and submits (the county's submit finalises).
        """
        scores = scores or {}
        order = [Stage.SELF, Stage.TOWNSHIP, Stage.COUNTY, Stage.FINAL]
        while True:
            assessment = self.assessment(unit_name)
            stage = assessment.stage
            if order.index(stage) >= order.index(to_stage):
                return
            user = self.scorer(stage, unit_name)
            if stage == Stage.SELF or stage in scores:
                scores_save(
                    user=user,
                    stage=stage,
                    inputs=self.inputs(unit_name, **scores.get(stage, {})),
                    source=ChangeSource.WEB,
                )
            assessment_submit(user=user, assessment_id=assessment.id)


def _browser_user(username: str, name: str, role: str, **place) -> User:
    user = User(username=username, first_name=name, role=role, **place)
    user.set_password(BROWSER_PASSWORD)
    user.save()
    return user


def browser_world_build() -> BrowserWorld:
    """Create the county, campaign, periods, users and Q3 holdings (about 60 rows)."""
    province = Region.objects.create(code="410000000000", name="河南省", level=RegionLevel.PROVINCE)
    city = Region.objects.create(
        code="410500000000", name="安阳市", level=RegionLevel.CITY, parent=province
    )
    county = Region.objects.create(
        code="410527000000", name="内黄县", level=RegionLevel.COUNTY, parent=city
    )
    townships = {
        name: Region.objects.create(code=code, name=name, level=RegionLevel.TOWNSHIP, parent=county)
        for name, code, _username, _official in BROWSER_TOWNSHIPS
    }
    units = {}
    for name, code, kind, township, secretary, phone, _username in BROWSER_UNITS:
        units[name] = Unit.objects.create(
            code=code,
            name=name,
            kind=kind,
            township=townships[township],
            population=1800,
            households=520,
            party_members=46,
            secretary_name=secretary,
            secretary_phone=phone,
        )
    department = Department.objects.create(region=county, name="县农业农村局")

    users = {
        "xianwei": _browser_user("xianwei", "李明", Role.COUNTY_STAFF, region=county),
        "lingdao": _browser_user("lingdao", "张振华", Role.LEADER, region=county),
        "nongye": _browser_user("nongye", "赵强", Role.DEPARTMENT, department=department),
    }
    for name, _code, username, official in BROWSER_TOWNSHIPS:
        users[username] = _browser_user(
            username, official, Role.TOWNSHIP_OFFICIAL, region=townships[name]
        )
    for name, _code, _kind, _township, secretary, _phone, username in BROWSER_UNITS:
        users[username] = _browser_user(
            username, secretary, Role.VILLAGE_SECRETARY, unit=units[name]
        )

    campaign = Campaign.objects.create(
        name="2026年内黄县“五星”支部创建",
        slug=BROWSER_SLUG,
        scheme=Scheme.STAR,
        year=2026,
        region=county,
        status=CampaignStatus.ACTIVE,
        threshold=Decimal("90"),
    )
    dimensions, indicators = {}, {}
    for order, (code, name, applies_to, cap, items) in enumerate(BROWSER_CATALOGUE, start=1):
        dimension = Dimension.objects.create(
            campaign=campaign,
            code=code,
            name=name,
            applies_to=applies_to,
            order=order,
            bonus_cap=Decimal(cap),
        )
        dimensions[code] = dimension
        for item_order, (ind_code, title, kind, maximum) in enumerate(items, start=1):
            indicators[ind_code] = Indicator.objects.create(
                dimension=dimension,
                code=ind_code,
                title=title,
                kind=kind,
                max_points=Decimal(maximum),
                order=item_order,
                rule_text=f"{title}：按评分细则逐项核查。",
                lead_department=department if ind_code == "2.1" else None,
            )
    for level, count in ((3, 1), (2, 2), (1, 2)):
        LevelTarget.objects.create(campaign=campaign, region=county, level=level, count=count)

    previous = Period.objects.create(
        campaign=campaign,
        label="2026Q3",
        starts_on=dt.date(2026, 7, 1),
        ends_on=dt.date(2026, 9, 30),
        status=PeriodStatus.CLOSED,
    )
    decided = timezone.make_aware(dt.datetime(2026, 10, 20, 10))
    for unit_name, codes in HELD_AFTER_Q3.items():
        for code in codes:
            Holding.objects.create(
                unit=units[unit_name], dimension=dimensions[code], since_period=previous
            )
            HoldingChange.objects.create(
                unit=units[unit_name],
                dimension=dimensions[code],
                period=previous,
                kind=HoldingChangeKind.AWARD,
                score=Decimal("95"),
                reason="维度得分达到标准",
                decided_by=users["xianwei"],
                decided_at=decided,
            )

    today = timezone.localdate()
    period = period_open(
        user=users["xianwei"],
        campaign=campaign,
        label="2026Q4",
        starts_on=dt.date(2026, 10, 1),
        ends_on=dt.date(2026, 12, 31),
        self_due=today + dt.timedelta(days=10),
        township_due=today + dt.timedelta(days=20),
        county_due=today + dt.timedelta(days=30),
    )
    assert period.assessments.filter(stage=ScoreStage.SELF).count() == len(BROWSER_UNITS)
    return BrowserWorld(
        county=county,
        townships=townships,
        units=units,
        campaign=campaign,
        dimensions=dimensions,
        indicators=indicators,
        period=period,
        previous=previous,
        department=department,
        users=users,
    )
