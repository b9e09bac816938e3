"""A lead department's page (issue 12, item 8): its own indicators across every unit of a
period, with n/m progress, and one indicator's units entered inline at the county stage."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from scoring.models import ChangeSource, Score, ScoreChange, ScoreStage, Stage
from tests import factories
from tests.scenarios import many_units, other_county_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def led(catalogue, department):
    """The department leads 1.3 (the catalogue's) and 2.1; another department leads 1.2."""
    other = factories.DepartmentFactory(region=department.region, name="水利局")
    catalogue.shared_points[1].lead_department = other
    catalogue.shared_points[1].save(update_fields=["lead_department"])
    catalogue.village_points[0].lead_department = department
    catalogue.village_points[0].save(update_fields=["lead_department"])
    return catalogue.lead, catalogue.village_points[0]


@pytest.fixture
def at_county(period, unit_a, unit_b):
    return [
        factories.AssessmentFactory(period=period, unit=unit, stage=Stage.COUNTY)
        for unit in (unit_a, unit_b)
    ]


def url(period, indicator=None):
    address = reverse("scoring:department_indicators", args=[period.campaign.slug, period.label])
    return address + (f"?indicator={indicator.id}" if indicator else "")


def row_data(indicator, assessment, value, note="", version=0):
    prefix = f"a{assessment.id}"
    return {
        "indicator": str(indicator.id),
        f"{prefix}-value": value,
        f"{prefix}-note": note,
        f"{prefix}-version": str(version),
    }


def county_score(assessment, indicator, value, note="") -> Score:
    return Score.objects.create(
        assessment=assessment,
        indicator=indicator,
        stage=ScoreStage.COUNTY,
        value=Decimal(value),
        note=note,
        version=1,
    )


# --- access ---------------------------------------------------------------------------------


def test_a_lead_department_opens_its_page(client, department_user, period, led):
    client.force_login(department_user)
    assert client.get(url(period)).status_code == 200


@pytest.mark.parametrize(
    "role", ["county_staff", "leader", "township_official", "village_secretary"]
)
def test_other_roles_are_refused(client, users, period, led, role):
    client.force_login(users[role])
    assert client.get(url(period)).status_code == 403
    assert client.post(url(period), {}).status_code == 403


def test_another_countys_period_is_not_found(client, department_user, led):
    campaign = other_county_campaign()
    other = factories.PeriodFactory(campaign=campaign, label="2026Q3")
    client.force_login(department_user)
    assert client.get(url(other)).status_code == 404


def test_the_menu_links_the_page_for_departments_only(
    client, department_user, county_staff, period, led
):
    slug = period.campaign.slug
    client.force_login(department_user)
    response = client.get(reverse("scoring:department_current", args=[slug]))
    assert response.status_code == 302
    assert response["Location"] == url(period)
    client.force_login(county_staff)
    assert client.get(reverse("scoring:department_current", args=[slug])).status_code == 403


# --- the list -------------------------------------------------------------------------------


def test_only_the_departments_own_indicators_are_listed(
    client, department_user, period, led, at_county
):
    client.force_login(department_user)
    sheet = client.get(url(period)).context["sheet"]
    assert [item.indicator.code for item in sheet.indicators] == ["1.3", "2.1"]
    assert sheet.chosen == led[0]  # the first by default


def test_progress_counts_units_scored_per_indicator(
    client, department_user, period, led, at_county, township_a
):
    community = factories.UnitFactory(township=township_a, name="城北社区", kind="community")
    factories.AssessmentFactory(period=period, unit=community, stage=Stage.TOWNSHIP)
    county_score(at_county[0], led[0], "30")
    Score.objects.create(
        assessment=at_county[1], indicator=led[1], stage=ScoreStage.COUNTY, note="只有备注"
    )
    client.force_login(department_user)
    response = client.get(url(period))
    counts = {i.indicator.code: (i.scored, i.total) for i in response.context["sheet"].indicators}
    # 1.3 applies to the community too; 2.1 to villages only; a note alone is not a score.
    assert counts == {"1.3": (1, 3), "2.1": (0, 2)}
    assert "1/3" in response.content.decode()


def test_the_chosen_indicator_lists_every_unit_with_its_township(
    client, department_user, period, led, at_county
):
    county_score(at_county[1], led[1], "50", "扣分")
    client.force_login(department_user)
    response = client.get(url(period, led[1]))
    sheet = response.context["sheet"]
    assert sheet.chosen == led[1]
    assert [row.assessment for row in sheet.rows] == sorted(at_county, key=lambda a: a.unit.code)
    html = response.content.decode()
    for assessment in at_county:
        assert assessment.unit.code in html and assessment.unit.township.name in html
    assert 'value="50"' in html and "扣分" in html


def test_an_indicator_of_another_department_is_not_shown(
    client, department_user, period, led, catalogue
):
    client.force_login(department_user)
    sheet = client.get(url(period, catalogue.shared_points[1])).context["sheet"]
    assert sheet.chosen == led[0]


# --- saving ---------------------------------------------------------------------------------


def test_save_all_writes_the_scores_audited(client, department_user, period, led, at_county):
    a, b = at_county
    data = {**row_data(led[0], a, "30"), **row_data(led[0], b, "25", "台账缺两页")}
    client.force_login(department_user)
    response = client.post(url(period), data)
    assert response.status_code == 302
    assert f"indicator={led[0].id}" in response["Location"]
    scores = Score.objects.filter(stage=ScoreStage.COUNTY, indicator=led[0])
    assert {(s.assessment_id, s.value) for s in scores} == {(a.id, 30), (b.id, 25)}
    changes = ScoreChange.objects.filter(indicator=led[0], stage=ScoreStage.COUNTY)
    assert changes.count() == 2
    assert {(c.changed_by, c.source) for c in changes} == {(department_user, ChangeSource.WEB)}


def test_an_invalid_value_keeps_what_was_typed_and_shows_the_error_at_its_row(
    client, department_user, period, led, at_county
):
    a, b = at_county
    data = {**row_data(led[0], a, "3x"), **row_data(led[0], b, "25")}  # b: no note
    client.force_login(department_user)
    response = client.post(url(period), data)
    assert response.status_code == 200
    html = response.content.decode()
    row_a = html.split(f'id="unit-{a.id}"')[1].split("</tr>")[0]
    row_b = html.split(f'id="unit-{b.id}"')[1].split("</tr>")[0]
    assert 'value="3x"' in row_a and "row-error" in row_a
    assert 'value="25"' in row_b and "row-error" in row_b
    assert not Score.objects.filter(stage=ScoreStage.COUNTY).exists()
    assert not ScoreChange.objects.exists()


def test_a_stale_edit_is_refused(client, department_user, period, led, at_county):
    a, _b = at_county
    county_score(a, led[0], "20", "别人先改了")
    client.force_login(department_user)
    response = client.post(url(period), row_data(led[0], a, "30", version=0))
    assert response.status_code == 200
    assert Score.objects.get(assessment=a, indicator=led[0]).value == 20
    assert not ScoreChange.objects.exists()
    row = response.content.decode().split(f'id="unit-{a.id}"')[1].split("</tr>")[0]
    assert 'value="30"' in row and "stale-current" in row


def test_assessments_not_at_the_county_stage_are_read_only(
    client, department_user, period, led, unit_a, unit_b
):
    township = factories.AssessmentFactory(period=period, unit=unit_a, stage=Stage.TOWNSHIP)
    factories.AssessmentFactory(period=period, unit=unit_b, stage=Stage.COUNTY)
    client.force_login(department_user)
    response = client.get(url(period))
    rows = {row.assessment.id: row.editable for row in response.context["sheet"].rows}
    assert rows[township.id] is False
    html = response.content.decode()
    row = html.split(f'id="unit-{township.id}"')[1].split("</tr>")[0]
    assert "stage-badge" in row and f'name="a{township.id}-value"' not in row
    client.post(url(period), row_data(led[0], township, "30"))
    assert not Score.objects.filter(stage=ScoreStage.COUNTY).exists()


def test_a_closed_period_is_read_only(client, department_user, period, led, at_county):
    period.status = "closed"
    period.save(update_fields=["status"])
    client.force_login(department_user)
    response = client.get(url(period))
    assert not response.context["editable"]
    client.post(url(period), row_data(led[0], at_county[0], "30"))
    assert not Score.objects.filter(stage=ScoreStage.COUNTY).exists()


# --- queries --------------------------------------------------------------------------------

# session, user, period; the scope's place; department_sheet's five reads
PAGE_QUERIES = 9
# session, user, period, the scope's place, department_sheet's five; scores_save's fixed writes
SAVE_QUERIES = 19


@pytest.mark.parametrize("units", [1, 12])
def test_the_page_reads_a_fixed_number_of_queries(
    client, department_user, period, led, township_a, units, django_assert_num_queries
):
    for unit in many_units(township_a, units):
        assessment = factories.AssessmentFactory(period=period, unit=unit, stage=Stage.COUNTY)
        county_score(assessment, led[0], "30")
    client.force_login(department_user)
    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get(url(period))
    assert len(response.context["sheet"].rows) == units


@pytest.mark.parametrize("units", [1, 12])
def test_save_all_takes_a_fixed_number_of_queries(
    client, department_user, period, led, township_a, units, django_assert_num_queries
):
    data = {}
    for unit in many_units(township_a, units):
        assessment = factories.AssessmentFactory(period=period, unit=unit, stage=Stage.COUNTY)
        county_score(assessment, led[0], "30")
        data.update(row_data(led[0], assessment, "28", "扣两分", version=1))
    client.force_login(department_user)
    with django_assert_num_queries(SAVE_QUERIES):
        response = client.post(url(period), data)
    assert response.status_code == 302
    assert ScoreChange.objects.count() == units
