"""Unit targets (荐旗): the township recommends each unit's level, the county decides it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.models import UnitTarget
from campaigns.services import unit_targets_set
from tests import factories
from villages.errors import Refused

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(county):
    campaign = factories.CampaignFactory(region=county, slug="jianqi")
    factories.DimensionFactory.create_batch(5, campaign=campaign)
    return campaign


def url(campaign):
    return reverse("scoring:unit_targets", args=[campaign.slug])


def test_it_lets_the_township_recommend_for_its_own_units(
    client, campaign, township_official, unit_a, unit_b
):
    client.force_login(township_official)
    page = client.get(url(campaign)).content.decode()
    assert unit_a.name in page and unit_b.name not in page
    response = client.post(url(campaign), {f"level-{unit_a.pk}": "4", f"level-{unit_b.pk}": "5"})
    assert response.status_code == 302
    target = UnitTarget.objects.get()
    assert (target.unit, target.recommended_level, target.recommended_by) == (
        unit_a,
        4,
        township_official,
    )
    assert target.decided_level is None


def test_it_lets_the_county_decide(client, campaign, county_staff, unit_a, unit_b):
    client.force_login(county_staff)
    response = client.post(url(campaign), {f"level-{unit_a.pk}": "3", f"level-{unit_b.pk}": ""})
    assert response.status_code == 302
    target = UnitTarget.objects.get(unit=unit_a)
    assert (target.decided_level, target.decided_by) == (3, county_staff)
    assert target.recommended_level is None


def test_it_refuses_a_leader_and_changes_nothing(client, campaign, leader, unit_a):
    client.force_login(leader)
    assert client.get(url(campaign)).status_code == 200
    assert client.post(url(campaign), {f"level-{unit_a.pk}": "3"}).status_code == 403
    assert not UnitTarget.objects.exists()


def test_it_refuses_levels_out_of_range_or_not_numbers(client, campaign, county_staff, unit_a):
    client.force_login(county_staff)
    for raw in ("6", "abc", "-1"):
        response = client.post(url(campaign), {f"level-{unit_a.pk}": raw})
        assert response.status_code == 200
    assert not UnitTarget.objects.exists()


def test_the_service_refuses_units_outside_the_scope(campaign, township_official, unit_b):
    with pytest.raises(Refused):
        unit_targets_set(
            user=township_official, campaign=campaign, levels={unit_b.pk: 3}, field="recommended"
        )
    assert not UnitTarget.objects.exists()


def test_another_county_campaign_is_404(client, township_official):
    other = factories.CampaignFactory(region=factories.CountyFactory(code="410526000000"))
    client.force_login(township_official)
    assert client.get(url(other)).status_code == 404


def test_it_costs_the_same_queries_for_few_and_many_units(
    client, django_assert_num_queries, campaign, county_staff, township_a
):
    client.force_login(county_staff)
    factories.UnitFactory(township=township_a)
    client.get(url(campaign))
    with django_assert_num_queries(10) as few:
        client.get(url(campaign))
    factories.UnitFactory.create_batch(20, township=township_a)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url(campaign))
