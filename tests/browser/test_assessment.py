"""Score entry in the browser: the village self-assessment, the township's initial assessment
with a validation error fixed in place, and a return to the village with a reason."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from scoring.models import AssessmentEvent, Score, ScoreStage, Stage
from tests.browser.helpers import note, points, row, veto, zh

pytestmark = pytest.mark.django_db(transaction=True)


def test_village_secretary_self_assesses_and_submits(world, journey):
    ind, dims = world.indicators, world.dimensions
    page = journey.login(world.secretary_of("东街村"))
    expect(page.locator("#work-due")).to_contain_text("东街村")
    page.locator("#work-due a", has_text="东街村").click()
    expect(page.locator("#current-stage")).to_have_text(zh(Stage.SELF.label))

    # One row saved on its own (htmx): the row comes back saved and the dimension total moves.
    points(page, ind["1.1"]).fill("36")
    note(page, ind["1.1"]).fill("组织生活会记录缺两次")
    row(page, ind["1.1"]).locator(".save-row").click()
    expect(row(page, ind["1.1"]).locator(".saved-notice")).to_be_visible()
    expect(points(page, ind["1.1"])).to_have_value("36")
    expect(page.locator(f"#dim-total-{dims['zhibu'].id}")).to_contain_text("36.00 / 100")
    assert Score.objects.filter(stage=ScoreStage.SELF).count() == 1

    # The rest typed in, then saved together.
    points(page, ind["1.2"]).fill("30")
    points(page, ind["1.3"]).fill("28")
    note(page, ind["1.3"]).fill("两名流动党员未按时参加学习")
    veto(page, ind["1.4"]).select_option("no")
    points(page, ind["1.5"]).fill("2")
    points(page, ind["2.1"]).fill("60")
    points(page, ind["2.2"]).fill("40")
    veto(page, ind["2.3"]).select_option("no")
    points(page, ind["3.1"]).fill("50")
    points(page, ind["3.2"]).fill("45")
    note(page, ind["3.2"]).fill("普法讲座少一次")
    # Live total as typed: (36 + 30 + 28) + bonus 2 = 96.
    expect(page.locator(f"#dim-live-{dims['zhibu'].id}")).to_have_text("96.00")
    page.locator("#save-all").click()
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator(f"#dim-total-{dims['zhibu'].id}")).to_contain_text("96.00 / 100")
    expect(page.locator(f"#dim-total-{dims['pingan'].id}")).to_contain_text("95.00 / 100")
    expect(points(page, ind["1.3"])).to_have_value("28")
    expect(note(page, ind["3.2"])).to_have_value("普法讲座少一次")
    assert Score.objects.filter(stage=ScoreStage.SELF).count() == len(world.applicable("东街村"))

    page.locator("#submit-btn").click()
    expect(page.locator("#current-stage")).to_have_text(zh(Stage.TOWNSHIP.label))
    expect(page.locator(".alert-success")).to_contain_text("东街村")
    assert AssessmentEvent.objects.filter(
        assessment=world.assessment("东街村"), from_stage=Stage.SELF, to_stage=Stage.TOWNSHIP
    ).exists()
    journey.finish(page)


def test_township_official_fixes_errors_in_place_submits_and_returns_another(world, journey):
    ind = world.indicators
    world.advance("东街村", Stage.TOWNSHIP)
    world.advance("南关村", Stage.TOWNSHIP)
    page = journey.login("chengguan")
    page.locator(".campaign-card a", has_text=zh("Work list")).click()
    work_list = page.locator("#work-list")
    expect(work_list.locator("tr[data-unit]")).to_have_count(4)  # 城关镇 only
    expect(work_list).not_to_contain_text("东庄村")
    work_list.locator("a", has_text="东街村").click()
    expect(page.locator("#current-stage")).to_have_text(zh(Stage.TOWNSHIP.label))

    # Carried over from the village: full marks. Three changes, two of them wrong.
    carried = _township_scores(world)
    points(page, ind["1.1"]).fill("三十六")
    note(page, ind["1.1"]).fill("组织生活会记录缺两次")
    points(page, ind["1.2"]).fill("25")  # a deduction without a note
    points(page, ind["2.1"]).fill("55")
    note(page, ind["2.1"]).fill("集体经济收入未达年度目标")
    page.locator("#save-all").click()

    expect(page.locator(".alert-danger")).to_be_visible()
    expect(points(page, ind["1.1"])).to_contain_class("is-invalid")
    expect(row(page, ind["1.1"]).locator(".invalid-feedback")).to_contain_text(
        zh("Enter a number, e.g. 7 or 6.5.")
    )
    expect(note(page, ind["1.2"])).to_contain_class("is-invalid")
    expect(row(page, ind["1.2"]).locator(".invalid-feedback")).to_contain_text(
        zh("Say why points were deducted.")
    )
    # Nothing was lost: what was typed is still in the boxes.
    expect(points(page, ind["1.1"])).to_have_value("三十六")
    expect(note(page, ind["1.1"])).to_have_value("组织生活会记录缺两次")
    expect(points(page, ind["1.2"])).to_have_value("25")
    expect(points(page, ind["2.1"])).to_have_value("55")
    expect(note(page, ind["2.1"])).to_have_value("集体经济收入未达年度目标")
    assert _township_scores(world) == carried, "nothing may be saved while a row is invalid"

    # Fix only the two wrong boxes.
    points(page, ind["1.1"]).fill("36")
    note(page, ind["1.2"]).fill("“三会一课”记录不全")
    page.locator("#save-all").click()
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator(".is-invalid")).to_have_count(0)
    expect(points(page, ind["1.1"])).to_have_value("36")
    expect(points(page, ind["1.2"])).to_have_value("25")
    expect(points(page, ind["2.1"])).to_have_value("55")
    expect(row(page, ind["1.1"]).locator(".previous-value")).to_have_text("40.00")

    page.locator("#submit-btn").click()
    expect(page.locator("#current-stage")).to_have_text(zh(Stage.COUNTY.label))

    # Another unit goes back to its village, with a reason.
    page.goto(f"/scoring/assessments/{world.assessment('南关村').pk}/")
    expect(page.locator("#current-stage")).to_have_text(zh(Stage.TOWNSHIP.label))
    page.locator("#return-btn").click()  # no reason given: refused, nothing moves
    expect(page.locator("#return-form .invalid-feedback")).to_have_text(
        zh("Give a reason for returning it.")
    )
    expect(page.locator("#current-stage")).to_have_text(zh(Stage.TOWNSHIP.label))
    reason = "“三会一课”自评满分与台账记录不符，请核实后重新自评"
    page.locator("#return-form textarea").fill(reason)
    page.locator("#return-btn").click()
    expect(page.locator("#current-stage")).to_have_text(zh(Stage.SELF.label))
    expect(page.locator("#returned-notice")).to_contain_text(reason)

    village = journey.login(world.secretary_of("南关村"))
    expect(village.locator("#returned-notices")).to_contain_text("南关村")
    expect(village.locator("#returned-notices")).to_contain_text(reason)
    journey.finish(village)


def _township_scores(world) -> set[tuple]:
    return set(
        Score.objects.filter(
            assessment=world.assessment("东街村"), stage=ScoreStage.TOWNSHIP
        ).values_list("indicator_id", "value", "note", "version")
    )
