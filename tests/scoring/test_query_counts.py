"""Query budgets: each page and export costs the same number of queries for a small county and
a bigger one, so no query runs once per row.

`Sized` builds one campaign (the three-dimension catalogue of tests/scenarios.py) over the
conftest county at two sizes: SMALL has one unit in each township, one adjustment run, one
history entry of each kind, one evidence file and one step of the rectification item; BIG has
twelve units in each township, three runs (one cut to township A), older periods, and a dozen
of every other row. Each test is parametrised over both sizes with one budget, so a count that
grows with the rows fails at BIG. Pages are requested by a user who may see them; the public
showcase anonymously.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from scoring import services
from scoring.excel import exports
from scoring.models import (
    AssessmentEvent,
    AssessmentEventKind,
    ChangeSource,
    Evidence,
    HoldingChange,
    HoldingChangeKind,
    RectificationAction,
    RectificationEvent,
    RectificationItem,
    RectificationStatus,
    Score,
    ScoreChange,
    ScoreStage,
    Stage,
)
from tests import factories, scenarios
from villages.models import User

pytestmark = pytest.mark.django_db

SLUG = "qc"
LABEL = "2026Q3"
SMALL, BIG = 1, 12
SIZES = pytest.mark.parametrize("size", [SMALL, BIG], ids=["small", "big"])


class Sized:
    """The campaign at one size (units per township); see the module docstring."""

    def __init__(self, size, *, county, township_a, township_b, unit_a, unit_b, users):
        self.size = size
        county_staff = users["county_staff"]
        people = [
            county_staff,
            users["township_official"],
            users["village_secretary"],
            users["department"],
        ]
        self.built = built = scenarios.campaign_build(region=county, slug=SLUG)
        self.campaign = built.campaign
        # Older periods first (only BIG has them), then the two the pages read.
        for i in range(size - 1):
            factories.PeriodFactory(campaign=self.campaign, label=f"{2020 + i // 4}Q{i % 4 + 1}")
        self.q2 = scenarios.period_build(built, "2026Q2")
        self.q3 = scenarios.period_build(built, LABEL)
        units = [
            unit_a,
            unit_b,
            *scenarios.many_units(township_a, size - 1, prefix="甲"),
            *scenarios.many_units(township_b, size - 1, prefix="乙"),
        ]
        lost = built.indicators["1.1"]
        for i, unit in enumerate(units):
            scenarios.final_assessment(built, self.q2, unit, {"1.1": str(30 + i % 10)})
            now = {"1.1": str(25 + i % 15), "2.1": str(50 + i % 10)}
            a = scenarios.final_assessment(built, self.q3, unit, now)
            # The stages before: what the gaps page compares.
            scenarios.county_scores(built, a, {"1.1": "40"}, stage=ScoreStage.SELF)
            scenarios.county_scores(built, a, {"1.1": "35"}, stage=ScoreStage.TOWNSHIP)
            factories.RectificationItemFactory(
                assessment=a, indicator=lost, deadline=dt.date(2026, 11, 30)
            )
            if i % 2:
                scenarios.holdings(built, unit, "dangjian", "chanye")
                HoldingChange.objects.create(
                    unit=unit,
                    dimension=built.dim("dangjian"),
                    period=self.q3,
                    kind=HoldingChangeKind.AWARD,
                    score=Decimal("92"),
                    reason="达标",
                    decided_by=county_staff,
                )
            if i % 3 == 0:
                factories.UnitTargetFactory(
                    campaign=self.campaign, unit=unit, recommended_level=2, decided_level=2
                )
            if unit == unit_a:
                self.assessment = a
        factories.LevelTargetFactory(campaign=self.campaign, level=2, count=10)
        factories.LevelTargetFactory(campaign=self.campaign, level=1, count=5)

        # Adjustment runs: one over the county, and in BIG one more and one cut to township A.
        self.run, _proposals, _summary = services.adjustment_propose(
            user=county_staff, period=self.q3
        )
        if size > 1:
            services.adjustment_propose(user=county_staff, period=self.q3)
            services.adjustment_propose(
                user=county_staff, period=self.q3, township_codes=[township_a.code]
            )

        # 东街村's history, evidence and rectification item: `size` rows of each, by turns.
        scores = list(Score.objects.filter(assessment=self.assessment, stage=ScoreStage.COUNTY))
        at = timezone.now()
        ScoreChange.objects.bulk_create(
            ScoreChange(
                score=scores[i % len(scores)],
                assessment=self.assessment,
                indicator_id=scores[i % len(scores)].indicator_id,
                stage=ScoreStage.COUNTY,
                old_value=Decimal("1"),
                new_value=Decimal("2"),
                note=f"改{i}",
                source=ChangeSource.WEB,
                after_submission=bool(i % 2),
                changed_by=people[i % len(people)],
                changed_at=at - dt.timedelta(minutes=i),
            )
            for i in range(size)
        )
        AssessmentEvent.objects.bulk_create(
            AssessmentEvent(
                assessment=self.assessment,
                kind=AssessmentEventKind.SUBMIT,
                from_stage=Stage.SELF,
                to_stage=Stage.TOWNSHIP,
                actor=people[i % len(people)],
                at=at - dt.timedelta(minutes=i),
            )
            for i in range(size)
        )
        self.indicator = lost
        scored = next(s for s in scores if s.indicator_id == lost.id)
        Evidence.objects.bulk_create(
            Evidence(
                score=scored,
                file=f"evidence/x{i}.png",
                original_name=f"照片{i}.png",
                size=100 + i,
                uploaded_by=people[i % len(people)],
            )
            for i in range(size)
        )
        self.item = RectificationItem.objects.get(assessment=self.assessment)
        RectificationEvent.objects.bulk_create(
            RectificationEvent(
                item=self.item,
                action=RectificationAction.ASSIGN,
                from_status=RectificationStatus.OPEN,
                to_status=RectificationStatus.OPEN,
                note=f"措施{i}",
                attachment=f"rectification/f{i}.pdf" if i % 2 else "",
                actor=people[i % len(people)],
                at=at - dt.timedelta(minutes=i),
            )
            for i in range(size)
        )
        self.units = len(units)


@pytest.fixture
def sized(request, county, township_a, township_b, unit_a, unit_b, users):
    return Sized(
        request.node.callspec.params["size"],
        county=county,
        township_a=township_a,
        township_b=township_b,
        unit_a=unit_a,
        unit_b=unit_b,
        users=users,
    )


def fresh(user) -> User:
    """The user read again, without the scope cached on the instance."""
    return User.objects.get(pk=user.pk)


# --- pages ----------------------------------------------------------------------------------


class TestPages:
    def get(self, client, user, url, n, django_assert_num_queries):
        if user is not None:
            client.force_login(user)
        with django_assert_num_queries(n):
            response = client.get(url)
        assert response.status_code == 200
        return response

    @SIZES
    def test_gaps(self, client, sized, county_staff, size, django_assert_num_queries):
        # session, user, scope region, period, townships for the filter, dimensions, maxima,
        # the gap pairs with their scores (count and page), the page's assessments
        url = reverse("scoring:gaps", args=[SLUG, LABEL])
        response = self.get(client, county_staff, url, 10, django_assert_num_queries)
        # Every unit differs between stages on 党建引领 (1.1: 40 / 35 / 25+).
        assert response.context["page"].paginator.count >= sized.units

    @SIZES
    def test_history(self, client, sized, county_staff, size, django_assert_num_queries):
        # session, user, scope region, assessment, page count, changes, events, the menu's
        # campaigns
        url = reverse("scoring:history", args=[sized.assessment.pk])
        response = self.get(client, county_staff, url, 8, django_assert_num_queries)
        assert len(response.context["page"].object_list) == size
        assert len(list(response.context["events"])) == size

    @SIZES
    def test_period_list(self, client, sized, county_staff, size, django_assert_num_queries):
        # session, user, scope region, campaign, periods, counts by period and stage
        url = reverse("scoring:period_list", args=[SLUG])
        response = self.get(client, county_staff, url, 6, django_assert_num_queries)
        assert len(response.context["periods"]) == size + 1

    @SIZES
    def test_adjustment_list(self, client, sized, county_staff, size, django_assert_num_queries):
        # session, user, scope region, period, runs with counts, their townships, stages,
        # townships for the form
        url = reverse("scoring:adjustment_list", args=[SLUG, LABEL])
        response = self.get(client, county_staff, url, 8, django_assert_num_queries)
        assert len(response.context["runs"]) == (1 if size == SMALL else 3)

    @SIZES
    def test_adjustment_detail(self, client, sized, county_staff, size, django_assert_num_queries):
        # session, user, scope region, run, summary, page count, proposals, townships
        url = reverse("scoring:adjustment_detail", args=[sized.run.pk]) + "?action=all"
        response = self.get(client, county_staff, url, 8, django_assert_num_queries)
        assert len(response.context["page"].object_list) == 3 * sized.units

    @SIZES
    def test_targets(self, client, sized, leader, size, django_assert_num_queries):
        # session, user, scope region, campaign, levels (holdings, unit count), county
        # targets, by township (holdings, unit targets, units)
        url = reverse("scoring:targets", args=[SLUG])
        response = self.get(client, leader, url, 10, django_assert_num_queries)
        assert sum(sum(row["actual"]) for row in response.context["rows"]) == sized.units

    @SIZES
    def test_dashboard(self, client, sized, leader, size, django_assert_num_queries):
        # session, user, scope region, campaign, latest period, latest final period, levels
        # (holdings, unit count), county targets, stages, rankings (previous period, totals of
        # both periods: 4 each, holdings again, changes, units), rectification by status,
        # overdue
        url = reverse("scoring:dashboard", args=[SLUG])
        response = self.get(client, leader, url, 24, django_assert_num_queries)
        assert response.context["period"] == sized.q3

    @SIZES
    def test_showcase(self, client, sized, size, django_assert_num_queries):
        # campaign, levels, units; no session, no user
        url = reverse("showcase", args=[SLUG])
        response = self.get(client, None, url, 3, django_assert_num_queries)
        assert sum(n for _level, n in response.context["totals"]) == sized.units // 2

    @SIZES
    def test_evidence_list(self, client, sized, county_staff, size, django_assert_num_queries):
        # session, user, scope region, assessment, indicator, files with their scores and
        # uploaders, the menu's campaigns
        url = reverse("scoring:evidence_list", args=[sized.assessment.pk, sized.indicator.pk])
        response = self.get(client, county_staff, url, 7, django_assert_num_queries)
        assert len(list(response.context["items"])) == size

    @SIZES
    def test_rectification_detail(
        self, client, sized, county_staff, size, django_assert_num_queries
    ):
        # session, user, scope region, item with its unit, period and indicator, steps with
        # their actors, the menu's campaigns
        url = reverse("scoring:rectification_detail", args=[sized.item.pk])
        response = self.get(client, county_staff, url, 6, django_assert_num_queries)
        assert len(list(response.context["events"])) == size


# --- export writers -------------------------------------------------------------------------


class TestExports:
    @SIZES
    def test_write_scores(self, sized, county_staff, tmp_path, size, django_assert_num_queries):
        user = fresh(county_staff)
        # catalogue, dimensions, assessments (scope region first), levels, one chunk of scores
        with django_assert_num_queries(6):
            rows = exports.write_scores(tmp_path / "scores.xlsx", period=sized.q3, user=user)
        assert rows == sized.units

    @SIZES
    def test_write_roster(self, sized, county_staff, tmp_path, size, django_assert_num_queries):
        user = fresh(county_staff)
        # scope region, units, dimensions, holdings, targets
        with django_assert_num_queries(5):
            rows = exports.write_roster(
                tmp_path / "roster.xlsx", campaign=sized.campaign, user=user
            )
        assert rows == sized.units

    @SIZES
    def test_write_ledger(self, sized, county_staff, tmp_path, size, django_assert_num_queries):
        user = fresh(county_staff)
        # scope region, count, rows
        with django_assert_num_queries(3):
            rows = exports.write_ledger(
                tmp_path / "ledger.xlsx", campaign=sized.campaign, user=user
            )
        assert rows == sized.units

    @SIZES
    def test_write_ranking(self, sized, county_staff, tmp_path, size, django_assert_num_queries):
        user = fresh(county_staff)
        # previous period, scope region, totals of both periods (4 each), levels, changes,
        # units
        with django_assert_num_queries(13):
            rows = exports.write_ranking(tmp_path / "ranking.xlsx", period=sized.q3, user=user)
        assert rows == 2 + sized.units
