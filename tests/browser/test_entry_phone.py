"""Score entry on a phone (390×844), issue 12 "Frontline trust": typed rows are never lost on
submit (saved first, or refused by name), leaving with unsaved rows asks first, one collapsible
section per dimension with its live total and n/m scored, a jump to the first error, 44 px tap
targets, saving without htmx; and a township passing a silent village on (代村提交)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from scoring.models import AssessmentEvent, AssessmentEventKind, Score, ScoreStage, Stage
from tests.browser.conftest import PHONE
from tests.browser.helpers import no_horizontal_scroll, note, points, row, veto, zh

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH = PHONE["viewport"]["width"]
TAP = 44


def boxes_too_small(page: Page, selector: str) -> list[str]:
    """Visible elements matching `selector` smaller than a thumb (44 × 44 px)."""
    return page.evaluate(
        """([selector, tap]) => Array.from(document.querySelectorAll(selector))
            .filter(e => e.offsetParent !== null)
            .map(e => [e, e.getBoundingClientRect()])
            .filter(([e, r]) => r.height < tap || r.width < tap)
            .map(([e, r]) => (e.id || e.name || e.className) + ' ' + Math.round(r.width)
                 + 'x' + Math.round(r.height))""",
        [selector, TAP],
    )


def links_next_to(page: Page, selector: str, gap: int = 8) -> list[str]:
    """Links closer than `gap` px to a visible element matching `selector` (a mis-tap away)."""
    return page.evaluate(
        """([selector, gap]) => {
            const near = (a, b) => !(a.right + gap <= b.left || b.right + gap <= a.left
                                   || a.bottom + gap <= b.top || b.bottom + gap <= a.top);
            const links = Array.from(document.querySelectorAll('a'))
                .filter(a => a.offsetParent !== null);
            const found = [];
            for (const el of document.querySelectorAll(selector)) {
                if (el.offsetParent === null) continue;
                const r = el.getBoundingClientRect();
                for (const a of links) {
                    if (near(r, a.getBoundingClientRect())) {
                        found.push((el.id || el.className) + ' ~ ' + a.textContent.trim());
                    }
                }
            }
            return found;
        }""",
        [selector, gap],
    )


def fill_all(page: Page, ind) -> None:
    """Every row of 东街村's sheet typed in (nothing saved): three deductions with notes."""
    points(page, ind["1.1"]).fill("36")
    note(page, ind["1.1"]).fill("组织生活会记录缺两次")
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


def test_village_submits_typed_rows_on_a_phone(world, journey):
    ind, dims = world.indicators, world.dimensions
    assessment = world.assessment("东街村")
    page = journey.login(world.secretary_of("东街村"), **PHONE)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.type))
    page.goto(f"/scoring/assessments/{assessment.pk}/")
    expect(page.locator("#current-stage")).to_have_text(zh(Stage.SELF.label))
    no_horizontal_scroll(page, WIDTH)

    # One collapsible section per dimension, its header counting what is scored.
    zhibu = page.locator(f"#dim-{dims['zhibu'].id}")
    expect(page.locator("details.dimension")).to_have_count(len(dims))
    expect(page.locator(f"#dim-count-{dims['zhibu'].id}")).to_have_text("0/5")
    zhibu.locator("summary.dimension-header").tap()
    expect(points(page, ind["1.1"])).to_be_hidden()
    zhibu.locator("summary.dimension-header").tap()
    expect(points(page, ind["1.1"])).to_be_visible()

    # Thumb-sized boxes and buttons; no link a mis-tap away from a save button.
    assert not boxes_too_small(
        page,
        "#entry-form input.score-input, #entry-form select, #entry-form textarea, "
        "#entry-form button, #submit-btn, details.dimension > summary, .entry-row summary",
    )
    assert not links_next_to(page, ".save-row, #save-all, #submit-btn")

    # Leaving with a typed row asks first.
    points(page, ind["1.1"]).tap()
    points(page, ind["1.1"]).press_sequentially("36")
    expect(page.locator(f"#dim-count-{dims['zhibu'].id}")).to_have_text("1/5")
    expect(page.locator("#unsaved-count")).not_to_be_empty()
    page.locator(".breadcrumb a").first.tap()  # the journey's handler says yes: the page goes
    page.wait_for_url("**/campaigns/**")
    assert "beforeunload" in dialogs
    assert not Score.objects.filter(assessment=assessment).exists()

    # Everything typed, one row wrong (a deduction without a note), then submit: refused by
    # name, nothing saved, nothing lost, the wrong row in view and focused.
    page.goto(f"/scoring/assessments/{assessment.pk}/")
    fill_all(page, ind)
    note(page, ind["3.2"]).fill("")
    dialogs.clear()
    page.locator("#submit-btn").tap()  # its confirm() is accepted by the journey
    expect(page.locator(".alert-danger")).to_contain_text(f"{ind['3.2'].code} {ind['3.2'].title}")
    assert "beforeunload" not in dialogs, "submitting the form must not ask about leaving"
    expect(page.locator("#current-stage")).to_have_text(zh(Stage.SELF.label))
    assert not Score.objects.filter(assessment=assessment).exists()
    expect(points(page, ind["2.1"])).to_have_value("60")
    expect(note(page, ind["3.2"])).to_be_focused()
    expect(note(page, ind["3.2"])).to_be_in_viewport()
    no_horizontal_scroll(page, WIDTH)

    # Fixed, and submitted again without pressing save: saved first, then submitted.
    note(page, ind["3.2"]).fill("普法讲座少一次")
    page.locator("#submit-btn").scroll_into_view_if_needed()
    page.locator("#submit-btn").tap()
    expect(page.locator("#current-stage")).to_have_text(zh(Stage.TOWNSHIP.label))
    assert "beforeunload" not in dialogs
    saved = Score.objects.filter(assessment=assessment, stage=ScoreStage.SELF)
    assert saved.count() == len(world.applicable("东街村"))
    assert saved.get(indicator=ind["3.2"]).note == "普法讲座少一次"
    journey.finish(page)


