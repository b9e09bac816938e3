"""The list pages' FilterSets (scoring/filters.py): each filter picks the right rows in SQL, an
invalid value is ignored (its field shows the error) or, for a township or period not the
user's, refused with an empty list, never a 500; paging keeps repeated keys; and a filtered
page costs the same number of queries for one row as for many.

Gaps are ordered in SQL: their order and figures are checked against the Python computation
the page used before (stage_totals over every assessment, sorted by gap then unit code).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import IndicatorKind
from scoring.filters import (
    SORTS,
    GapsFilter,
    ProposalFilter,
    RectificationFilter,
    WorkListFilter,
)
from scoring.models import (
    AdjustmentProposal,
    AdjustmentRun,
    Assessment,
    ProposalAction,
    RectificationItem,
    RectificationStatus,
    Score,
    ScoreStage,
    Stage,
)
from scoring.selectors import stage_totals
from tests import factories, scenarios
from tests.scenarios import Spec, assessment_at

pytestmark = pytest.mark.django_db

A, B = "410527100000", "410527101000"  # township_a, township_b of tests/conftest.py
ELSEWHERE = "410526100000"  # a township of another county


def names(rows) -> list[str]:
    return [row.unit.name for row in rows]


def error_shown(response, field: str) -> bool:
    """The filter form marks the field invalid (and the page still answers 200)."""
    return response.status_code == 200 and field in response.context["filter"].form.errors


# --- work list ------------------------------------------------------------------------------


@pytest.fixture
def work(catalogue, period, unit_a, unit_b, township_a):
    """东街村 (A) at self, 3 scored, returned; 南关村 (A) at township; 西庄村 (B) at county."""
    east = factories.AssessmentFactory(period=period, unit=unit_a, returned_reason="请补充台账")
    factories.scores_fill(east, Stage.SELF, catalogue.shared_points)
    south = factories.UnitFactory(township=township_a, name="南关村")
    return {
        "东街村": east,
        "南关村": assessment_at(period, south, Stage.TOWNSHIP, catalogue),
        "西庄村": factories.AssessmentFactory(period=period, unit=unit_b, stage=Stage.COUNTY),
    }


def work_url(period) -> str:
    return reverse("scoring:work_list", args=[period.campaign.slug, period.label])


class TestWorkListFilter:
    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({}, ["东街村", "南关村", "西庄村"]),
            ({"township": A}, ["东街村", "南关村"]),
            ({"township": B}, ["西庄村"]),
            ({"stage": "county"}, ["西庄村"]),
            ({"stage": "final"}, []),
            ({"q": "东街"}, ["东街村"]),
            ({"q": " 410527101 "}, ["西庄村"]),
            ({"returned": "1"}, ["东街村"]),
            ({"returned": "0"}, ["东街村", "南关村", "西庄村"]),
            ({"overdue": "0"}, ["东街村", "南关村", "西庄村"]),
            ({"sort": "-code"}, ["西庄村", "南关村", "东街村"]),
            ({"sort": "-progress"}, ["南关村", "东街村", "西庄村"]),
            ({"township": A, "stage": "self", "q": "村"}, ["东街村"]),
        ],
        ids=lambda v: "&".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else "",
    )
    def test_each_filter(self, client, county_staff, period, work, params, expected):
        client.force_login(county_staff)
        response = client.get(work_url(period), params)
        assert response.status_code == 200
        listed = names(response.context["rows"])
        if "sort" in params:
            assert listed == expected
        else:
            assert sorted(listed) == sorted(expected)

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"stage": "nonsense"}, "stage"),
            ({"sort": "price"}, "sort"),
            # PostgreSQL refuses NUL in a query parameter: it must never reach the query
            ({"q": "东\x00街"}, "q"),
        ],
    )
    def test_an_unknown_value_is_ignored_and_shown(
        self, client, county_staff, period, work, params, field
    ):
        client.force_login(county_staff)
        response = client.get(work_url(period), params)
        assert error_shown(response, field)
        assert names(response.context["rows"]) == ["东街村", "南关村", "西庄村"]  # by code

    @pytest.mark.parametrize("township", [ELSEWHERE, B, "x" * 300, "4105\x00"])
    def test_a_township_not_the_users_is_refused(
        self, client, township_official, period, work, township
    ):
        client.force_login(township_official)
        response = client.get(work_url(period), {"township": township})
        assert error_shown(response, "township")
        assert response.context["rows"] == []

    def test_the_overdue_tick(self, client, monkeypatch, county_staff, period, work):
        # 2026-10-01 in Shanghai: the self stage (due 09-30) is late, the others are not
        monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 10, 1, 4, tzinfo=dt.UTC))
        client.force_login(county_staff)
        response = client.get(work_url(period), {"overdue": "1"})
        assert names(response.context["rows"]) == ["东街村"]

    def test_the_form_shows_the_values_asked_for(self, client, county_staff, period, work):
        client.force_login(county_staff)
        html = client.get(
            work_url(period), {"township": B, "sort": "stage", "overdue": "1", "q": "庄"}
        ).content.decode()
        assert f'<option value="{B}" selected>' in html
        assert '<option value="stage" selected>' in html
        assert 'name="overdue" value="1"' in html and "checked" in html
        assert 'type="search" name="q" value="庄"' in html
        # the download of the template follows the township chosen
        assert f"sheet.xlsx?region={B}" in html

    def test_every_sort_offered_is_known(self):
        offered = WorkListFilter.base_filters["sort"].extra["choices"]
        assert {value for value, _label in offered} <= set(SORTS)

    def test_a_township_official_gets_no_township_list(
        self, client, township_official, period, work
    ):
        client.force_login(township_official)
        html = client.get(work_url(period)).content.decode()
        assert 'name="township"' not in html
        assert 'name="stage"' in html

    @pytest.mark.parametrize("n", [1, 30])
    def test_a_filtered_page_costs_the_same(
        self, client, django_assert_num_queries, county_staff, catalogue, period, township_a, n
    ):
        for i in range(n):
            unit = factories.UnitFactory(township=township_a, name=f"村{i}")
            assessment_at(period, unit, Stage.TOWNSHIP, catalogue)
        client.force_login(county_staff)
        # the 13 of the unfiltered list (tests/scoring/test_views.py): the filters add none
        with django_assert_num_queries(13):
            response = client.get(
                work_url(period), {"township": A, "q": "村", "sort": "-total", "stage": "township"}
            )
        assert len(response.context["rows"]) == n


# --- pagination -----------------------------------------------------------------------------


def test_paging_keeps_repeated_keys(client, county_staff, catalogue, period, township_a, settings):
    settings.PAGE_SIZE = 2
    for i in range(5):
        factories.AssessmentFactory(
            period=period, unit=factories.UnitFactory(township=township_a, name=f"村{i}")
        )
    client.force_login(county_staff)
    response = client.get(work_url(period), {"township": [B, A], "q": "村", "page": "2"})
    assert len(response.context["rows"]) == 2
    html = response.content.decode()
    query = f"township={B}&amp;township={A}&amp;q=%E6%9D%91"
    assert f'href="?{query}&amp;page=1"' in html
    assert f'href="?{query}&amp;page=3"' in html


# --- gaps -----------------------------------------------------------------------------------

GAP_SPECS = (
    # adds up to 100, with a veto and a bonus capped at 3
    Spec(
        "dangjian",
        "党建引领",
        (("1.1", "40"), ("1.2", "30"), ("1.3", "30")),
        veto="1.4",
        bonus=("1.5", "5"),
        bonus_cap="3",
    ),
    # adds up to 90: scaled by 100/90
    Spec("chanye", "产业兴旺", (("2.1", "30"), ("2.2", "30"), ("2.3", "30"))),
    # adds up to 50 (scaled by 2), with a bonus capped at 4
    Spec(
        "shengtai", "生态宜居", (("3.1", "20"), ("3.2", "30")), bonus=("3.9", "10"), bonus_cap="4"
    ),
)


def _random_scores(built, assessment, rng: random.Random) -> list[Score]:
    """Some stages, some items: points anywhere from 0 to above the maximum (the sum is capped
    item by item), bonus past its cap, vetoes, unscored rows; a third of the units get the same
    sheet at every stage, for gaps of 0 that tie."""

    def value(indicator):
        if indicator.kind == IndicatorKind.VETO:
            return None, rng.choice([True, False, None])
        if rng.random() < 0.4:
            return indicator.max_points, None
        if rng.random() < 0.1:
            return None, None
        return D(rng.randint(0, int(indicator.max_points * 120))) / 100, None

    same = rng.random() < 0.33
    sheet = {
        code: value(indicator)
        for code, indicator in built.indicators.items()
        if rng.random() > 0.15
    }
    scores = []
    for stage in [s for s in ScoreStage.values if rng.random() < 0.7]:
        if not same:
            sheet = {
                code: value(indicator)
                for code, indicator in built.indicators.items()
                if rng.random() > 0.15
            }
        for code, (points, vetoed) in sheet.items():
            scores.append(
                Score(
                    assessment=assessment,
                    indicator=built.indicators[code],
                    stage=stage,
                    value=points,
                    vetoed=vetoed,
                )
            )
    return scores


def gaps_before(period, assessments) -> list[tuple]:
    """The rows as the page computed them before, in Python: every assessment's totals, pairs
    with two stages or more, sorted by gap (largest first) then unit code."""
    totals = stage_totals([a.id for a in assessments], period.campaign, period.catalogue_version)
    rows = []
    for a in sorted(assessments, key=lambda a: a.unit.code):
        by_stage = totals.get(a.id, {})
        for dim_id in sorted(set().union(*[set(v) for v in by_stage.values()])):
            values = [by_stage.get(s, {}).get(dim_id) for s in ScoreStage.values]
            present = [r.score for r in values if r is not None]
            if len(present) >= 2:
                scores = tuple(r.score if r else None for r in values)
                rows.append((a.unit.code, dim_id, max(present) - min(present), scores))
    rows.sort(key=lambda r: (-r[2], r[0]))
    return rows


def gap_rows(response) -> list[tuple]:
    return [
        (
            r["assessment"].unit.code,
            r["dimension"].id,
            r["gap"],
            tuple(r[s] for s in ("self", "township", "county")),
        )
        for r in response.context["page"]
    ]


class TestGaps:
    @pytest.fixture
    def scored(self, county, township_a, township_b):
        built = scenarios.campaign_build(region=county, specs=GAP_SPECS, slug="gaps")
        period = scenarios.period_build(built)
        rng = random.Random(20261001)
        scores = []
        for township in (township_a, township_b):
            for unit in scenarios.many_units(township, 9):
                assessment = factories.AssessmentFactory(period=period, unit=unit)
                scores += _random_scores(built, assessment, rng)
        Score.objects.bulk_create(scores)
        return period

    def url(self, period) -> str:
        return reverse("scoring:gaps", args=[period.campaign.slug, period.label])

    def pages(self, client, period, params) -> list[tuple]:
        rows, page = [], 1
        while True:
            response = client.get(self.url(period), {**params, "page": page})
            assert response.status_code == 200
            rows += gap_rows(response)
            if not response.context["page"].has_next():
                return rows
            page += 1

    @pytest.mark.parametrize("township", ["", A, B])
    def test_same_rows_and_order_as_before_page_by_page(
        self, client, settings, county_staff, scored, township
    ):
        settings.PAGE_SIZE = 7
        client.force_login(county_staff)
        assessments = Assessment.objects.filter(period=scored).select_related("unit__township")
        if township:
            assessments = assessments.filter(unit__township__code=township)
        expected = gaps_before(scored, list(assessments))
        assert len(expected) > 14  # several pages, with ties at 0 and real gaps
        assert any(r[2] == 0 for r in expected) and any(r[2] > 0 for r in expected)
        params = {"township": township} if township else {}
        assert self.pages(client, scored, params) == expected

    def test_a_township_official_sees_only_their_townships_gaps(
        self, client, township_official, scored
    ):
        client.force_login(township_official)
        response = client.get(self.url(scored))
        assert {code[:9] for code, *_ in gap_rows(response)} == {A[:9]}
        response = client.get(self.url(scored), {"township": B})
        assert error_shown(response, "township")
        assert gap_rows(response) == []

    def test_the_filterset_filters_assessments_by_township(self, county_staff, scored):
        everything = Assessment.objects.filter(period=scored)
        filters = GapsFilter({"township": B}, everything, townships=_townships(county_staff))
        assert {a.unit.township.code for a in filters.qs} == {B}

    @pytest.mark.parametrize("n", [1, 9])
    def test_it_costs_the_same_for_few_and_many(
        self, client, django_assert_num_queries, county, township_a, county_staff, n
    ):
        built = scenarios.campaign_build(region=county, specs=GAP_SPECS, slug="gaps")
        period = scenarios.period_build(built)
        for unit in scenarios.many_units(township_a, n):
            assessment = factories.AssessmentFactory(period=period, unit=unit)
            scenarios.county_scores(built, assessment, {"1.1": "30"}, stage=ScoreStage.SELF)
            scenarios.county_scores(built, assessment, stage=ScoreStage.TOWNSHIP)
        client.force_login(county_staff)
        # session, user, scope, period, townships, dimensions, maxima, page count, page of
        # pairs with their scores, the page's assessments: the 10 of the page before it was
        # cut in SQL
        with django_assert_num_queries(10):
            response = client.get(self.url(period), {"township": A})
        assert len(gap_rows(response)) == 3 * n


def _townships(user):
    from villages.models import Region

    return Region.objects.visible_to(user).townships().order_by("code")


# --- ranking --------------------------------------------------------------------------------


class TestRankingFilter:
    @pytest.fixture
    def race(self, county, township_a, township_b):
        built = scenarios.campaign_build(region=county, slug="saima", specs=scenarios.ONE_ITEM)
        period = scenarios.period_build(built, "2026Q3")
        totals = {township_a: ["80", "70", "95"], township_b: ["60", "90"]}
        for township, values in totals.items():
            units = scenarios.many_units(township, len(values))
            for unit, total in zip(units, values, strict=True):
                scenarios.final_assessment(built, period, unit, {"1.1": total})
        return period

    def url(self) -> str:
        return reverse("scoring:ranking", args=["saima", "2026Q3"])

    def totals(self, response) -> list[D]:
        return [r.total for r in response.context["unit_page"]]

    def test_the_township_picks_its_units_in_the_overall_order(self, client, county_staff, race):
        client.force_login(county_staff)
        everything = client.get(self.url())
        assert self.totals(everything) == [D("95"), D("90"), D("80"), D("70"), D("60")]
        response = client.get(self.url(), {"township": A})
        assert self.totals(response) == [D("95"), D("80"), D("70")]
        # the ranks of the townships do not depend on the filter
        assert [t.rank for t in response.context["township_rows"]] == [1, 2]
        assert [t.township.code for t in response.context["township_rows"]] == [A, B]
        assert '<a href="?">' in response.content.decode()  # back to all townships

    @pytest.mark.parametrize("township", [ELSEWHERE, "", "'; drop table"])
    def test_an_unknown_township(self, client, county_staff, race, township):
        client.force_login(county_staff)
        response = client.get(self.url(), {"township": township})
        assert response.status_code == 200
        assert len(self.totals(response)) == (5 if township == "" else 0)

    def test_a_township_official_cannot_pick_the_other_township(
        self, client, township_official, race
    ):
        client.force_login(township_official)
        assert self.totals(client.get(self.url())) == [D("95"), D("80"), D("70")]
        assert self.totals(client.get(self.url(), {"township": B})) == []

    @pytest.mark.parametrize("per_township", [1, 12])
    def test_a_filtered_ranking_costs_the_same(
        self,
        client,
        django_assert_num_queries,
        county,
        township_a,
        township_b,
        county_staff,
        per_township,
    ):
        built = scenarios.campaign_build(region=county, slug="saima", specs=scenarios.ONE_ITEM)
        q2 = scenarios.period_build(built, "2026Q2")
        q3 = scenarios.period_build(built, "2026Q3")
        for township in (township_a, township_b):
            for i, unit in enumerate(scenarios.many_units(township, per_township)):
                scenarios.final_assessment(built, q2, unit, {"1.1": str(60 + i)})
                scenarios.final_assessment(built, q3, unit, {"1.1": str(62 + i)})
        client.force_login(county_staff)
        # the 18 of the unfiltered ranking (test_decision_views.py), and the ids of the
        # township's units
        with django_assert_num_queries(19):
            response = client.get(self.url(), {"township": B})
        assert len(response.context["unit_page"].object_list) == per_township


# --- rectification ledger -------------------------------------------------------------------


class TestRectificationFilter:
    @pytest.fixture
    def ledger(self, county, township_a, township_b, unit_a, unit_b):
        built = scenarios.campaign_build(region=county, slug="zhenggai")
        q2 = scenarios.period_build(built, "2026Q2")
        q3 = scenarios.period_build(built, "2026Q3")
        past = dt.date(2020, 1, 1)

        def item(name, period, unit, code, status, deadline=None):
            assessment, _ = Assessment.objects.get_or_create(
                period=period,
                unit=unit,
                defaults={"stage": Stage.FINAL, "finalised_at": timezone.now()},
            )
            return name, RectificationItem.objects.create(
                assessment=assessment,
                indicator=built.indicators[code],
                points_lost=D("5"),
                status=status,
                deadline=deadline,
                closed_at=timezone.now() if status == RectificationStatus.CLOSED else None,
            )

        return dict(
            [
                item("a_open_late", q3, unit_a, "1.1", RectificationStatus.OPEN, past),
                item("a_reported", q3, unit_a, "1.2", RectificationStatus.REPORTED),
                item("a_closed", q2, unit_a, "1.1", RectificationStatus.CLOSED),
                item("b_open", q3, unit_b, "2.1", RectificationStatus.OPEN),
                item("b_verified", q2, unit_b, "2.2", RectificationStatus.VERIFIED),
            ]
        )

    def url(self) -> str:
        return reverse("scoring:rectification_list", args=["zhenggai"])

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({}, {"a_open_late", "a_reported", "b_open", "b_verified"}),
            ({"status": "active"}, {"a_open_late", "a_reported", "b_open", "b_verified"}),
            ({"status": "all"}, {"a_open_late", "a_reported", "a_closed", "b_open", "b_verified"}),
            ({"status": ""}, {"a_open_late", "a_reported", "a_closed", "b_open", "b_verified"}),
            ({"status": "closed"}, {"a_closed"}),
            ({"status": "open"}, {"a_open_late", "b_open"}),
            ({"township": A}, {"a_open_late", "a_reported"}),
            ({"township": B, "status": "all"}, {"b_open", "b_verified"}),
            ({"period": "2026Q2"}, {"b_verified"}),
            ({"period": "2026Q2", "status": "all"}, {"a_closed", "b_verified"}),
            ({"overdue": "1"}, {"a_open_late"}),
            # unknown values: a status is ignored (as before: everything), a township or period
            # gives nothing
            ({"status": "lost"}, {"a_open_late", "a_reported", "a_closed", "b_open", "b_verified"}),
            ({"township": ELSEWHERE}, set()),
            ({"period": "2031Q1"}, set()),
        ],
        ids=lambda v: "&".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else "",
    )
    def test_each_filter(self, client, county_staff, ledger, params, expected):
        client.force_login(county_staff)
        response = client.get(self.url(), params)
        assert response.status_code == 200
        by_pk = {item.pk: name for name, item in ledger.items()}
        assert {by_pk[i.pk] for i in response.context["page"]} == expected

    def test_the_form_opens_on_not_closed(self, client, county_staff, ledger):
        client.force_login(county_staff)
        html = client.get(self.url()).content.decode()
        assert '<option value="active" selected>' in html
        assert '<option value="2026Q2">' in html

    def test_the_filterset_alone(self, county_staff, ledger):
        items = RectificationItem.objects.all()
        periods = ["2026Q2", "2026Q3"]

        class P:
            def __init__(self, label):
                self.label = label

        filters = RectificationFilter(
            {"period": "2026Q3", "township": B},
            items,
            townships=_townships(county_staff),
            periods=[P(label) for label in periods],
        )
        assert [i.pk for i in filters.qs] == [ledger["b_open"].pk]
        assert filters.form.cleaned_data["status"] == "active"

    @pytest.mark.parametrize("n", [1, 15])
    def test_a_filtered_ledger_costs_the_same(
        self, client, django_assert_num_queries, county, township_a, county_staff, n
    ):
        built = scenarios.campaign_build(region=county, slug="zhenggai")
        period = scenarios.period_build(built, "2026Q3")
        for unit in scenarios.many_units(township_a, n):
            assessment = factories.AssessmentFactory(
                period=period, unit=unit, stage=Stage.FINAL, finalised_at=timezone.now()
            )
            RectificationItem.objects.create(
                assessment=assessment, indicator=built.indicators["1.1"], points_lost=D("5")
            )
        client.force_login(county_staff)
        # session, user, scope, campaign, townships, periods, per township, page count, page
        with django_assert_num_queries(9):
            response = client.get(self.url(), {"township": A, "period": "2026Q3"})
        assert len(response.context["page"]) == n


# --- adjustment run -------------------------------------------------------------------------


class TestProposalFilter:
    @pytest.fixture
    def run(self, county, township_a, township_b, unit_a, unit_b, county_staff):
        built = scenarios.campaign_build(region=county, slug="tiaoqi")
        period = scenarios.period_build(built, "2026Q3")
        run = AdjustmentRun.objects.create(
            campaign=built.campaign, period=period, created_by=county_staff
        )
        south = factories.UnitFactory(township=township_a, name="南街村")

        def proposal(unit, dim, action, override=""):
            return AdjustmentProposal.objects.create(
                run=run,
                unit=unit,
                dimension=built.dim(dim),
                held=action == ProposalAction.WITHDRAW,
                score=D("90"),
                action=action,
                override=override,
                override_reason="县委研究决定" if override else "",
            )

        run.named = {
            "a_award": proposal(unit_a, "dangjian", ProposalAction.AWARD),
            "a_keep": proposal(unit_a, "chanye", ProposalAction.KEEP),
            "south_keep_awarded": proposal(
                south, "dangjian", ProposalAction.KEEP, ProposalAction.AWARD
            ),
            "b_withdraw": proposal(unit_b, "dangjian", ProposalAction.WITHDRAW),
            "b_award_kept": proposal(unit_b, "chanye", ProposalAction.AWARD, ProposalAction.KEEP),
        }
        return run

    def url(self, run) -> str:
        return reverse("scoring:adjustment_detail", args=[run.pk])

    CHANGES = {"a_award", "south_keep_awarded", "b_withdraw", "b_award_kept"}
    EVERY = {*CHANGES, "a_keep"}

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({}, CHANGES),
            ({"action": "changes"}, CHANGES),
            ({"action": "award"}, {"a_award", "south_keep_awarded"}),
            ({"action": "keep"}, {"a_keep", "b_award_kept"}),
            ({"action": "withdraw"}, {"b_withdraw"}),
            ({"action": "all", "township": B}, {"b_withdraw", "b_award_kept"}),
            ({"township": A}, {"a_award", "south_keep_awarded"}),
            # an unknown decision is ignored (everything, as before); a foreign township refused
            ({"action": "maybe"}, EVERY),
            ({"action": ""}, EVERY),
            ({"township": ELSEWHERE}, set()),
        ],
        ids=lambda v: "&".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else "",
    )
    def test_each_filter(self, client, county_staff, run, params, expected):
        client.force_login(county_staff)
        response = client.get(self.url(run), params)
        assert response.status_code == 200
        by_pk = {p.pk: name for name, p in run.named.items()}
        assert {by_pk[p.pk] for p in response.context["page"]} == expected

    def test_the_filterset_alone(self, county_staff, run):
        filters = ProposalFilter(
            {"action": "keep"},
            AdjustmentProposal.objects.filter(run=run),
            townships=_townships(county_staff),
        )
        assert {p.pk for p in filters.qs} == {
            run.named["a_keep"].pk,
            run.named["b_award_kept"].pk,
        }

    @pytest.mark.parametrize("n", [1, 12])
    def test_a_filtered_run_costs_the_same(
        self, client, django_assert_num_queries, county, township_a, county_staff, n
    ):
        built = scenarios.campaign_build(region=county, slug="tiaoqi")
        period = scenarios.period_build(built, "2026Q3")
        run = AdjustmentRun.objects.create(
            campaign=built.campaign, period=period, created_by=county_staff
        )
        for unit in scenarios.many_units(township_a, n):
            AdjustmentProposal.objects.create(
                run=run,
                unit=unit,
                dimension=built.dim("dangjian"),
                held=False,
                score=D("95"),
                action=ProposalAction.AWARD,
            )
        client.force_login(county_staff)
        # session, user, scope, run, summary, townships, page count, page
        with django_assert_num_queries(8):
            response = client.get(self.url(run), {"township": A, "action": "award"})
        assert len(response.context["page"]) == n


# --- unit targets ---------------------------------------------------------------------------


class TestUnitTargetFilter:
    def url(self, campaign) -> str:
        return reverse("scoring:unit_targets", args=[campaign.slug])

    def test_the_township(self, client, county_staff, catalogue, unit_a, unit_b):
        client.force_login(county_staff)
        campaign = catalogue.campaign
        units = lambda r: [u.pk for u, _t, _n in r.context["rows"]]  # noqa: E731
        assert units(client.get(self.url(campaign))) == [unit_a.pk, unit_b.pk]
        assert units(client.get(self.url(campaign), {"township": B})) == [unit_b.pk]
        refused = client.get(self.url(campaign), {"township": ELSEWHERE})
        assert error_shown(refused, "township") and units(refused) == []

    def test_a_filtered_post_saves_the_shown_units_only(
        self, client, county_staff, catalogue, unit_a, unit_b
    ):
        from campaigns.models import UnitTarget

        client.force_login(county_staff)
        url = self.url(catalogue.campaign) + f"?township={B}"
        response = client.post(url, {f"level-{unit_b.pk}": "2", f"level-{unit_a.pk}": "1"})
        assert response.status_code == 302 and response.url == url
        assert dict(UnitTarget.objects.values_list("unit_id", "decided_level")) == {unit_b.pk: 2}

    @pytest.mark.parametrize("n", [1, 20])
    def test_a_filtered_page_costs_the_same(
        self, client, django_assert_num_queries, catalogue, county_staff, township_b, n
    ):
        factories.UnitFactory.create_batch(n, township=township_b)
        client.force_login(county_staff)
        # the 10 of the unfiltered page (tests/scoring/test_unit_targets.py)
        with django_assert_num_queries(10):
            response = client.get(self.url(catalogue.campaign), {"township": B})
        assert len(response.context["rows"]) == n


# --- the base class -------------------------------------------------------------------------


class TestListFilterSet:
    def test_unbound_values_take_the_defaults_and_keep_the_given_ones(self, county_staff):
        none = AdjustmentProposal.objects.none()
        kwargs = {"townships": _townships(county_staff)}
        absent = ProposalFilter({}, none, **kwargs)
        assert absent.is_valid() and absent.form.cleaned_data["action"] == "changes"
        given = ProposalFilter({"action": "all"}, none, **kwargs)
        assert given.is_valid()
        assert given.form.cleaned_data == {"township": "", "action": "all"}

    def test_choices_are_read_once(self, django_assert_num_queries, county_staff, township_a):
        townships = _townships(county_staff)
        filters = GapsFilter({"township": A}, Assessment.objects.none(), townships=townships)
        with django_assert_num_queries(1):
            assert filters.is_valid()
            filters.shown_fields()
            list(filters.form["township"])
