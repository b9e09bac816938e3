"""County decisions in the browser: finalise, adjust (调旗) with an override, and a
rectification item followed from creation to closed (销号) by township, village and county."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from scoring.models import HoldingChange, RectificationItem, RectificationStatus, Stage
from tests.browser.helpers import note, points, zh

pytestmark = pytest.mark.django_db(transaction=True)


def test_county_finalises_adjusts_with_an_override_and_the_unit_page_shows_it(world, journey):
    ind = world.indicators
    for name in ("东街村", "城北社区", "东庄村", "西庄村"):
        world.advance(name, Stage.FINAL)
    world.advance("南关村", Stage.FINAL, {Stage.COUNTY: {"vetoed": ("1.4",)}})
    world.advance("北关村", Stage.COUNTY)  # the last one, finalised in the browser

    page = journey.login(world.county_staff)
    beiguan = world.assessment("北关村")
    page.goto(f"/scoring/assessments/{beiguan.pk}/")
    expect(page.locator("#current-stage")).to_have_text(zh(Stage.COUNTY.label))
    points(page, ind["3.1"]).fill("38")
    note(page, ind["3.1"]).fill("两起邻里纠纷未按期化解")
    page.locator("#save-all").click()
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator(f"#dim-total-{world.dimensions['pingan'].id}")).to_contain_text("88.00")
    expect(page.locator("#submit-btn")).to_have_text(zh("Finalise"))
    page.locator("#submit-btn").click()
    expect(page.locator("#current-stage")).to_have_text(zh(Stage.FINAL.label))
    expect(page.locator("#locked-notice")).to_be_visible()
    expect(page.locator("#save-all")).to_have_count(0)

    # Propose for the whole county.
    page.goto(f"/scoring/campaigns/{world.campaign.slug}/{world.period.label}/adjustments/")
    page.locator("#propose-btn").click()
    expect(page.locator("#summary")).to_be_visible()
    expect(page.locator(".alert-success")).to_contain_text(
        zh("Proposed for %(u)d units: %(a)d awards, %(w)d withdrawals, %(k)d unchanged.")
        % {"u": 6, "a": 9, "w": 1, "k": 7}
    )
    proposals = page.locator("#proposals tbody tr")
    expect(proposals).to_have_count(10)  # the changes: nine awards, one withdrawal
    withdrawal = proposals.filter(has_text="南关村").filter(has_text="支部过硬")
    expect(withdrawal).to_contain_class("table-warning")

    # 北关村 scored 88 in 平安法治, below 90: the rules keep it without the star. The county
    # awards it anyway, with a reason.
    page.locator("select[name=action]").select_option("keep")
    page.locator("form[method=get] button").click()
    keep = proposals.filter(has_text="北关村").filter(has_text="平安法治")
    expect(keep).to_have_count(1)
    reason = "矛盾纠纷化解工作获市级通报表扬，经县委组织部研究破格授星"
    keep.locator(".override-form select").select_option("award")
    keep.locator(".override-form input[name=reason]").fill(reason)
    keep.locator(".override-form button").click()
    expect(keep.locator(".row-saved")).to_be_visible()  # recorded in place (htmx)
    page.goto(page.url.split("?")[0])  # back to the changes: now eleven
    expect(proposals).to_have_count(11)
    overridden = proposals.filter(has_text="北关村").filter(has_text="平安法治")
    expect(overridden).to_contain_class("table-success")
    expect(overridden.locator("input[name=reason]")).to_have_value(reason)

    page.locator("#confirm-all").click()
    expect(page.locator(".alert-success")).to_contain_text(
        zh("Confirmed: %(a)d awarded, %(w)d withdrawn, %(k)d unchanged.")
        % {"a": 10, "w": 1, "k": 6}
    )
    expect(page.locator("#confirm-all")).to_have_count(0)
    expect(page.locator(".override-form")).to_have_count(0)
    assert HoldingChange.objects.filter(period=world.period).count() == 11

    # The unit pages tell the story: 南关村 lost its star to the veto, 北关村 gained three.
    page.goto(f"/units/{world.units['南关村'].pk}/")
    withdrawn = page.locator(".timeline li.text-danger").filter(has_text="支部过硬")
    expect(withdrawn).to_contain_text(zh("A veto item was triggered."))
    page.goto(f"/units/{world.units['北关村'].pk}/")
    expect(page.locator(f"#level-{world.campaign.slug}")).to_have_text("3")
    award = page.locator(".timeline li").filter(has_text="平安法治")
    expect(award).to_have_count(1)
    expect(award).to_contain_text("2026Q4")
    expect(award).to_contain_text("88.00")
    expect(award).to_contain_text(reason)
    expect(award).to_contain_text("李明")  # who decided
    journey.finish(page)


def test_rectification_from_creation_to_closed(world, journey):
    deduction = "“三会一课”会议记录缺两次"
    world.advance(
        "东街村",
        Stage.FINAL,
        {Stage.COUNTY: {"points": {"1.2": "26"}, "notes": {"1.2": deduction}}},
    )
    item = RectificationItem.objects.get()  # opened by the finalisation
    assert item.indicator == world.indicators["1.2"]
    status = {s: zh(s.label) for s in RectificationStatus}
    ledger = f"/scoring/campaigns/{world.campaign.slug}/rectification/"

    township = journey.login("chengguan")
    township.goto(ledger)
    township.locator("#rect-items a", has_text="东街村").click()
    badge = township.locator("#rect-status")
    expect(badge).to_have_text(status[RectificationStatus.OPEN])
    expect(township.locator("dl")).to_contain_text(deduction)
    deadline = timezone.localdate() + dt.timedelta(days=30)
    township.fill("#f-assign-responsible_person", "刘建国")
    township.fill("#f-assign-measure", "补齐第四季度“三会一课”会议记录，支委会逐次审核签字")
    township.fill("#f-assign-deadline", deadline.isoformat())
    township.locator("#step-assign button").click()
    expect(township.locator(".alert-success")).to_be_visible()
    # Assigning names who, what and by when; the item stays open until the village reports.
    expect(badge).to_have_text(status[RectificationStatus.OPEN])
    expect(township.locator("dl")).to_contain_text("刘建国")
    expect(township.locator("dl")).to_contain_text(deadline.isoformat())

    village = journey.login(world.secretary_of("东街村"))
    village.goto(ledger)
    village.locator("#rect-items a", has_text="东街村").click()
    expect(village.locator("#step-assign")).to_have_count(0)  # not the village's step
    done = "已补齐10月、11月支委会和党员大会记录，支委会审核签字"
    village.fill("#f-report-note", done)
    village.set_input_files(
        "#att-report",
        files=[
            {"name": "会议记录.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}
        ],
    )
    village.locator("#step-report button").click()
    expect(village.locator("#rect-status")).to_have_text(status[RectificationStatus.REPORTED])
    expect(village.locator("#rect-events")).to_contain_text(done)

    township.reload()
    expect(badge).to_have_text(status[RectificationStatus.REPORTED])
    expect(township.locator("#rect-events a")).to_have_text(zh("attachment"))  # the proof
    township.locator("#step-verify button").click()
    expect(badge).to_have_text(status[RectificationStatus.VERIFIED])
    expect(township.locator("#step-close")).to_have_count(0)  # closing is the county's

    county = journey.login(world.county_staff)
    county.goto(f"/scoring/rectification/{item.pk}/")
    expect(county.locator("#rect-status")).to_have_text(status[RectificationStatus.VERIFIED])
    county.locator("#step-close button").click()
    expect(county.locator("#rect-status")).to_have_text(status[RectificationStatus.CLOSED])
    expect(county.locator(".step-form")).to_have_count(0)
    events = county.locator("#rect-events li")
    expect(events).to_have_count(4)
    for n, who in enumerate(("王芳", "刘建国", "王芳", "李明")):  # assign, report, verify, close
        expect(events.nth(n)).to_contain_text(who)
    expect(events.nth(1)).to_contain_text(done)
    item.refresh_from_db()
    assert item.status == RectificationStatus.CLOSED
    assert item.closed_by == world.users[world.county_staff]

    county.goto(ledger)  # the ledger lists what is not closed yet: nothing
    expect(county.locator("#rect-items tbody tr")).to_have_count(1)
    expect(county.locator("#rect-items")).not_to_contain_text("东街村")
    county.go_back()
    expect(county.locator("#rect-status")).to_have_text(status[RectificationStatus.CLOSED])
    journey.finish(county)