def test_save_all_jumps_to_the_first_error_and_rows_save_without_htmx(world, journey):
    ind = world.indicators
    assessment = world.assessment("南关村")
    page = journey.login(world.secretary_of("南关村"), **PHONE)
    # No htmx (a blocked script, an old in-app browser): a row's save posts the whole form.
    page.route(
        "**/htmx.min.js",
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=""),
    )
    page.goto(f"/scoring/assessments/{assessment.pk}/")

    points(page, ind["3.1"]).fill("五十")  # far down the page: the third dimension
    points(page, ind["1.2"]).fill("30")
    page.locator("#save-all").tap()
    expect(page.locator(".alert-danger")).to_be_visible()
    expect(points(page, ind["3.1"])).to_be_focused()
    expect(points(page, ind["3.1"])).to_be_in_viewport()
    assert not Score.objects.filter(assessment=assessment).exists()

    points(page, ind["3.1"]).fill("50")
    save = row(page, ind["3.1"]).locator(".save-row")
    save.scroll_into_view_if_needed()
    save.tap()
    expect(page.locator(".alert-success")).to_be_visible()
    values = dict(
        Score.objects.filter(assessment=assessment).values_list("indicator__code", "value")
    )
    assert values == {"3.1": 50, "1.2": 30}
    journey.finish(page)


def test_township_passes_a_silent_village_on(world, journey):
    period = world.period
    period.self_due = timezone.localdate() - dt.timedelta(days=3)
    period.save()
    world.advance("东街村", Stage.TOWNSHIP)  # 东街村 self-assessed; 南关村 and the rest did not
    page = journey.login(world.official_of("北关村"), **PHONE)
    page.goto(f"/scoring/campaigns/{world.campaign.slug}/{period.label}/")
    first = page.locator("#work-list tr[data-unit]").first
    expect(first.locator(".silent-badge")).to_have_text(zh("no self-assessment"))
    no_horizontal_scroll(page, WIDTH)
    silent = world.assessment("南关村")
    expect(first).to_contain_text("南关村")

    first.locator("a", has_text="南关村").tap()
    expect(page.locator("#current-stage")).to_have_text(zh(Stage.SELF.label))
    page.locator("#on-behalf-reason").fill("村书记外出培训，逾期未自评，乡镇代为提交")
    page.locator("#on-behalf-btn").scroll_into_view_if_needed()
    page.locator("#on-behalf-btn").tap()
    expect(page.locator("#current-stage")).to_have_text(zh(Stage.TOWNSHIP.label))
    event = AssessmentEvent.objects.get(assessment=silent)
    assert (event.kind, event.actor.username, event.reason) == (
        AssessmentEventKind.ON_BEHALF,
        world.official_of("北关村"),
        "村书记外出培训，逾期未自评，乡镇代为提交",
    )
    page.goto(f"/scoring/assessments/{silent.pk}/history/")
    expect(page.locator("body")).to_contain_text(zh("Submitted on the village's behalf"))
    journey.finish(page)
