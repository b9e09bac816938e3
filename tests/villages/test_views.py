"""The unit list and unit detail pages: who gets in, what they find, and what it costs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scoring.models import Stage
from tests import factories
from villages.models import UnitKind

pytestmark = pytest.mark.django_db

LIST_URL = reverse("villages:unit_list")


def detail_url(unit) -> str:
    return reverse("villages:unit_detail", args=[unit.pk])


def listed(response) -> list[str]:
    """The codes of the units on the page, in order."""
    return [unit.code for unit in response.context["page"]]


class TestUnitList:
    def test_it_sends_anonymous_to_login(self, client):
        response = client.get(LIST_URL)
        assert response.status_code == 302
        assert response.url == f"/accounts/login/?next={LIST_URL}"

    def test_it_lists_the_county_for_county_staff(self, client, county_staff, unit_a, unit_b):
        client.force_login(county_staff)
        response = client.get(LIST_URL)
        assert response.status_code == 200
        assert listed(response) == sorted([unit_a.code, unit_b.code])
        assert [t.code for t in response.context["townships"]] == [
            "410527100000",
            "410527101000",
        ]

    def test_it_lists_only_the_own_township(self, client, township_official, unit_a, unit_b):
        client.force_login(township_official)
        response = client.get(LIST_URL)
        assert response.status_code == 200
        assert listed(response) == [unit_a.code]
        assert unit_b.name not in response.content.decode()
        assert [t.code for t in response.context["townships"]] == ["410527100000"]

    def test_it_shows_the_stranger_only_township_b(self, client, stranger, unit_a, unit_b):
        client.force_login(stranger)
        response = client.get(LIST_URL)
        assert listed(response) == [unit_b.code]

    def test_it_lists_only_the_secretarys_own_unit(self, client, village_secretary, unit_a):
        neighbour = factories.UnitFactory(township=unit_a.township, name="邻村")
        client.force_login(village_secretary)
        response = client.get(LIST_URL)
        assert listed(response) == [unit_a.code]
        assert neighbour.name not in response.content.decode()

    def test_it_lists_nothing_for_a_user_without_role(self, client, no_role_user, unit_a):
        client.force_login(no_role_user)
        response = client.get(LIST_URL)
        assert response.status_code == 200
        assert listed(response) == []

    def test_it_lists_everything_for_the_superuser(self, client, superuser, unit_a, unit_b):
        other = factories.UnitFactory(
            township=factories.TownshipFactory(
                parent=factories.CountyFactory(code="410526000000", name="滑县")
            )
        )
        client.force_login(superuser)
        response = client.get(LIST_URL)
        assert listed(response) == sorted([unit_a.code, unit_b.code, other.code])

    def test_it_filters_by_township(self, client, county_staff, unit_a, unit_b):
        client.force_login(county_staff)
        response = client.get(LIST_URL, {"township": unit_b.township.code})
        assert listed(response) == [unit_b.code]

    def test_it_ignores_a_township_outside_the_scope(self, client, township_official, unit_b):
        client.force_login(township_official)
        response = client.get(LIST_URL, {"township": unit_b.township.code})
        assert listed(response) == []

    def test_it_filters_by_kind(self, client, county_staff, unit_a, township_b):
        community = factories.UnitFactory(township=township_b, kind=UnitKind.COMMUNITY)
        client.force_login(county_staff)
        response = client.get(LIST_URL, {"kind": "community"})
        assert listed(response) == [community.code]
        response = client.get(LIST_URL, {"kind": "village"})
        assert listed(response) == [unit_a.code]

    def test_it_ignores_an_unknown_kind(self, client, county_staff, unit_a, unit_b):
        client.force_login(county_staff)
        response = client.get(LIST_URL, {"kind": "hamlet"})
        assert len(listed(response)) == 2

    def test_it_searches_names(self, client, county_staff, unit_a, unit_b):
        client.force_login(county_staff)
        response = client.get(LIST_URL, {"q": "东街"})
        assert listed(response) == [unit_a.code]

    def test_it_searches_code_prefixes(self, client, county_staff, unit_a, unit_b):
        client.force_login(county_staff)
        response = client.get(LIST_URL, {"q": " 410527101 "})
        assert listed(response) == [unit_b.code]

    def test_it_counts_held_flags(self, client, county_staff, unit_a):
        campaign = factories.CampaignFactory()
        for dimension in factories.DimensionFactory.create_batch(3, campaign=campaign):
            factories.HoldingFactory(unit=unit_a, dimension=dimension)
        client.force_login(county_staff)
        response = client.get(LIST_URL)
        assert [unit.level_count for unit in response.context["page"]] == [3]

    def test_it_pages_long_lists(self, client, county_staff, township_a):
        factories.UnitFactory.create_batch(51, township=township_a)
        client.force_login(county_staff)
        response = client.get(LIST_URL)
        assert len(listed(response)) == 50
        response = client.get(LIST_URL, {"page": 2})
        assert len(listed(response)) == 1

    def test_it_costs_the_same_queries_for_1_and_30_units(
        self, client, django_assert_num_queries, county_staff, township_a, township_b
    ):
        campaign = factories.CampaignFactory()
        dimension = factories.DimensionFactory(campaign=campaign)
        unit = factories.UnitFactory(township=township_a)
        factories.HoldingFactory(unit=unit, dimension=dimension)
        client.force_login(county_staff)

        # session, user, the user's region (scope), townships, page count, page rows, the
        # menu's campaigns
        with django_assert_num_queries(7):
            response = client.get(LIST_URL)
        assert len(listed(response)) == 1

        for township in (township_a, township_b):
            for unit in factories.UnitFactory.create_batch(15, township=township):
                factories.HoldingFactory(unit=unit, dimension=dimension)
        with django_assert_num_queries(7):
            response = client.get(LIST_URL)
        assert len(listed(response)) == 31


class TestUnitDetail:
    def test_it_sends_anonymous_to_login(self, client, unit_a):
        response = client.get(detail_url(unit_a))
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/?next=")

    @pytest.mark.parametrize(
        "role", ["county_staff", "leader", "department", "township_official", "village_secretary"]
    )
    def test_it_shows_a_unit_in_scope(self, client, users, unit_a, role):
        client.force_login(users[role])
        response = client.get(detail_url(unit_a))
        assert response.status_code == 200
        assert response.context["unit"] == unit_a
        content = response.content.decode()
        assert unit_a.name in content
        assert unit_a.code in content
        assert "城关镇" in content

    def test_it_hides_another_townships_unit(self, client, township_official, unit_b):
        client.force_login(township_official)
        assert client.get(detail_url(unit_b)).status_code == 404

    def test_it_hides_the_stranger_from_township_a(self, client, stranger, unit_a):
        client.force_login(stranger)
        assert client.get(detail_url(unit_a)).status_code == 404

    def test_it_hides_the_neighbour_from_a_secretary(self, client, village_secretary):
        neighbour = factories.UnitFactory(township=village_secretary.unit.township)
        client.force_login(village_secretary)
        assert client.get(detail_url(neighbour)).status_code == 404

    def test_it_hides_every_unit_from_a_user_without_role(self, client, no_role_user, unit_a):
        client.force_login(no_role_user)
        assert client.get(detail_url(unit_a)).status_code == 404

    def test_it_is_404_for_a_missing_unit(self, client, superuser):
        client.force_login(superuser)
        assert client.get(reverse("villages:unit_detail", args=[999999])).status_code == 404

    def test_it_shows_holdings_and_assessments(self, client, township_official, unit_a):
        campaign = factories.CampaignFactory(name="内黄县五星支部创建")
        held = factories.DimensionFactory(campaign=campaign, name="产业兴旺")
        factories.DimensionFactory(campaign=campaign, name="生态宜居")
        factories.HoldingFactory(unit=unit_a, dimension=held)
        period = factories.PeriodFactory(campaign=campaign, label="2026Q2")
        factories.AssessmentFactory(unit=unit_a, period=period, stage=Stage.TOWNSHIP)
        client.force_login(township_official)
        response = client.get(detail_url(unit_a))
        [shown] = response.context["campaigns"]
        assert shown.held_dimensions == [held]
        content = response.content.decode()
        assert "产业兴旺" in content
        assert "生态宜居" not in content
        assert "2026Q2" in content
        assert [a.period for a in response.context["assessments"]] == [period]

    @pytest.mark.parametrize("viewer", ["superuser", "city_staff"])
    def test_it_lists_only_campaigns_covering_the_unit(self, client, users, unit_a, viewer):
        county = unit_a.township.parent
        city = county.parent
        other_county = factories.CountyFactory(code="410526000000", name="滑县", parent=city)
        covering = {
            factories.CampaignFactory(region=county, name="内黄县红旗"),
            factories.CampaignFactory(region=city, name="安阳市红旗"),
        }
        factories.CampaignFactory(region=other_county, name="滑县红旗")
        user = users.get(viewer) or factories.CountyStaffFactory(region=city)
        client.force_login(user)
        response = client.get(detail_url(unit_a))
        assert set(response.context["campaigns"]) == covering
        assert "滑县红旗" not in response.content.decode()

    def test_it_costs_the_same_queries_for_few_and_many_rows(
        self, client, django_assert_num_queries, township_official, unit_a
    ):
        def add_campaign():
            campaign = factories.CampaignFactory()
            for dimension in factories.DimensionFactory.create_batch(2, campaign=campaign):
                factories.HoldingFactory(unit=unit_a, dimension=dimension)
            for label in ("2026Q1", "2026Q2"):
                period = factories.PeriodFactory(campaign=campaign, label=label)
                factories.AssessmentFactory(unit=unit_a, period=period)

        add_campaign()
        client.force_login(township_official)
        # session, user, the user's region (scope), unit, campaigns, holdings, holding changes,
        # unit targets, assessments, their totals per stage (dimensions, maxima, score sums),
        # rectification items (the menu uses the campaigns read)
        with django_assert_num_queries(13):
            assert client.get(detail_url(unit_a)).status_code == 200

        for _ in range(4):
            add_campaign()
        with django_assert_num_queries(13):
            response = client.get(detail_url(unit_a))
        assert len(response.context["campaigns"]) == 5
        assert len(response.context["assessments"]) == 10
