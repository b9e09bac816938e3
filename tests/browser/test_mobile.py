"""A township official on a phone (390×844): the work list and score entry fit the screen and a
row can be saved."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from scoring.models import Score, ScoreStage, Stage
from tests.browser.conftest import PHONE
from tests.browser.helpers import no_horizontal_scroll, note, points, row, zh

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH = PHONE["viewport"]["width"]


def test_township_scores_a_row_on_a_phone(world, journey):
    world.advance("东街村", Stage.TOWNSHIP)
    world.advance("南关村", Stage.TOWNSHIP)
    page = journey.login("chengguan", **PHONE)
    no_horizontal_scroll(page, WIDTH)

    page.locator(".campaign-card a", has_text=zh("Work list")).click()
    expect(page.locator("#work-list tr[data-unit]")).to_have_count(4)
    no_horizontal_scroll(page, WIDTH)

    page.locator("#work-list a", has_text="东街村").tap()
    expect(page.locator("#current-stage")).to_have_text(zh(Stage.TOWNSHIP.label))
    no_horizontal_scroll(page, WIDTH)

    ind = world.indicators["2.2"]
    points(page, ind).tap()
    points(page, ind).fill("34")
    save = row(page, ind).locator(".save-row")
    save.scroll_into_view_if_needed()
    save.tap()  # a deduction without a note: the row comes back marked, the 34 kept
    expect(note(page, ind)).to_contain_class("is-invalid")
    expect(row(page, ind).locator(".invalid-feedback")).to_contain_text(
        zh("Say why points were deducted.")
    )
    expect(points(page, ind)).to_have_value("34")
    no_horizontal_scroll(page, WIDTH)
    note(page, ind).fill("特色产业带动农户数偏少")
    row(page, ind).locator(".save-row").tap()
    expect(row(page, ind).locator(".saved-notice")).to_be_visible()
    expect(points(page, ind)).to_have_value("34")
    no_horizontal_scroll(page, WIDTH)
    score = Score.objects.get(
        indicator=ind, stage=ScoreStage.TOWNSHIP, assessment__unit__name="东街村"
    )
    assert (score.value, score.note) == (34, "特色产业带动农户数偏少")
    row(page, ind).scroll_into_view_if_needed()
    journey.finish(page)
