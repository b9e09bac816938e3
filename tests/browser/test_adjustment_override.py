"""The 调旗 override on a phone (390×844): county staff are offered only what a unit can be
given, a missing reason is shown at the row, and a recorded decision updates the row and the
summary at the top without the page being reloaded (htmx, the summary swapped out of band)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from scoring.models import AdjustmentProposal, ProposalAction, Stage
from scoring.services import adjustment_propose
from tests.browser.conftest import PHONE
from tests.browser.helpers import zh
from villages.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def test_county_staff_override_a_row_on_a_phone_and_the_summary_follows(world, journey):
    for name in ("东街村", "城北社区", "东庄村", "西庄村", "南关村", "北关村"):
        world.advance(name, Stage.FINAL)
    run, _proposals, summary = adjustment_propose(
        user=User.objects.get(username=world.county_staff), period=world.period
    )
    target = (
        AdjustmentProposal.objects.filter(run=run, held=False, action=ProposalAction.AWARD)
        .select_related("unit", "dimension")
        .order_by("unit__code", "dimension__order")
        .first()
    )
    assert target is not None

    page = journey.login(world.county_staff, **PHONE)
    page.goto(f"/scoring/adjustments/{run.pk}/?action=award")
    expect(page.locator("#summary-award")).to_have_text(str(summary.award))
    expect(page.locator("#summary-keep")).to_have_text(str(summary.keep))
    page.evaluate("window.__notReloaded = true")

    row = page.locator(f"#proposal-{target.pk}")
    select = row.locator(".override-form select")
    expect(select.locator("option")).to_have_count(2)  # not held: keep or award
    expect(select.locator("option[value=withdraw]")).to_have_count(0)

    # Keep (overriding the proposed award) without a reason: refused at the row, choice kept.
    select.select_option("keep")
    row.locator(".override-form button").click()
    row = page.locator(f"#proposal-{target.pk}")
    expect(row.locator(".row-error")).to_have_text(zh("Give a reason for overriding the proposal."))
    expect(row.locator(".override-form select")).to_have_value("keep")
    expect(page.locator("#summary-award")).to_have_text(str(summary.award))

    row.locator(".override-form input[name=reason]").fill("材料待核实，暂缓授予")
    row.locator(".override-form button").click()
    row = page.locator(f"#proposal-{target.pk}")
    expect(row.locator(".row-saved")).to_be_visible()
    expect(row).not_to_contain_class("table-success")
    expect(row.locator(".override-form select")).to_have_value("keep")
    expect(page.locator("#summary-award")).to_have_text(str(summary.award - 1))
    expect(page.locator("#summary-keep")).to_have_text(str(summary.keep + 1))
    assert page.evaluate("window.__notReloaded === true")  # swapped in place, not reloaded
    assert page.locator("#summary").count() == 1

    target.refresh_from_db()
    assert target.override == ProposalAction.KEEP
    assert target.override_reason == "材料待核实，暂缓授予"
    journey.finish(page)
