"""Adjustment (调旗): proposals from final county scores, overrides with a reason, confirmation
into holdings and their history, who may do it, the pages and the command line.

The county in tests/conftest.py has 城关镇 (A) and 东庄镇 (B); here each has two units with
hand-chosen county scores over three dimensions (党建引领 and 产业兴旺 out of 100 with a veto
each, 生态宜居 out of 50, so normalised):

    unit        党建引领          产业兴旺            生态宜居        holds before
    东街村 (A)  100   award       90    keep          90 (45/50) award  产业兴旺
    南街村 (A)  89.99 withdraw    100 vetoed withdraw 80 (40/50) keep   党建引领, 产业兴旺
    西庄村 (B)  95    keep        85    keep          100  keep         党建引领, 生态宜居
    北庄村 (B)  70    withdraw    100 vetoed keep     90   keep         党建引领, 生态宜居

so 4 units, 2 awards, 3 withdrawals and 7 keeps. Messages are compared with the catalogue's
translation of the same msgid, so the tests hold whichever language the catalogue gives.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils.translation import gettext

from campaigns.models import Dimension, RuleMode
from scoring.errors import ScoringError
from scoring.management.commands.run_adjustment import Command as RunAdjustment
from scoring.models import (
    AdjustmentProposal,
    AdjustmentRun,
    AdjustmentStatus,
    Assessment,
    Holding,
    HoldingChange,
    HoldingChangeKind,
    ProposalAction,
    Stage,
)
from scoring.services import adjustment_confirm, adjustment_override, adjustment_propose
from tests import factories, scenarios
from villages.models import Unit

pytestmark = pytest.mark.django_db

AWARD, KEEP, WITHDRAW = ProposalAction.AWARD, ProposalAction.KEEP, ProposalAction.WITHDRAW

EXPECTED = {
    ("东街村", "dangjian"): AWARD,
    ("东街村", "chanye"): KEEP,
    ("东街村", "shengtai"): AWARD,
    ("南街村", "dangjian"): WITHDRAW,
    ("南街村", "chanye"): WITHDRAW,
    ("南街村", "shengtai"): KEEP,
    ("西庄村", "dangjian"): KEEP,
    ("西庄村", "chanye"): KEEP,
    ("西庄村", "shengtai"): KEEP,
    ("北庄村", "dangjian"): WITHDRAW,
    ("北庄村", "chanye"): KEEP,
    ("北庄村", "shengtai"): KEEP,
}


def msg(msgid: str, **params) -> str:
    """The message as the services word it in the active language."""
    text = gettext(msgid)
    return text % params if params else text


class World:
    """The four units above, their final assessments of 2026Q3 and what they hold."""

    def __init__(self, county, township_a, township_b, unit_a, unit_b):
        self.built = scenarios.campaign_build(region=county, slug="decide")
        self.campaign = self.built.campaign
        self.period = scenarios.period_build(self.built, "2026Q3")
        self.townships = (township_a, township_b)
        u2 = factories.UnitFactory(township=township_a, name="南街村")
        u4 = factories.UnitFactory(township=township_b, name="北庄村")
        self.units = {u.name: u for u in (unit_a, u2, unit_b, u4)}
        final = scenarios.final_assessment
        p, b = self.period, self.built
        self.assessments = {
            "东街村": final(b, p, unit_a, {"2.1": "50", "3.2": "25"}),
            "南街村": final(b, p, u2, {"1.1": "29.99", "3.1": "10"}, {"2.3"}),
            "西庄村": final(b, p, unit_b, {"1.1": "35", "2.1": "45"}),
            "北庄村": final(
                b, p, u4, {"1.1": "25", "1.2": "25", "1.3": "20", "3.1": "15"}, {"2.3"}
            ),
        }
        scenarios.holdings(b, unit_a, "chanye")
        scenarios.holdings(b, u2, "dangjian", "chanye")
        scenarios.holdings(b, unit_b, "dangjian", "shengtai")
        scenarios.holdings(b, u4, "dangjian", "shengtai")

    def held(self) -> set[tuple[str, str]]:
        return set(
            Holding.objects.filter(dimension__campaign=self.campaign).values_list(
                "unit__name", "dimension__code"
            )
        )

    def proposal(self, run, unit: str, dim: str) -> AdjustmentProposal:
        return run.proposals.get(unit=self.units[unit], dimension=self.built.dim(dim))


@pytest.fixture
def world(county, township_a, township_b, unit_a, unit_b):
    return World(county, township_a, township_b, unit_a, unit_b)


def actions(proposals) -> dict[tuple[str, str], str]:
    """{(unit name, dimension code): proposed action}."""
    names = dict(Unit.objects.values_list("id", "name"))
    codes = dict(Dimension.objects.values_list("id", "code"))
    return {(names[p.unit_id], codes[p.dimension_id]): p.action for p in proposals}


class TestPropose:
    def test_it_proposes_award_withdraw_and_keep(self, world, county_staff):
        run, proposals, summary = adjustment_propose(user=county_staff, period=world.period)
        assert actions(proposals) == EXPECTED
        assert (summary.units, summary.award, summary.withdraw, summary.keep) == (4, 2, 3, 7)
        assert actions(run.proposals.all()) == EXPECTED
        assert run.status == AdjustmentStatus.PROPOSED
        assert run.created_by == county_staff
        assert run.campaign == world.campaign
        assert list(run.townships.all()) == []

    def test_it_records_score_veto_and_what_was_held(self, world, county_staff):
        run, _proposals, _summary = adjustment_propose(user=county_staff, period=world.period)
        p = world.proposal(run, "南街村", "chanye")
        assert (p.score, p.vetoed, p.held, p.action) == (D("100.00"), True, True, WITHDRAW)
        p = world.proposal(run, "南街村", "shengtai")
        assert (p.score, p.vetoed, p.held, p.action) == (D("80.00"), False, False, KEEP)
        p = world.proposal(run, "东街村", "dangjian")
        assert (p.score, p.vetoed, p.held) == (D("100.00"), False, False)

    def test_the_threshold_is_reached_at_90_not_89_99(self, world, county_staff):
        run, _proposals, _summary = adjustment_propose(user=county_staff, period=world.period)
        assert world.proposal(run, "东街村", "chanye").score == D("90.00")
        assert world.proposal(run, "东街村", "chanye").action == KEEP
        assert world.proposal(run, "南街村", "dangjian").score == D("89.99")
        assert world.proposal(run, "南街村", "dangjian").action == WITHDRAW

    def test_lost_indicators_are_listed_largest_first(self, world, county_staff):
        run, _proposals, _summary = adjustment_propose(user=county_staff, period=world.period)
        assert world.proposal(run, "北庄村", "dangjian").lost == [
            ["1.1", "15.00"],
            ["1.3", "10.00"],
            ["1.2", "5.00"],
        ]
        assert world.proposal(run, "南街村", "dangjian").lost == [["1.1", "10.01"]]
        assert world.proposal(run, "北庄村", "shengtai").lost == [["3.1", "5.00"]]
        assert world.proposal(run, "西庄村", "shengtai").lost == []
        assert world.proposal(run, "南街村", "chanye").lost == []  # vetoed, no points lost

    def test_it_writes_nothing_without_save(self, world, county_staff):
        run, proposals, summary = adjustment_propose(
            user=county_staff, period=world.period, save=False
        )
        assert run is None
        assert actions(proposals) == EXPECTED
        assert summary.award == 2
        assert not AdjustmentRun.objects.exists()
        assert not AdjustmentProposal.objects.exists()

    def test_it_refuses_when_some_assessment_is_not_final(self, world, county_staff):
        Assessment.objects.filter(pk=world.assessments["北庄村"].pk).update(
            stage=Stage.COUNTY, finalised_at=None
        )
        with pytest.raises(ScoringError) as excinfo:
            adjustment_propose(user=county_staff, period=world.period)
        assert excinfo.value.message == msg(
            "%(n)d units are not final yet (e.g. %(unit)s); finish county review first.",
            n=1,
            unit="北庄村",
        )
        assert not AdjustmentRun.objects.exists()

    def test_a_township_whose_units_are_all_final_can_go_ahead(self, world, county_staff):
        Assessment.objects.filter(pk=world.assessments["北庄村"].pk).update(
            stage=Stage.COUNTY, finalised_at=None
        )
        township_a = world.townships[0]
        run, proposals, summary = adjustment_propose(
            user=county_staff, period=world.period, township_codes=[township_a.code]
        )
        assert summary.units == 2
        assert actions(proposals) == {
            k: v for k, v in EXPECTED.items() if k[0] in ("东街村", "南街村")
        }
        assert list(run.townships.all()) == [township_a]

    def test_it_refuses_an_unknown_township(self, world, county_staff):
        with pytest.raises(ScoringError) as excinfo:
            adjustment_propose(
                user=county_staff, period=world.period, township_codes=["410527999000"]
            )
        assert excinfo.value.message == msg("Unknown township code.")

    def test_it_refuses_a_period_without_assessments(self, world, county_staff):
        empty = scenarios.period_build(world.built, "2026Q4")
        with pytest.raises(ScoringError) as excinfo:
            adjustment_propose(user=county_staff, period=empty)
        assert excinfo.value.message == msg("There are no assessments to adjust.")

    @pytest.mark.parametrize(
        "role", ["leader", "township_official", "village_secretary", "department", "no_role"]
    )
    def test_only_county_staff_may_propose(self, world, users, role):
        with pytest.raises(ScoringError) as excinfo:
            adjustment_propose(user=users[role], period=world.period)
        assert excinfo.value.message == msg("Only county staff may run an adjustment.")
        assert not AdjustmentRun.objects.exists()

    def test_the_superuser_may_propose(self, world, superuser):
        _run, _proposals, summary = adjustment_propose(user=superuser, period=world.period)
        assert summary.units == 4


class TestBandMode:
    @pytest.fixture
    def banded(self, world):
        world.campaign.rule_mode = RuleMode.BANDS
        world.campaign.bands = "90:3,80:2,60:1"
        world.campaign.save()
        return world

    def test_the_total_decides_how_many_and_the_best_scores_which(self, banded, county_staff):
        # Totals: 东街村 93.33 → 3; 南街村 (89.99+100+80)/3 = 90.00 → 3, but 产业兴旺 is vetoed
        # so only two can be held; 西庄村 93.33 → 3; 北庄村 86.67 → 2 (the two not vetoed).
        _run, proposals, summary = adjustment_propose(user=county_staff, period=banded.period)
        assert actions(proposals) == {
            ("东街村", "dangjian"): AWARD,
            ("东街村", "chanye"): KEEP,
            ("东街村", "shengtai"): AWARD,
            ("南街村", "dangjian"): KEEP,
            ("南街村", "chanye"): WITHDRAW,
            ("南街村", "shengtai"): AWARD,
            ("西庄村", "dangjian"): KEEP,
            ("西庄村", "chanye"): AWARD,
            ("西庄村", "shengtai"): KEEP,
            ("北庄村", "dangjian"): KEEP,
            ("北庄村", "chanye"): KEEP,
            ("北庄村", "shengtai"): KEEP,
        }
        assert (summary.award, summary.withdraw, summary.keep) == (4, 1, 7)

    def test_the_level_cap_keeps_only_the_best(self, banded, county_staff):
        banded.campaign.level_cap = 1
        banded.campaign.save()
        _run, proposals, _summary = adjustment_propose(user=county_staff, period=banded.period)
        got = actions(proposals)
        # 东街村: only 党建引领 (100) of 100/90/90; 西庄村: only 生态宜居 (100) of 95/85/100.
        assert [got[("东街村", d)] for d in ("dangjian", "chanye", "shengtai")] == [
            AWARD,
            WITHDRAW,
            KEEP,
        ]
        assert [got[("西庄村", d)] for d in ("dangjian", "chanye", "shengtai")] == [
            WITHDRAW,
            KEEP,
            KEEP,
        ]

    def test_the_history_gives_the_band_or_the_veto_as_reason(self, banded, county_staff):
        run, _proposals, _summary = adjustment_propose(user=county_staff, period=banded.period)
        adjustment_confirm(user=county_staff, run=run)
        changes = {
            (c.unit.name, c.dimension.code): c.reason
            for c in HoldingChange.objects.select_related("unit", "dimension")
        }
        assert len(changes) == 5
        assert changes[("南街村", "chanye")] == msg("A veto item was triggered.")
        assert changes[("西庄村", "chanye")] == msg("Set by the total-score band.")
        assert changes[("东街村", "dangjian")] == msg("Set by the total-score band.")


class TestConfirm:
    def test_it_writes_holdings_and_their_history(self, world, county_staff):
        run, _proposals, _summary = adjustment_propose(user=county_staff, period=world.period)
        summary = adjustment_confirm(user=county_staff, run=run)

        assert (summary.units, summary.award, summary.withdraw, summary.keep) == (4, 2, 3, 7)
        assert world.held() == {
            ("东街村", "dangjian"),
            ("东街村", "chanye"),
            ("东街村", "shengtai"),
            ("西庄村", "dangjian"),
            ("西庄村", "shengtai"),
            ("北庄村", "shengtai"),
        }
        new = Holding.objects.get(unit__name="东街村", dimension__code="dangjian")
        assert new.since_period == world.period
        changes = {
            (c.unit.name, c.dimension.code): c
            for c in HoldingChange.objects.select_related("unit", "dimension")
        }
        assert {k: (c.kind, c.score, c.reason) for k, c in changes.items()} == {
            ("东街村", "dangjian"): (
                HoldingChangeKind.AWARD,
                D("100.00"),
                msg("The dimension reached the threshold."),
            ),
            ("东街村", "shengtai"): (
                HoldingChangeKind.AWARD,
                D("90.00"),
                msg("The dimension reached the threshold."),
            ),
            ("南街村", "dangjian"): (
                HoldingChangeKind.WITHDRAW,
                D("89.99"),
                msg("The dimension fell below the threshold."),
            ),
            ("南街村", "chanye"): (
                HoldingChangeKind.WITHDRAW,
                D("100.00"),
                msg("A veto item was triggered."),
            ),
            ("北庄村", "dangjian"): (
                HoldingChangeKind.WITHDRAW,
                D("70.00"),
                msg("The dimension fell below the threshold."),
            ),
        }
        assert {(c.period_id, c.decided_by_id) for c in changes.values()} == {
            (world.period.id, county_staff.id)
        }
        run.refresh_from_db()
        assert run.status == AdjustmentStatus.CONFIRMED
        assert run.confirmed_by == county_staff
        assert run.confirmed_at is not None
        assert not run.proposals.filter(confirmed=False).exists()

    def test_it_is_one_transaction(self, world, county_staff, monkeypatch):
        run, _proposals, _summary = adjustment_propose(user=county_staff, period=world.period)
        before = world.held()

        def fail(*args, **kwargs):
            raise RuntimeError("disk full")

        # The last write of the transaction fails: holdings and history must roll back with it.
        monkeypatch.setattr(AdjustmentProposal.objects, "bulk_update", fail)
        with pytest.raises(RuntimeError):
            adjustment_confirm(user=county_staff, run=run)
        assert world.held() == before
        assert not HoldingChange.objects.exists()
        run.refresh_from_db()
        assert run.status == AdjustmentStatus.PROPOSED

    def test_confirming_twice_changes_nothing_more(self, world, county_staff):
        run, _proposals, _summary = adjustment_propose(user=county_staff, period=world.period)
        adjustment_confirm(user=county_staff, run=run)
        held, changes = world.held(), list(HoldingChange.objects.values_list("id", "reason"))

        again = adjustment_confirm(user=county_staff, run=run)
        assert (again.units, again.award, again.withdraw, again.keep) == (0, 0, 0, 0)
        assert world.held() == held
        assert list(HoldingChange.objects.values_list("id", "reason")) == changes

    def test_a_second_run_of_the_same_period_adds_no_history(self, world, county_staff):
        first, _p, _s = adjustment_propose(user=county_staff, period=world.period)
        second, _p, _s = adjustment_propose(user=county_staff, period=world.period)
        adjustment_confirm(user=county_staff, run=first)
        held, n = world.held(), HoldingChange.objects.count()

        summary = adjustment_confirm(user=county_staff, run=second)
        assert (summary.award, summary.withdraw, summary.keep) == (0, 0, 12)
        assert world.held() == held
        assert HoldingChange.objects.count() == n

    def test_it_confirms_only_the_ids_given(self, world, county_staff):
        run, _proposals, _summary = adjustment_propose(user=county_staff, period=world.period)
        award = world.proposal(run, "东街村", "dangjian")
        withdraw = world.proposal(run, "北庄村", "dangjian")

        summary = adjustment_confirm(
            user=county_staff, run=run, proposal_ids=[award.id, withdraw.id]
        )
        assert (summary.units, summary.award, summary.withdraw, summary.keep) == (2, 1, 1, 0)
        assert set(HoldingChange.objects.values_list("unit__name", "dimension__code")) == {
            ("东街村", "dangjian"),
            ("北庄村", "dangjian"),
        }
        assert set(run.proposals.filter(confirmed=True).values_list("id", flat=True)) == {
            award.id,
            withdraw.id,
        }
        run.refresh_from_db()
        assert run.status == AdjustmentStatus.PROPOSED

        rest = adjustment_confirm(user=county_staff, run=run)
        assert (rest.award, rest.withdraw, rest.keep) == (1, 2, 7)
        assert HoldingChange.objects.count() == 5
        run.refresh_from_db()
        assert run.status == AdjustmentStatus.CONFIRMED

    def test_ids_of_another_run_are_ignored(self, world, county_staff):
        run, _p, _s = adjustment_propose(user=county_staff, period=world.period)
        other, _p, _s = adjustment_propose(user=county_staff, period=world.period)
        summary = adjustment_confirm(
            user=county_staff,
            run=run,
            proposal_ids=list(other.proposals.values_list("id", flat=True)),
        )
        assert summary.units == 0
        assert not HoldingChange.objects.exists()

    @pytest.mark.parametrize("role", ["leader", "township_official", "village_secretary"])
    def test_only_county_staff_may_confirm(self, world, county_staff, users, role):
        run, _p, _s = adjustment_propose(user=county_staff, period=world.period)
        with pytest.raises(ScoringError) as excinfo:
            adjustment_confirm(user=users[role], run=run)
        assert excinfo.value.message == msg("Only county staff may confirm an adjustment.")
        assert not HoldingChange.objects.exists()


class TestOverride:
    @pytest.fixture
    def run(self, world, county_staff):
        run, _p, _s = adjustment_propose(user=county_staff, period=world.period)
        return run

    @pytest.mark.parametrize("reason", ["", "   "])
    def test_it_needs_a_reason(self, world, run, county_staff, reason):
        p = world.proposal(run, "东街村", "dangjian")
        with pytest.raises(ScoringError) as excinfo:
            adjustment_override(user=county_staff, proposal=p, action=KEEP, reason=reason)
        assert excinfo.value.field == "reason"
        p.refresh_from_db()
        assert (p.override, p.override_reason) == ("", "")

    def test_it_cannot_award_what_is_held(self, world, run, county_staff):
        p = world.proposal(run, "东街村", "chanye")
        with pytest.raises(ScoringError) as excinfo:
            adjustment_override(user=county_staff, proposal=p, action=AWARD, reason="破格")
        assert excinfo.value.field == "action"
        assert excinfo.value.message == msg("The unit already holds it; choose keep.")

    def test_it_cannot_withdraw_what_is_not_held(self, world, run, county_staff):
        p = world.proposal(run, "东街村", "dangjian")
        with pytest.raises(ScoringError) as excinfo:
            adjustment_override(user=county_staff, proposal=p, action=WITHDRAW, reason="问题")
        assert excinfo.value.message == msg("The unit does not hold it; nothing to withdraw.")

    def test_it_refuses_an_unknown_decision(self, world, run, county_staff):
        p = world.proposal(run, "东街村", "dangjian")
        with pytest.raises(ScoringError):
            adjustment_override(user=county_staff, proposal=p, action="promote", reason="x")

    def test_the_override_reason_is_what_the_history_records(self, world, run, county_staff):
        award = world.proposal(run, "西庄村", "chanye")  # 85, not held: the rules keep
        adjustment_override(
            user=county_staff, proposal=award, action=AWARD, reason="  县委研究决定破格授旗 "
        )
        award.refresh_from_db()
        assert (award.action, award.override, award.decision) == (KEEP, AWARD, AWARD)
        assert award.override_reason == "县委研究决定破格授旗"

        adjustment_confirm(user=county_staff, run=run)
        change = HoldingChange.objects.get(unit__name="西庄村", dimension__code="chanye")
        assert (change.kind, change.score, change.reason) == (
            HoldingChangeKind.AWARD,
            D("85.00"),
            "县委研究决定破格授旗",
        )
        assert ("西庄村", "chanye") in world.held()

    def test_overriding_a_withdrawal_to_keep_leaves_the_holding(self, world, run, county_staff):
        p = world.proposal(run, "北庄村", "dangjian")
        adjustment_override(user=county_staff, proposal=p, action=KEEP, reason="整改已到位")
        summary = adjustment_confirm(user=county_staff, run=run)
        assert summary.withdraw == 2
        assert ("北庄村", "dangjian") in world.held()
        assert not HoldingChange.objects.filter(unit__name="北庄村").exists()

    def test_going_back_to_the_proposal_clears_the_override(self, world, run, county_staff):
        p = world.proposal(run, "东街村", "dangjian")
        adjustment_override(user=county_staff, proposal=p, action=KEEP, reason="再议")
        adjustment_override(user=county_staff, proposal=p, action=AWARD, reason="")
        p.refresh_from_db()
        assert (p.override, p.override_reason, p.decision) == ("", "", AWARD)

    def test_a_confirmed_proposal_cannot_be_overridden(self, world, run, county_staff):
        adjustment_confirm(user=county_staff, run=run)
        p = world.proposal(run, "东街村", "dangjian")
        with pytest.raises(ScoringError) as excinfo:
            adjustment_override(user=county_staff, proposal=p, action=KEEP, reason="x")
        assert excinfo.value.message == msg("This proposal is already confirmed.")

    @pytest.mark.parametrize("role", ["leader", "township_official", "department"])
    def test_only_county_staff_may_override(self, world, run, users, role):
        p = world.proposal(run, "东街村", "dangjian")
        with pytest.raises(ScoringError):
            adjustment_override(user=users[role], proposal=p, action=KEEP, reason="x")
        p.refresh_from_db()
        assert p.override == ""


class TestQueries:
    @staticmethod
    def build(county, township_a, township_b, per_township: int):
        built = scenarios.campaign_build(region=county, slug="decide-many")
        period = scenarios.period_build(built, "2026Q3")
        for township in (township_a, township_b):
            for i, unit in enumerate(scenarios.many_units(township, per_township)):
                # 党建引领 90–99: awarded; 产业兴旺 vetoed every other unit: withdrawn.
                vetoed = {"2.3"} if i % 2 == 0 else set()
                scenarios.final_assessment(built, period, unit, {"1.1": str(30 + i)}, vetoed)
                scenarios.holdings(built, unit, "chanye")
        return period

    @pytest.mark.parametrize("per_township", [1, 10])
    def test_propose_costs_the_same_for_2_and_20_units(
        self, django_assert_num_queries, county, township_a, township_b, county_staff, per_township
    ):
        period = self.build(county, township_a, township_b, per_township)
        # assessments, catalogue (2), totals, deductions, holdings, run, proposals
        with django_assert_num_queries(8):
            _run, proposals, summary = adjustment_propose(user=county_staff, period=period)
        assert summary.units == 2 * per_township
        assert len(proposals) == 6 * per_township

    @pytest.mark.parametrize("per_township", [1, 10])
    def test_confirm_costs_the_same_for_2_and_20_units(
        self, django_assert_num_queries, county, township_a, township_b, county_staff, per_township
    ):
        period = self.build(county, township_a, township_b, per_township)
        run, _p, _s = adjustment_propose(user=county_staff, period=period)
        with django_assert_num_queries(12):
            summary = adjustment_confirm(user=county_staff, run=run)
        assert summary.award == 4 * per_township  # 党建引领 and 生态宜居 of every unit
        assert summary.withdraw == 2 * ((per_township + 1) // 2)


class TestPages:
    """The adjustment pages: county staff decide, leaders look, everyone else is refused."""

    @pytest.fixture
    def run(self, world, county_staff):
        run, _p, _s = adjustment_propose(user=county_staff, period=world.period)
        return run

    def list_url(self, world) -> str:
        return reverse("scoring:adjustment_list", args=[world.campaign.slug, world.period.label])

    @pytest.mark.parametrize("role", ["county_staff", "leader", "superuser"])
    def test_it_shows_the_runs(self, client, world, run, users, role):
        client.force_login(users[role])
        response = client.get(self.list_url(world))
        assert response.status_code == 200
        assert list(response.context["runs"]) == [run]
        assert response.context["final_count"] == 4
        assert response.context["can_run"] is (role != "leader")

    @pytest.mark.parametrize(
        "role", ["township_official", "village_secretary", "department", "stranger"]
    )
    def test_other_roles_are_refused(self, client, world, run, users, role):
        client.force_login(users[role])
        assert client.get(self.list_url(world)).status_code == 403
        assert client.get(reverse("scoring:adjustment_detail", args=[run.pk])).status_code == 403

    def test_county_staff_start_a_run_for_chosen_townships(self, client, world, county_staff):
        client.force_login(county_staff)
        township_b = world.townships[1]
        response = client.post(self.list_url(world), {"townships": [township_b.code]})
        run = AdjustmentRun.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("scoring:adjustment_detail", args=[run.pk])
        assert list(run.townships.all()) == [township_b]
        assert run.proposals.count() == 6

    def test_a_refused_run_is_a_message_not_an_error(self, client, world, county_staff):
        Assessment.objects.filter(pk=world.assessments["东街村"].pk).update(
            stage=Stage.COUNTY, finalised_at=None
        )
        client.force_login(county_staff)
        response = client.post(self.list_url(world), follow=True)
        assert response.status_code == 200
        assert not AdjustmentRun.objects.exists()
        assert "东街村" in response.content.decode()

    def test_a_leader_may_look_but_not_start_one(self, client, world, leader):
        client.force_login(leader)
        assert client.post(self.list_url(world)).status_code == 403
        assert not AdjustmentRun.objects.exists()

    def test_the_detail_shows_changes_by_default(self, client, world, run, county_staff):
        client.force_login(county_staff)
        response = client.get(reverse("scoring:adjustment_detail", args=[run.pk]))
        assert response.status_code == 200
        assert response.context["can_decide"] is True
        shown = {(p.unit.name, p.dimension.code) for p in response.context["page"]}
        assert shown == {k for k, v in EXPECTED.items() if v != KEEP}
        assert "15.00" in response.content.decode()  # 北庄村's largest loss, 1.1 −15.00

    def test_a_leader_sees_the_detail_without_decisions(self, client, world, run, leader):
        client.force_login(leader)
        response = client.get(reverse("scoring:adjustment_detail", args=[run.pk]))
        assert response.status_code == 200
        assert response.context["can_decide"] is False
        assert 'id="confirm-all"' not in response.content.decode()

    def test_county_staff_confirm_all(self, client, world, run, county_staff):
        client.force_login(county_staff)
        url = reverse("scoring:adjustment_confirm", args=[run.pk])
        response = client.post(url, {"scope": "all"})
        assert response.status_code == 302
        assert HoldingChange.objects.count() == 5

    def test_county_staff_confirm_the_ticked(self, client, world, run, county_staff):
        client.force_login(county_staff)
        p = world.proposal(run, "东街村", "dangjian")
        client.post(reverse("scoring:adjustment_confirm", args=[run.pk]), {"ids": [str(p.id)]})
        assert list(HoldingChange.objects.values_list("unit__name", "dimension__code")) == [
            ("东街村", "dangjian")
        ]

    def test_nothing_ticked_confirms_nothing(self, client, world, run, county_staff):
        client.force_login(county_staff)
        client.post(reverse("scoring:adjustment_confirm", args=[run.pk]), {})
        assert not HoldingChange.objects.exists()

    @pytest.mark.parametrize("role", ["leader", "township_official"])
    def test_others_may_not_confirm_or_override(self, client, world, run, users, role):
        client.force_login(users[role])
        p = world.proposal(run, "东街村", "dangjian")
        confirm = reverse("scoring:adjustment_confirm", args=[run.pk])
        override = reverse("scoring:adjustment_override", args=[run.pk, p.pk])
        assert client.post(confirm, {"scope": "all"}).status_code == 403
        assert client.post(override, {"decision": KEEP, "reason": "x"}).status_code == 403
        assert not HoldingChange.objects.exists()
        p.refresh_from_db()
        assert p.override == ""

    def test_county_staff_override_with_a_reason(self, client, world, run, county_staff):
        client.force_login(county_staff)
        p = world.proposal(run, "东街村", "dangjian")
        url = reverse("scoring:adjustment_override", args=[run.pk, p.pk])
        response = client.post(url, {"decision": KEEP, "reason": "材料待核实"})
        assert response.status_code == 302
        p.refresh_from_db()
        assert (p.override, p.override_reason) == (KEEP, "材料待核实")

    def test_an_override_goes_back_to_the_filtered_list(self, client, world, run, county_staff):
        client.force_login(county_staff)
        p = world.proposal(run, "东街村", "dangjian")
        url = reverse("scoring:adjustment_override", args=[run.pk, p.pk])
        back = reverse("scoring:adjustment_detail", args=[run.pk]) + "?action=award"
        response = client.post(url, {"decision": AWARD, "reason": "", "next": back})
        assert response.url == back

    @pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x"])
    def test_an_override_does_not_follow_next_off_site(
        self, client, world, run, county_staff, target
    ):
        client.force_login(county_staff)
        p = world.proposal(run, "东街村", "dangjian")
        url = reverse("scoring:adjustment_override", args=[run.pk, p.pk])
        response = client.post(url, {"decision": AWARD, "reason": "", "next": target})
        assert response.status_code == 302
        assert response.url == reverse("scoring:adjustment_detail", args=[run.pk])

    def test_an_override_without_reason_is_refused_with_a_message(
        self, client, world, run, county_staff
    ):
        client.force_login(county_staff)
        p = world.proposal(run, "东街村", "dangjian")
        url = reverse("scoring:adjustment_override", args=[run.pk, p.pk])
        response = client.post(url, {"decision": KEEP, "reason": ""}, follow=True)
        assert response.status_code == 200
        assert msg("Give a reason for overriding the proposal.") in response.content.decode()
        p.refresh_from_db()
        assert p.override == ""

    def test_another_countys_campaign_is_404(self, client, county_staff):
        other_county = factories.CountyFactory(code="410526000000", name="滑县")
        built = scenarios.campaign_build(region=other_county, slug="huaxian")
        period = scenarios.period_build(built, "2026Q3")
        client.force_login(county_staff)
        url = reverse("scoring:adjustment_list", args=[built.campaign.slug, period.label])
        assert client.get(url).status_code == 404


class TestCommand:
    def run(self, *args: str) -> str:
        out = io.StringIO()
        call_command("run_adjustment", *args, stdout=out)
        return out.getvalue()

    def test_a_dry_run_prints_the_summary_and_writes_nothing(self, world):
        before = world.held()
        out = self.run("--campaign", "decide", "--period", "2026Q3")
        assert "decide 2026Q3: units 4, awards 2, withdrawals 3, keeps 7" in out
        assert "confirmed" not in out
        assert not AdjustmentRun.objects.exists()
        assert not HoldingChange.objects.exists()
        assert world.held() == before

    def test_it_takes_townships(self, world):
        township_a = world.townships[0]
        out = self.run("--campaign", "decide", "--period", "2026Q3", "--township", township_a.code)
        assert "units 2, awards 2, withdrawals 2, keeps 2" in out

    def test_confirm_writes_as_the_user(self, world, county_staff):
        out = self.run(
            "--campaign", "decide", "--period", "2026Q3", "--confirm", "--user", "zuzhibu"
        )
        run = AdjustmentRun.objects.get()
        assert f"confirmed run {run.pk}: awards 2, withdrawals 3, keeps 7" in out
        assert run.status == AdjustmentStatus.CONFIRMED
        assert run.created_by == run.confirmed_by == county_staff
        assert set(HoldingChange.objects.values_list("decided_by", flat=True)) == {county_staff.id}
        assert HoldingChange.objects.count() == 5

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--campaign", "nope", "--period", "2026Q3"], "No period 2026Q3 in campaign nope."),
            (["--campaign", "decide", "--period", "2025Q1"], "No period 2025Q1"),
            (["--campaign", "decide", "--period", "2026Q3", "--confirm"], "--confirm needs --user"),
            (
                ["--campaign", "decide", "--period", "2026Q3", "--confirm", "--user", "ghost"],
                "No active user ghost.",
            ),
        ],
    )
    def test_bad_arguments_are_command_errors(self, world, args, message):
        with pytest.raises(CommandError, match=re.escape(message)):
            self.run(*args)
        assert not AdjustmentRun.objects.exists()

    def test_a_refused_adjustment_is_a_command_error(self, world, township_official):
        with pytest.raises(
            CommandError, match=re.escape(msg("Only county staff may run an adjustment."))
        ):
            self.run(
                "--campaign", "decide", "--period", "2026Q3", "--confirm", "--user", "chengguan"
            )
        assert not AdjustmentRun.objects.exists()

    def test_pending_assessments_are_a_command_error(self, world):
        Assessment.objects.filter(pk=world.assessments["东街村"].pk).update(
            stage=Stage.TOWNSHIP, finalised_at=None
        )
        with pytest.raises(CommandError):
            self.run("--campaign", "decide", "--period", "2026Q3")

    def test_an_error_exits_non_zero(self, world, monkeypatch, capsys):
        # run_from_argv closes every connection when it ends; the test's transaction needs its own.
        monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
        with pytest.raises(SystemExit) as excinfo:
            RunAdjustment().run_from_argv(
                ["manage.py", "run_adjustment", "--campaign", "nope", "--period", "2026Q3"]
            )
        assert excinfo.value.code == 1
        assert "No period 2026Q3 in campaign nope." in capsys.readouterr().err
