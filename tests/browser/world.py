"""The small county the browser journeys run in, built with the ORM and the scoring services.

内黄县 (河南省 安阳市) has two townships: 城关镇 with 东街村, 南关村, 北关村 and 城北社区, and
东庄镇 with 东庄村 and 西庄村. The star campaign `neihuang-wuxing-2026` scores three
dimensions: 支部过硬 (three points items, a veto and a bonus; villages and communities),
产业兴旺 (villages only, with a veto; its first item led by 县农业农村局) and 平安法治 (two
points items). 2026Q3 is closed and left the holdings every unit starts with; 2026Q4 is open,
every unit at the self-assessment stage. Every unit has its secretary, every township its
official; all users share one password.

Deliberately independent of tests/factories.py: journeys reach their states through
scoring.services (audited like real use), so they keep working while the factories change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

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
from scoring.inputs import ScoreInput
from scoring.models import (
    Assessment,
    ChangeSource,
    Holding,
    HoldingChange,
    HoldingChangeKind,
    Period,
    PeriodStatus,
    ScoreStage,
    Stage,
)
from scoring.services import assessment_submit, period_open, scores_save
from villages.models import Department, Region, RegionLevel, Role, Unit, UnitKind, User

PASSWORD = "Hongqi-Browser-2026"
SLUG = "neihuang-wuxing-2026"

# name, code, kind, township, secretary (name on the unit record), phone, secretary's username
UNITS = [
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
TOWNSHIPS = [
    ("城关镇", "410527100000", "chengguan", "王芳"),
    ("东庄镇", "410527101000", "dongzhuang", "周强"),
]

# dimension code, name, applies to, bonus cap, [(indicator code, title, kind, max points)]
CATALOGUE = [
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
class World:
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
        return next(u[6] for u in UNITS if u[0] == unit_name)

    def official_of(self, unit_name: str) -> str:
        township = self.units[unit_name].township.name
        return next(t[2] for t in TOWNSHIPS if t[0] == township)

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


def _user(username: str, name: str, role: str, **place) -> User:
    user = User(username=username, first_name=name, role=role, **place)
    user.set_password(PASSWORD)
    user.save()
    return user


def world_build() -> World:
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
        for name, code, _username, _official in TOWNSHIPS
    }
    units = {}
    for name, code, kind, township, secretary, phone, _username in UNITS:
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
        "xianwei": _user("xianwei", "李明", Role.COUNTY_STAFF, region=county),
        "lingdao": _user("lingdao", "张振华", Role.LEADER, region=county),
        "nongye": _user("nongye", "赵强", Role.DEPARTMENT, department=department),
    }
    for name, _code, username, official in TOWNSHIPS:
        users[username] = _user(username, official, Role.TOWNSHIP_OFFICIAL, region=townships[name])
    for name, _code, _kind, _township, secretary, _phone, username in UNITS:
        users[username] = _user(username, secretary, Role.VILLAGE_SECRETARY, unit=units[name])

    campaign = Campaign.objects.create(
        name="2026年内黄县“五星”支部创建",
        slug=SLUG,
        scheme=Scheme.STAR,
        year=2026,
        region=county,
        status=CampaignStatus.ACTIVE,
        threshold=Decimal("90"),
    )
    dimensions, indicators = {}, {}
    for order, (code, name, applies_to, cap, items) in enumerate(CATALOGUE, start=1):
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
    assert period.assessments.filter(stage=ScoreStage.SELF).count() == len(UNITS)
    return World(
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
