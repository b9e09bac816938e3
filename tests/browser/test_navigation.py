"""Finding one's way on a phone (390×844): the collapsed menu reaches the pages a role may
use, and the dashboard's period picker says how complete each period is (issue 12)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from scoring.models import Stage
from tests.browser.conftest import PHONE
from tests.browser.helpers import no_horizontal_scroll, zh

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH = PHONE["viewport"]["width"]


def test_the_phone_menu_opens_and_reaches_the_dashboard(world, journey):
    page = journey.login("lingdao", **PHONE)
    menu = page.locator("#main-menu")
    dashboard = menu.locator("[data-menu=dashboard]")
    expect(dashboard).to_be_hidden()  # collapsed behind the toggler
    page.locator(".navbar-toggler").tap()
    expect(dashboard).to_be_visible()
    for key in ("work", "rectification", "adjustments", "targets", "ranking", "reports"):
        expect(menu.locator(f"[data-menu={key}]")).to_be_visible()
    expect(menu.locator("[data-menu=setup]")).to_have_count(0)
    no_horizontal_scroll(page, WIDTH)
    dashboard.tap()
    expect(page.locator("h1")).to_contain_text(zh("Dashboard"))
    no_horizontal_scroll(page, WIDTH)
    journey.finish(page)


def test_a_village_secretary_menu_has_no_county_pages(world, journey):
    page = journey.login(world.secretary_of("东街村"), **PHONE)
    page.locator(".navbar-toggler").tap()
    menu = page.locator("#main-menu")
    expect(menu.locator("[data-menu=work]")).to_be_visible()
    for key in ("dashboard", "adjustments", "reports", "setup"):
        expect(menu.locator(f"[data-menu={key}]")).to_have_count(0)
    menu.locator("[data-menu=work]").tap()
    expect(page.locator("#work-list")).to_be_visible()
    journey.finish(page)


def test_the_period_picker_shows_how_complete_a_period_is(world, journey):
    world.advance("东街村", Stage.FINAL)
    page = journey.login("lingdao", **PHONE)
    page.goto(f"/scoring/campaigns/{world.campaign.slug}/dashboard/")
    total = len(world.units)
    # Nothing is complete: the latest period with a final assessment, said to be partial.
    expect(page.locator("#period-completion")).to_have_text(f"1 / {total} 已定评")
    expect(page.locator("#period-partial")).to_be_visible()
    expect(page.locator(".partial-badge").first).to_be_visible()
    page.locator("#period-select").select_option("2026Q3")
    page.wait_for_url("**period=2026Q3")
    expect(page.locator("#period-completion")).to_have_text("0 / 0 已定评")
    no_horizontal_scroll(page, WIDTH)
    journey.finish(page)
