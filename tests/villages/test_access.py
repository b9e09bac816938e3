"""Scope: the pure code helpers, and `visible_to` on every scoped model for every kind of user."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser

from campaigns.models import Campaign, Dimension, Indicator, LevelTarget, UnitTarget
from scoring.models import (
    Assessment,
    Holding,
    HoldingChange,
    Period,
    RectificationItem,
    Score,
)
from tests import factories
from villages.access import ancestor_codes, code_prefix, scope_for
from villages.models import Department, Region, Unit, User


class TestCodeHelpers:
    @pytest.mark.parametrize(
        ("level", "prefix"),
        [
            ("province", "41"),
            ("city", "4105"),
            ("county", "410527"),
            ("township", "410527100"),
            ("unit", "410527100203"),
        ],
    )
    def test_code_prefix(self, level, prefix):
        assert code_prefix("410527100203", level) == prefix

    def test_ancestors_of_a_unit(self):
        assert ancestor_codes("410527100203") == [
            "410000000000",
            "410500000000",
            "410527000000",
            "410527100000",
            "410527100203",
        ]

    def test_ancestors_of_a_township_end_with_itself_once(self):
        assert ancestor_codes("410527100000") == [
            "410000000000",
            "410500000000",
            "410527000000",
            "410527100000",
        ]

    def test_ancestors_of_a_county(self):
        assert ancestor_codes("410527000000") == ["410000000000", "410500000000", "410527000000"]

    def test_ancestors_of_a_province(self):
        assert ancestor_codes("410000000000") == ["410000000000"]

    def test_ancestors_of_a_municipal_district(self):
        # Zhengzhou's Zhongyuan district: city 4101, county-level district 410102.
        assert ancestor_codes("410102001000") == [
            "410000000000",
            "410100000000",
            "410102000000",
            "410102001000",
        ]


class TestScopeFor:
    def test_anonymous_sees_nothing(self):
        assert scope_for(AnonymousUser()).nothing
        assert scope_for(None).nothing

    def test_inactive_user_sees_nothing(self, county_staff):
        county_staff.is_active = False
        assert scope_for(county_staff).nothing

    def test_superuser_sees_everything(self, superuser):
        scope = scope_for(superuser)
        assert scope.everything
        assert not scope.read_only

    def test_user_without_role_sees_nothing(self, no_role_user):
        assert scope_for(no_role_user).nothing

    def test_leader_is_read_only(self, leader, county_staff):
        assert scope_for(leader).read_only
        assert not scope_for(county_staff).read_only

    def test_township_official(self, township_official):
        scope = scope_for(township_official)
        assert scope.prefix == "410527100"
        assert scope.code == "410527100000"
        assert scope.ancestors[-1] == "410527100000"

    def test_village_secretary_scope_is_the_unit_code(self, village_secretary):
        scope = scope_for(village_secretary)
        assert scope.prefix == village_secretary.unit.code
        assert len(scope.prefix) == 12

    def test_department_acts_for_its_region(self, department_user):
        assert scope_for(department_user).prefix == "410527"

    def test_scope_is_cached_on_the_user(self, django_assert_num_queries, township_official):
        user = User.objects.get(pk=township_official.pk)
        with django_assert_num_queries(1):
            scope_for(user)
        with django_assert_num_queries(0):
            scope_for(user)


@pytest.fixture
def world(users, county, township_a, township_b, unit_a, unit_b, department):
    """The base users plus a second unit in A, another county, and data hanging off every unit.

    Objects are named so that expectations read as sets of names.
    """
    city = county.parent
    province = city.parent
    other_county = factories.CountyFactory(code="410526000000", name="滑县", parent=city)
    other_township = factories.TownshipFactory(
        parent=other_county, code="410526100000", name="道口镇"
    )
    unit_a2 = factories.UnitFactory(township=township_a, name="西街村", kind="community")
    unit_other = factories.UnitFactory(township=other_township, name="道口村")
    city_department = factories.DepartmentFactory(region=city, name="市生态环境局")
    other_department = factories.DepartmentFactory(region=other_county, name="滑县农业农村局")
    other_official = factories.TownshipOfficialFactory(username="daokou", region=other_township)

    regions = {
        "province": province,
        "city": city,
        "county": county,
        "township_a": township_a,
        "township_b": township_b,
        "other_county": other_county,
        "other_township": other_township,
    }
    units = {"unit_a": unit_a, "unit_a2": unit_a2, "unit_b": unit_b, "unit_other": unit_other}
    departments = {"county": department, "city": city_department, "other": other_department}
    all_users = {**users, "other_official": other_official}

    campaigns, dimensions, indicators, periods, level_targets = {}, {}, {}, {}, {}
    for name, region in [("county", county), ("city", city), ("other", other_county)]:
        campaign = factories.CampaignFactory(region=region)
        campaigns[name] = campaign
        dimensions[name] = factories.DimensionFactory(campaign=campaign)
        indicators[name] = factories.IndicatorFactory(dimension=dimensions[name])
        periods[name] = factories.PeriodFactory(campaign=campaign, label="2026Q3")
        level_targets[name] = factories.LevelTargetFactory(campaign=campaign, region=region)

    assessments, scores, holdings, changes, rectifications, unit_targets = ({} for _ in range(6))
    for name, unit in units.items():
        campaign_name = "other" if name == "unit_other" else "county"
        period, indicator = periods[campaign_name], indicators[campaign_name]
        dimension = dimensions[campaign_name]
        assessment = factories.AssessmentFactory(period=period, unit=unit)
        assessments[name] = assessment
        scores[name] = factories.ScoreFactory(assessment=assessment, indicator=indicator)
        holdings[name] = factories.HoldingFactory(unit=unit, dimension=dimension)
        changes[name] = factories.HoldingChangeFactory(
            unit=unit, dimension=dimension, period=period
        )
        rectifications[name] = factories.RectificationItemFactory(
            assessment=assessment, indicator=indicator
        )
        unit_targets[name] = factories.UnitTargetFactory(campaign=period.campaign, unit=unit)

    return SimpleNamespace(
        users=all_users,
        rows={
            Region: regions,
            Unit: units,
            Department: departments,
            User: all_users,
            Campaign: campaigns,
            Dimension: dimensions,
            Indicator: indicators,
            Period: periods,
            LevelTarget: level_targets,
            Assessment: assessments,
            Score: scores,
            Holding: holdings,
            HoldingChange: changes,
            RectificationItem: rectifications,
            UnitTarget: unit_targets,
        },
    )


# Which expectation set each model follows: its own kind of place, or the campaign it belongs to,
# or the unit it is about.
FOLLOWS = {
    Region: "regions",
    Unit: "units",
    Department: "departments",
    User: "users",
    Campaign: "campaigns",
    Dimension: "campaigns",
    Indicator: "campaigns",
    Period: "campaigns",
    LevelTarget: "campaigns",
    Assessment: "units",
    Score: "units",
    Holding: "units",
    HoldingChange: "units",
    RectificationItem: "units",
    UnitTarget: "units",
}

EVERYTHING = "everything"
NOTHING: dict[str, set[str]] = {
    "regions": set(),
    "units": set(),
    "departments": set(),
    "users": set(),
    "campaigns": set(),
}
COUNTY_WIDE = {
    "regions": {"county", "township_a", "township_b"},
    "units": {"unit_a", "unit_a2", "unit_b"},
    "departments": {"county", "city"},
    "users": {
        "county_staff",
        "leader",
        "township_official",
        "village_secretary",
        "department",
        "stranger",
    },
    "campaigns": {"county", "city"},
}
EXPECTED = {
    "superuser": EVERYTHING,
    "no_role": NOTHING,
    "county_staff": COUNTY_WIDE,
    "leader": COUNTY_WIDE,
    "department": COUNTY_WIDE,
    "township_official": {
        "regions": {"township_a"},
        "units": {"unit_a", "unit_a2"},
        "departments": {"county", "city"},
        "users": {"township_official", "village_secretary"},
        "campaigns": {"county", "city"},
    },
    "stranger": {
        "regions": {"township_b"},
        "units": {"unit_b"},
        "departments": {"county", "city"},
        "users": {"stranger"},
        "campaigns": {"county", "city"},
    },
    "village_secretary": {
        "regions": set(),
        "units": {"unit_a"},
        "departments": {"county", "city"},
        "users": {"village_secretary"},
        "campaigns": {"county", "city"},
    },
    "other_official": {
        "regions": {"other_township"},
        "units": {"unit_other"},
        "departments": {"other", "city"},
        "users": {"other_official"},
        "campaigns": {"other", "city"},
    },
}


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
def test_visible_to(world, viewer):
    user = world.users[viewer]
    expected, seen = {}, {}
    for model, rows in world.rows.items():
        by_pk = {obj.pk: name for name, obj in rows.items()}
        seen[model.__name__] = {
            by_pk[pk] for pk in model.objects.visible_to(user).values_list("pk", flat=True)
        }
        wanted = EXPECTED[viewer]
        if wanted == EVERYTHING:
            expected[model.__name__] = set(rows)
        else:
            expected[model.__name__] = wanted[FOLLOWS[model]]
    assert seen == expected


def test_every_scoped_model_is_covered(world):
    assert set(world.rows) == set(FOLLOWS)


def test_city_campaign_reaches_a_township_official_inside_it(township_official):
    city = township_official.region.parent.parent
    campaign = factories.CampaignFactory(region=city)
    assert list(Campaign.objects.visible_to(township_official)) == [campaign]


def test_another_countys_campaign_is_not_visible(township_official):
    other_county = factories.CountyFactory(
        code="410526000000", name="滑县", parent=township_official.region.parent.parent
    )
    factories.CampaignFactory(region=other_county)
    assert not Campaign.objects.visible_to(township_official).exists()


def test_a_campaign_of_another_province_is_not_visible(county_staff):
    province = factories.ProvinceFactory(code="140000000000", name="山西省")
    city = factories.CityFactory(code="140800000000", name="运城市", parent=province)
    factories.CampaignFactory(region=city)
    assert not Campaign.objects.visible_to(county_staff).exists()


def test_secretary_does_not_see_a_neighbour_whose_code_extends_theirs(village_secretary):
    """Unit codes are all 12 digits, so a unit prefix matches exactly one unit."""
    factories.UnitFactory(township=village_secretary.unit.township)
    assert list(Unit.objects.visible_to(village_secretary)) == [village_secretary.unit]


def test_visible_to_costs_one_query_for_the_scope(django_assert_num_queries, township_official):
    user = User.objects.get(pk=township_official.pk)
    with django_assert_num_queries(2):
        list(Unit.objects.visible_to(user))
    with django_assert_num_queries(1):
        list(Assessment.objects.visible_to(user))
