"""A compact county pair for the security tests: one object of every kind in three places.

内黄县 (410527, county X) has 城关镇 (township A: 东街村, the village secretary's unit) and
东庄镇 (township B: 西庄村); 滑县 (410526, county Y) has 道口镇 with 北街村. The base users
(village secretary of 东街村, township official of A, county staff, lead department and leader
of X, a superuser) act for A; B is "another township" and Y "another county" to them.

Each place (`A`, `B`, `Y`) holds the same objects, so a route's arguments are built the same way
wherever the object lies: an assessment of 2026Q3 at the township stage (self and township
scores complete), a final 2026Q2 assessment with a deduction, its rectification item and a
reported step with an attachment, evidence on a township score, an adjustment run of 2026Q2
with a proposal for the unit, a finished monthly report, a township template filled in, and a
finished export file per user. A and B share county X's campaign, run and report.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from campaigns.models import Campaign, Indicator
from scoring.excel.template import FIRST_DATA_ROW, ROW_CODE, SCORE_SHEET, template_build
from scoring.models import (
    AdjustmentProposal,
    AdjustmentRun,
    Assessment,
    Evidence,
    ExportJob,
    ExportKind,
    JobStatus,
    Period,
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
from tests import factories
from tests.scoring.builders import Spec, campaign_build, county_scores
from villages.models import Region, Unit, User

ROLES = ("anonymous", "secretary", "official", "county", "department", "leader", "superuser")
PLACES = ("A", "B", "Y")
PDF = b"%PDF-1.4\n% security-test evidence\n"
MONTH = dt.date(2026, 10, 1)

# 党建引领: 1.1 points /60, 1.2 points /40 led by the county's department.
SPECS = (Spec("dangjian", "党建引领", (("1.1", "60"), ("1.2", "40"))),)


def xlsx_bytes(title: str = "ok") -> bytes:
    workbook = Workbook()
    workbook.active["A1"] = title
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


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


@dataclass
class World:
    places: dict[str, Place]
    users: dict[str, User | None]  # by role; anonymous is None
    jobs: dict[int, ExportJob] = field(default_factory=dict)  # by requesting user id

    def job_of(self, user: User) -> ExportJob:
        return self.jobs[user.id]


def _county(code: str, name: str, township: tuple[str, str], unit: tuple[str, str]):
    county = factories.CountyFactory(code=code, name=name)
    town = factories.TownshipFactory(parent=county, code=township[0], name=township[1])
    return county, town, factories.UnitFactory(township=town, code=unit[0], name=unit[1])


def _campaign(county: Region, slug: str, department):
    built = campaign_build(region=county, specs=SPECS, slug=slug, name=f"{county.name}红旗创建")
    led = built.indicators["1.2"]
    led.lead_department = department
    led.save(update_fields=["lead_department"])
    current = factories.PeriodFactory(campaign=built.campaign, label="2026Q3")
    past = factories.PeriodFactory(campaign=built.campaign, label="2026Q2")
    return built, current, past


def _report(campaign: Campaign) -> ReportRun:
    run = ReportRun(
        campaign=campaign,
        month=MONTH,
        status=JobStatus.DONE,
        trigger="test",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        data={},
    )
    run.file.save(f"monthly-{campaign.slug}-2026-10.xlsx", ContentFile(xlsx_bytes()), save=False)
    run.save()
    return run


def _job(user: User, campaign: Campaign) -> ExportJob:
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


def _place(key, *, county, township, unit, built, current, past, run, report, official, staff):
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
    return Place(
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


def world_build() -> World:
    """Create both counties, their campaigns and one object of every kind per place."""
    county_x, town_a, unit_a = _county(
        "410527000000", "内黄县", ("410527100000", "城关镇"), ("410527100001", "东街村")
    )
    town_b = factories.TownshipFactory(parent=county_x, code="410527101000", name="东庄镇")
    unit_b = factories.UnitFactory(township=town_b, code="410527101001", name="西庄村")
    county_y, town_y, unit_y = _county(
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

    built_x, current_x, past_x = _campaign(county_x, "neihuang-flags", dept_x)
    built_y, current_y, past_y = _campaign(county_y, "huaxian-flags", dept_y)
    run_x = AdjustmentRun.objects.create(
        campaign=built_x.campaign, period=past_x, created_by=users["county"]
    )
    run_y = AdjustmentRun.objects.create(
        campaign=built_y.campaign, period=past_y, created_by=staff_y
    )
    report_x, report_y = _report(built_x.campaign), _report(built_y.campaign)

    common_x = {"built": built_x, "current": current_x, "past": past_x, "run": run_x}
    places = {
        "A": _place(
            "A",
            county=county_x,
            township=town_a,
            unit=unit_a,
            report=report_x,
            official=users["official"],
            staff=users["county"],
            **common_x,
        ),
        "B": _place(
            "B",
            county=county_x,
            township=town_b,
            unit=unit_b,
            report=report_x,
            official=official_b,
            staff=users["county"],
            **common_x,
        ),
        "Y": _place(
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
    world = World(places=places, users=users)
    for user in [*(u for u in users.values() if u), official_b, official_y, staff_y]:
        campaign = built_y.campaign if user in (official_y, staff_y) else built_x.campaign
        world.jobs[user.id] = _job(user, campaign)
    return world
