"""factory_boy factories that build a consistent administrative tree and campaign data.

Codes follow the 12-digit statistical division code: 河南省 410000000000 → 安阳市 410500000000 →
内黄县 410527000000 → townships 410527xxx000 → units 410527xxxyyy. Province, city and county are
get-or-create by code, so every factory call lands in the same county unless told otherwise.

Generated townships take the three digits 200–999 and generated units 001–899, so that the
named places in tests/conftest.py (townships 100 and 101) never collide with generated ones.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass, field
from decimal import Decimal

import factory
from django.utils import timezone

from campaigns.models import (
    Campaign,
    CampaignStatus,
    Dimension,
    Indicator,
    IndicatorKind,
    LevelTarget,
    Scheme,
    UnitTarget,
)
from scoring.models import (
    Assessment,
    AssessmentEvent,
    AssessmentEventKind,
    Holding,
    HoldingChange,
    HoldingChangeKind,
    Period,
    RectificationItem,
    Score,
    ScoreStage,
    Stage,
)
from villages.models import Department, Grid, Region, RegionLevel, Role, Unit, UnitKind, User

PASSWORD = "hongqi-test-pw"


class ProvinceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = "410000000000"
    name = "河南省"
    level = RegionLevel.PROVINCE
    parent = None


class CityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = "410500000000"
    name = "安阳市"
    level = RegionLevel.CITY
    parent = factory.SubFactory(ProvinceFactory)


class CountyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = "410527000000"
    name = "内黄县"
    level = RegionLevel.COUNTY
    parent = factory.SubFactory(CityFactory)


class TownshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region

    parent = factory.SubFactory(CountyFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.parent.code[:6]}{200 + n % 800:03d}000")
    name = factory.Sequence(lambda n: f"第{n}镇")
    level = RegionLevel.TOWNSHIP


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    township = factory.SubFactory(TownshipFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.township.code[:9]}{n % 899 + 1:03d}")
    name = factory.Sequence(lambda n: f"第{n}村")
    kind = UnitKind.VILLAGE
    population = 1200
    households = 350
    party_members = 40
    secretary_name = "张书记"


class GridFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grid

    unit = factory.SubFactory(UnitFactory)
    name = factory.Sequence(lambda n: f"第{n}网格")


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    region = factory.SubFactory(CountyFactory)
    name = factory.Sequence(lambda n: f"农业农村局{n}")


class UserFactory(factory.django.DjangoModelFactory):
    """A user with no role: signs in, sees nothing."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.django.Password(PASSWORD)
    role = ""


class CountyStaffFactory(UserFactory):
    role = Role.COUNTY_STAFF
    region = factory.SubFactory(CountyFactory)


class LeaderFactory(UserFactory):
    role = Role.LEADER
    region = factory.SubFactory(CountyFactory)


class TownshipOfficialFactory(UserFactory):
    role = Role.TOWNSHIP_OFFICIAL
    region = factory.SubFactory(TownshipFactory)


class VillageSecretaryFactory(UserFactory):
    role = Role.VILLAGE_SECRETARY
    unit = factory.SubFactory(UnitFactory)


class DepartmentUserFactory(UserFactory):
    role = Role.DEPARTMENT
    department = factory.SubFactory(DepartmentFactory)


class SuperuserFactory(UserFactory):
    is_superuser = True
    is_staff = True


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"五面红旗创建{n}")
    slug = factory.Sequence(lambda n: f"campaign-{n}")
    scheme = Scheme.FLAG
    year = 2026
    region = factory.SubFactory(CountyFactory)
    status = CampaignStatus.ACTIVE


class DimensionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dimension

    campaign = factory.SubFactory(CampaignFactory)
    code = factory.Sequence(lambda n: f"dim-{n}")
    name = factory.Sequence(lambda n: f"党建引领{n}")
    order = factory.Sequence(lambda n: n % 100)


class IndicatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Indicator

    dimension = factory.SubFactory(DimensionFactory)
    code = factory.Sequence(lambda n: f"1.{n}")
    title = factory.Sequence(lambda n: f"指标{n}")
    max_points = Decimal("10")
    kind = IndicatorKind.POINTS


class LevelTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LevelTarget

    campaign = factory.SubFactory(CampaignFactory)
    region = factory.SelfAttribute("campaign.region")
    level = 5
    count = 6


class UnitTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UnitTarget

    campaign = factory.SubFactory(CampaignFactory)
    unit = factory.SubFactory(UnitFactory)
    recommended_level = 3


def _quarter_bounds(label: str) -> tuple[datetime.date, datetime.date]:
    year, quarter = int(label[:4]), int(label[5])
    first_month = 3 * (quarter - 1) + 1
    last_month = first_month + 2
    return (
        datetime.date(year, first_month, 1),
        datetime.date(year, last_month, calendar.monthrange(year, last_month)[1]),
    )


class PeriodFactory(factory.django.DjangoModelFactory):
    """A quarter; the label (e.g. 2026Q3) decides the dates."""

    class Meta:
        model = Period

    campaign = factory.SubFactory(CampaignFactory)
    label = factory.Sequence(lambda n: f"{2026 + n // 4 % 50}Q{n % 4 + 1}")
    starts_on = factory.LazyAttribute(lambda o: _quarter_bounds(o.label)[0])
    ends_on = factory.LazyAttribute(lambda o: _quarter_bounds(o.label)[1])


class AssessmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assessment

    period = factory.SubFactory(PeriodFactory)
    unit = factory.SubFactory(UnitFactory)
    stage = Stage.SELF


class AssessmentEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AssessmentEvent

    assessment = factory.SubFactory(AssessmentFactory)
    kind = AssessmentEventKind.SUBMIT
    from_stage = Stage.SELF
    to_stage = Stage.TOWNSHIP


class ScoreFactory(factory.django.DjangoModelFactory):
    """A score whose indicator belongs to the assessment's campaign."""

    class Meta:
        model = Score

    assessment = factory.SubFactory(AssessmentFactory)
    indicator = factory.SubFactory(
        IndicatorFactory, dimension__campaign=factory.SelfAttribute("...assessment.period.campaign")
    )
    stage = ScoreStage.COUNTY
    value = Decimal("8")


class HoldingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Holding

    unit = factory.SubFactory(UnitFactory)
    dimension = factory.SubFactory(DimensionFactory)


class HoldingChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HoldingChange

    unit = factory.SubFactory(UnitFactory)
    period = factory.SubFactory(PeriodFactory)
    dimension = factory.SubFactory(
        DimensionFactory, campaign=factory.SelfAttribute("..period.campaign")
    )
    kind = HoldingChangeKind.AWARD
    score = Decimal("92.5")


class RectificationItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RectificationItem

    assessment = factory.SubFactory(
        AssessmentFactory, stage=Stage.FINAL, finalised_at=factory.LazyFunction(timezone.now)
    )
    indicator = factory.SubFactory(
        IndicatorFactory, dimension__campaign=factory.SelfAttribute("...assessment.period.campaign")
    )
    points_lost = Decimal("2")
    responsible_person = "李主任"
    measure = "补齐台账"


@dataclass
class Catalogue:
    """A small catalogue of one campaign: a dimension for villages and communities and one for
    villages only, each with points items whose max add up to 100, one veto and one bonus."""

    campaign: Campaign
    shared: Dimension
    village: Dimension
    shared_points: list[Indicator] = field(default_factory=list)
    shared_veto: Indicator | None = None
    shared_bonus: Indicator | None = None
    village_points: list[Indicator] = field(default_factory=list)
    village_veto: Indicator | None = None
    village_bonus: Indicator | None = None

    @property
    def lead(self) -> Indicator:
        """The shared points item whose lead department scores it at the county stage."""
        return self.shared_points[-1]

    def for_kind(self, kind: str) -> list[Indicator]:
        """The indicators that apply to a unit kind, in sheet order."""
        shared = [*self.shared_points, self.shared_veto, self.shared_bonus]
        if kind == UnitKind.VILLAGE:
            return [*shared, *self.village_points, self.village_veto, self.village_bonus]
        return shared


def catalogue_create(*, campaign: Campaign | None = None, department=None) -> Catalogue:
    """Build the small catalogue (see Catalogue); `department` leads the last shared item."""
    from campaigns.models import AppliesTo

    campaign = campaign or CampaignFactory()
    shared = DimensionFactory(
        campaign=campaign, code="dangjian", name="党建引领", order=1, bonus_cap=Decimal("5")
    )
    village = DimensionFactory(
        campaign=campaign,
        code="chanye",
        name="产业兴旺",
        order=2,
        applies_to=AppliesTo.VILLAGE,
        bonus_cap=Decimal("3"),
    )

    def item(dimension, code, kind=IndicatorKind.POINTS, max_points="0", **kwargs):
        return IndicatorFactory(
            dimension=dimension,
            code=code,
            title=f"指标{code}",
            kind=kind,
            max_points=Decimal(max_points),
            order=int(code.split(".")[1]),
            **kwargs,
        )

    return Catalogue(
        campaign=campaign,
        shared=shared,
        village=village,
        shared_points=[
            item(shared, "1.1", max_points="40"),
            item(shared, "1.2", max_points="30"),
            item(shared, "1.3", max_points="30", lead_department=department),
        ],
        shared_veto=item(shared, "1.4", IndicatorKind.VETO),
        shared_bonus=item(shared, "1.5", IndicatorKind.BONUS, max_points="5"),
        village_points=[
            item(village, "2.1", max_points="60"),
            item(village, "2.2", max_points="40"),
        ],
        village_veto=item(village, "2.3", IndicatorKind.VETO),
        village_bonus=item(village, "2.4", IndicatorKind.BONUS, max_points="3"),
    )


def full_marks(indicator: Indicator) -> dict:
    """Score fields that give an indicator full marks without a note (veto: not triggered)."""
    if indicator.kind == IndicatorKind.VETO:
        return {"value": None, "vetoed": False}
    if indicator.kind == IndicatorKind.BONUS:
        return {"value": Decimal("0"), "vetoed": None}
    return {"value": indicator.max_points, "vetoed": None}


def scores_fill(assessment: Assessment, stage: str, indicators, *, user=None) -> list[Score]:
    """Give every indicator full marks at one stage, directly (no audit rows): test set-up only."""
    return Score.objects.bulk_create(
        [
            Score(
                assessment=assessment,
                indicator=indicator,
                stage=stage,
                updated_by=user,
                **full_marks(indicator),
            )
            for indicator in indicators
        ]
    )
