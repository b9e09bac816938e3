"""List filters and htmx in the browser: choosing in a filter list sends the form at once and
paging keeps it; a row saved after the session expired takes the user to the login page and,
once logged in, back to the sheet (not the login form swapped into the row)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from scoring.models import Score, ScoreStage
from tests.browser.conftest import PHONE
from tests.browser.helpers import no_horizontal_scroll, note, points, row, zh
from tests.scenarios import BROWSER_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

DONGZHUANG = "410527101000"


def test_county_filters_units_by_choosing_on_a_phone(world, journey):
    page = journey.login(world.county_staff, **PHONE)
    page.goto("/units/")
    units = page.locator("table tbody tr")
    expect(units).to_have_count(6)
    no_horizontal_scroll(page, PHONE["viewport"]["width"])

    page.locator("#filters select[name=township]").select_option(DONGZHUANG)  # no button
    expect(page).to_have_url(re.compile(f"township={DONGZHUANG}"))
    expect(units).to_have_count(2)
    expect(page.locator("#filters select[name=township]")).to_have_value(DONGZHUANG)

    page.locator("#filters input[name=q]").fill("西庄")
    page.locator("#filters button").click()
    expect(units).to_have_count(1)
    expect(units.first).to_contain_text("西庄村")
    no_horizontal_scroll(page, PHONE["viewport"]["width"])
    journey.finish(page)


def test_sorting_and_ticking_send_the_work_list_filters_at_once(world, journey):
    page = journey.login(world.county_staff)
    page.goto(f"/scoring/campaigns/{world.campaign.slug}/{world.period.label}/")
    expect(page.locator("#work-list tr[data-unit]")).to_have_count(6)
    page.locator("#filters select[name=township]").select_option(DONGZHUANG)
    expect(page.locator("#work-list tr[data-unit]")).to_have_count(2)
    page.locator("#filters select[name=sort]").select_option("stage")
    expect(page).to_have_url(re.compile(f"township={DONGZHUANG}.*&sort=stage"))
    page.locator("#filters input[name=overdue]").check()
    expect(page).to_have_url(re.compile("overdue=1"))
    expect(page.locator("#filters input[name=overdue]")).to_be_checked()
    expect(page.locator("#filters select[name=sort]")).to_have_value("stage")
    expect(page.locator("#filters select[name=township]")).to_have_value(DONGZHUANG)
    journey.finish(page)


def test_a_row_saved_after_the_session_expired_goes_through_login_back_to_the_sheet(world, journey):
    ind = world.indicators["1.1"]
    page = journey.login(world.secretary_of("东街村"))
    page.locator("#work-due a", has_text="东街村").click()
    sheet = page.url
    points(page, ind).fill("36")
    note(page, ind).fill("组织生活会记录缺两次")

    page.context.clear_cookies(name="sessionid")  # the session expired meanwhile
    row(page, ind).locator(".save-row").click()

    expect(page.locator("#id_password")).to_be_visible()  # the whole page, not the row
    assert page.locator(f"#row-{ind.id}").count() == 0
    assert Score.objects.filter(stage=ScoreStage.SELF).count() == 0
    page.fill("#id_username", world.secretary_of("东街村"))
    page.fill("#id_password", BROWSER_PASSWORD)
    page.locator(".login-card button[type=submit]").click()
    expect(page).to_have_url(sheet)
    expect(page.locator(f"#row-{ind.id}")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("东街村")
    assert zh("Log in") not in page.locator("main").inner_text()
    journey.finish(page)
