"""The unit list's FilterSet (villages/filters.py) and the base every list's FilterSet builds on:
right rows per filter, unknown values ignored or refused without a 500, paging that keeps
every key of the address, and a cost that does not grow with the units."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests import factories
from villages.filters import UnitFilter
from villages.models import Region, Unit, UnitKind

pytestmark = pytest.mark.django_db

LIST_URL = reverse("villages:unit_list")
A, B = "410527100000", "410527101000"


@pytest.fixture
def units(unit_a, unit_b, township_a, township_b):
    """东街村 (A, village), 西庄村 (B, village), 南关社区 (A, community)."""
    return {
        "a": unit_a,
        "b": unit_b,
        "community": factories.UnitFactory(
            township=township_a, name="南关社区", kind=UnitKind.COMMUNITY
        ),
    }


def listed(response) -> set[str]:
    return {unit.name for unit in response.context["page"]}


class TestUnitFilter:
    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({}, {"a", "b", "community"}),
            ({"township": A}, {"a", "community"}),
            ({"township": B}, {"b"}),
            ({"kind": "community"}, {"community"}),
            ({"kind": "village", "township": A}, {"a"}),
            ({"q": "南关"}, {"community"}),
            ({"q": "  410527101"}, {"b"}),
            ({"q": "没有"}, set()),
            # unknown values: a kind is ignored, a township refused
            ({"kind": "hamlet"}, {"a", "b", "community"}),
            ({"township": "410526100000"}, set()),
            ({"township": "<script>"}, set()),
        ],
        ids=lambda v: "&".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else "",
    )
    def test_each_filter(self, client, county_staff, units, params, expected):
        client.force_login(county_staff)
        response = client.get(LIST_URL, params)
        assert response.status_code == 200
        assert listed(response) == {units[key].name for key in expected}

    def test_an_unknown_value_is_shown_as_an_error(self, client, county_staff, units):
        client.force_login(county_staff)
        response = client.get(LIST_URL, {"kind": "hamlet", "township": "x"})
        errors = response.context["filter"].form.errors
        assert set(errors) == {"kind", "township"}
        html = response.content.decode()
        assert html.count('class="invalid-feedback"') == 2
        assert 'class="form-select form-select-sm is-invalid"' in html

    def test_the_filterset_alone(self, county_staff, units):
        townships = Region.objects.townships().order_by("code")
        filters = UnitFilter({"township": A, "q": "东"}, Unit.objects.all(), townships=townships)
        assert [u.name for u in filters.qs] == [units["a"].name]
        # the townships offered are the ones given, in their order
        assert [value for value, _label in filters.form.fields["township"].choices] == ["", A, B]

    def test_a_township_official_has_no_township_list_and_no_other_township(
        self, client, township_official, units
    ):
        client.force_login(township_official)
        response = client.get(LIST_URL)
        assert 'name="township"' not in response.content.decode()
        assert listed(response) == {units["a"].name, units["community"].name}
        assert listed(client.get(LIST_URL, {"township": B})) == set()

    def test_the_form_keeps_what_was_asked(self, client, county_staff, units):
        client.force_login(county_staff)
        html = client.get(LIST_URL, {"township": B, "kind": "village", "q": "西"}).content.decode()
        assert f'<option value="{B}" selected>' in html
        assert '<option value="village" selected>' in html
        assert 'type="search" name="q" value="西"' in html

    def test_paging_keeps_repeated_keys(self, client, county_staff, township_a, township_b):
        factories.UnitFactory.create_batch(51, township=township_a)
        client.force_login(county_staff)
        response = client.get(LIST_URL, {"township": [B, A], "kind": "village"})
        assert len(response.context["page"]) == 50
        html = response.content.decode()
        assert f'href="?township={B}&amp;township={A}&amp;kind=village&amp;page=2"' in html
        second = client.get(LIST_URL, {"township": [B, A], "kind": "village", "page": 2})
        assert len(second.context["page"]) == 1
        assert f'href="?township={B}&amp;township={A}&amp;kind=village&amp;page=1"' in (
            second.content.decode()
        )

    @pytest.mark.parametrize("n", [1, 30])
    def test_a_filtered_list_costs_the_same(
        self, client, django_assert_num_queries, county_staff, township_a, n
    ):
        factories.UnitFactory.create_batch(n, township=township_a)
        client.force_login(county_staff)
        # session, user, the user's region (scope), townships, page count, page rows, the
        # menu's campaigns: the 7 of the unfiltered list
        with django_assert_num_queries(7):
            response = client.get(LIST_URL, {"township": A, "kind": "village", "q": "4105"})
        assert len(response.context["page"]) == n
