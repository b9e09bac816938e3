"""The 调旗 override row (issue 12, item 16): only the choices a unit can be given, errors at
the row with what was typed kept, and the summary of decisions updated out of band (htmx) or
by the redirect back (a plain post).

The run is the one of tests/scoring/test_adjustment.py: 4 units, 2 awards, 3 withdrawals and 7
keeps proposed. 东街村 does not hold 党建引领 (proposed award) and holds 产业兴旺 (proposed keep).
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils.cache import has_vary_header

from scoring.models import ProposalAction
from scoring.services import adjustment_propose
from tests.scoring.test_adjustment import World, msg

pytestmark = pytest.mark.django_db

AWARD, KEEP, WITHDRAW = ProposalAction.AWARD, ProposalAction.KEEP, ProposalAction.WITHDRAW
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(county, township_a, township_b, unit_a, unit_b):
    return World(county, township_a, township_b, unit_a, unit_b)


@pytest.fixture
def run(world, county_staff):
    run, _p, _s = adjustment_propose(user=county_staff, period=world.period)
    return run


@pytest.fixture
def staff_client(client, county_staff):
    client.force_login(county_staff)
    return client


def row_of(html: str, pk: int) -> str:
    match = re.search(rf'<tr id="proposal-{pk}".*?</tr>', html, re.S)
    assert match, f"no row {pk}"
    return match.group(0)


def options(row: str) -> list[str]:
    return re.findall(r'<option value="(\w+)"', row)


def selected(row: str) -> str:
    return re.search(r'<option value="(\w+)" selected', row).group(1)


def summary(html: str) -> tuple[int, int, int]:
    """(award, withdraw, keep) as the summary shows them."""
    return tuple(
        int(re.search(rf'id="summary-{k}">(\d+)<', html).group(1))
        for k in ("award", "withdraw", "keep")
    )


def override_url(run, p) -> str:
    return reverse("scoring:adjustment_override", args=[run.pk, p.pk])


class TestChoices:
    def test_each_row_offers_only_what_the_unit_can_be_given(self, staff_client, world, run):
        not_held = world.proposal(run, "东街村", "dangjian")  # proposed award
        held = world.proposal(run, "南街村", "dangjian")  # proposed withdraw
        url = reverse("scoring:adjustment_detail", args=[run.pk]) + "?action="
        html = staff_client.get(url).content.decode()
        assert options(row_of(html, not_held.pk)) == [AWARD, KEEP]
        assert options(row_of(html, held.pk)) == [KEEP, WITHDRAW]
        assert selected(row_of(html, not_held.pk)) == AWARD
        assert selected(row_of(html, held.pk)) == WITHDRAW

    def test_the_summary_counts_the_decisions(self, staff_client, run):
        html = staff_client.get(reverse("scoring:adjustment_detail", args=[run.pk])).content
        assert summary(html.decode()) == (2, 3, 7)


class TestHtmx:
    def test_an_invalid_choice_is_shown_at_the_row_and_changes_nothing(
        self, staff_client, world, run
    ):
        p = world.proposal(run, "东街村", "chanye")  # held: award is not a choice
        response = staff_client.post(
            override_url(run, p), {"decision": AWARD, "reason": "破格"}, headers=HTMX
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert "<html" not in html
        row = row_of(html, p.pk)
        assert msg("The unit already holds it; choose keep.") in row
        assert 'value="破格"' in row
        assert "is-invalid" in row
        assert options(row) == [KEEP, WITHDRAW]
        p.refresh_from_db()
        assert (p.override, p.override_reason, p.overridden_by) == ("", "", None)
        assert summary(html) == (2, 3, 7)

    def test_an_unknown_choice_is_shown_at_the_row(self, staff_client, world, run):
        p = world.proposal(run, "东街村", "dangjian")
        response = staff_client.post(
            override_url(run, p), {"decision": "promote", "reason": ""}, headers=HTMX
        )
        assert response.status_code == 200
        assert msg("Unknown decision.") in row_of(response.content.decode(), p.pk)
        p.refresh_from_db()
        assert p.override == ""

    def test_a_missing_reason_is_shown_at_the_row_with_what_was_typed(
        self, staff_client, world, run
    ):
        p = world.proposal(run, "东街村", "dangjian")  # proposed award; keep needs a reason
        response = staff_client.post(
            override_url(run, p), {"decision": KEEP, "reason": "  "}, headers=HTMX
        )
        assert response.status_code == 200
        row = row_of(response.content.decode(), p.pk)
        assert msg("Give a reason for overriding the proposal.") in row
        assert selected(row) == KEEP  # what was chosen, not the proposal
        assert 'value="  "' in row
        assert "messages" not in response.cookies  # no page-level message left behind
        p.refresh_from_db()
        assert p.override == ""

    def test_a_valid_override_shows_the_decision_and_the_new_counts(self, staff_client, world, run):
        p = world.proposal(run, "西庄村", "chanye")  # 85, not held: the rules keep
        response = staff_client.post(
            override_url(run, p), {"decision": AWARD, "reason": "县委研究决定"}, headers=HTMX
        )
        assert response.status_code == 200
        html = response.content.decode()
        row = row_of(html, p.pk)
        assert "table-success" in row
        assert selected(row) == AWARD
        assert 'value="县委研究决定"' in row
        assert "row-error" not in row
        assert 'id="summary" hx-swap-oob="true"' in html
        assert summary(html) == (3, 3, 6)
        p.refresh_from_db()
        assert (p.override, p.override_reason) == (AWARD, "县委研究决定")

    def test_the_answer_varies_on_hx_request(self, staff_client, world, run):
        p = world.proposal(run, "东街村", "dangjian")
        url = override_url(run, p)
        for headers in (HTMX, {}):
            response = staff_client.post(url, {"decision": AWARD, "reason": ""}, headers=headers)
            assert has_vary_header(response, "HX-Request")


class TestPlainPost:
    def test_a_valid_override_redirects_back_to_the_updated_page(self, staff_client, world, run):
        p = world.proposal(run, "西庄村", "chanye")
        back = reverse("scoring:adjustment_detail", args=[run.pk]) + "?action="
        response = staff_client.post(
            override_url(run, p), {"decision": AWARD, "reason": "县委研究决定", "next": back}
        )
        assert response.status_code == 302
        assert response.url == back
        html = staff_client.get(back).content.decode()
        assert summary(html) == (3, 3, 6)
        assert selected(row_of(html, p.pk)) == AWARD

    def test_a_refused_override_redirects_with_a_message(self, staff_client, world, run):
        p = world.proposal(run, "东街村", "chanye")
        response = staff_client.post(
            override_url(run, p), {"decision": AWARD, "reason": "x"}, follow=True
        )
        assert response.status_code == 200
        assert msg("The unit already holds it; choose keep.") in response.content.decode()
        p.refresh_from_db()
        assert p.override == ""
