"""Decision pages: rankings (赛马), targets, the dashboard, a unit's gains and losses, and the
public showcase (展旗); who may see them, what is cut to scope, and fixed query counts.

The ranking campaign has one item worth 100, so a unit's total is the points it was given:

    unit        township   2026Q2  2026Q3  change in 2026Q3
    东街村      城关镇 A     80      85     —
    南街村      城关镇 A     70      71     +1 (awarded)
    西庄村      东庄镇 B     60      65     —
    北庄村      东庄镇 B     90      88     −1 (withdrawn)

A averages 78.00 (was 75.00, +3.00), B 76.50 (was 75.00, +1.50), so A ranks first.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from campaigns.models import CampaignStatus
from scoring.models import (
    Assessment,
    HoldingChange,
    HoldingChangeKind,
    RectificationStatus,
    Stage,
)
from scoring.services import adjustment_propose
from tests import factories, scenarios

pytestmark = pytest.mark.django_db

TOTALS = {
    "东街村": ("80", "85"),
    "南街村": ("70", "71"),
    "西庄村": ("60", "65"),
    "北庄村": ("90", "88"),
}


class Race:
    """The ranking campaign above, with what the units hold and what changed in 2026Q3."""

    def __init__(self, county, township_a, township_b, unit_a, unit_b, county_staff):
        self.built = scenarios.campaign_build(region=county, slug="saima", specs=scenarios.ONE_ITEM)
        self.campaign = self.built.campaign
        self.q2 = scenarios.period_build(self.built, "2026Q2")
        self.q3 = scenarios.period_build(self.built, "2026Q3")
        self.units = {
            "东街村": unit_a,
            "南街村": factories.UnitFactory(township=township_a, name="南街村"),
            "西庄村": unit_b,
            "北庄村": factories.UnitFactory(township=township_b, name="北庄村"),
        }
        for name, (before, now) in TOTALS.items():
            unit = self.units[name]
            scenarios.final_assessment(self.built, self.q2, unit, {"1.1": before})
            scenarios.final_assessment(self.built, self.q3, unit, {"1.1": now})
        scenarios.holdings(self.built, unit_a, "zonghe")
        scenarios.holdings(self.built, self.units["南街村"], "zonghe")
        dim = self.built.dim("zonghe")
        for name, kind, score in [
            ("南街村", HoldingChangeKind.AWARD, "71"),
            ("北庄村", HoldingChangeKind.WITHDRAW, "88"),
        ]:
            HoldingChange.objects.create(
                unit=self.units[name],
                dimension=dim,
                period=self.q3,
                kind=kind,
                score=D(score),
                reason="调整",
                decided_by=county_staff,
            )

    def url(self, label="2026Q3") -> str:
        return reverse("scoring:ranking", args=["saima", label])


@pytest.fixture
def race(county, township_a, township_b, unit_a, unit_b, county_staff):
    return Race(county, township_a, township_b, unit_a, unit_b, county_staff)


def names(rows) -> list[str]:
    return [r.unit.name for r in rows]


class TestRanking:
    def test_townships_by_average_with_the_change_since_the_previous_period(
        self, client, race, county_staff
    ):
        client.force_login(county_staff)
        response = client.get(race.url())
        assert response.status_code == 200
        rows = response.context["township_rows"]
        assert [
            (
                t.rank,
                t.township.name,
                t.units,
                t.average,
                t.previous_average,
                t.rise,
                t.held,
                t.change,
            )
            for t in rows
        ] == [
            (1, "城关镇", 2, D("78.00"), D("75.00"), D("3.00"), 2, 1),
            (2, "东庄镇", 2, D("76.50"), D("75.00"), D("1.50"), 0, -1),
        ]
        table = re.search(
            r'<table[^>]*id="township-ranking".*?</table>', response.content.decode(), re.S
        ).group()
        assert table.index("城关镇") < table.index("东庄镇")
        assert "+3.00" in table and "+1.50" in table

    def test_units_by_total_with_their_rise_level_and_change(self, client, race, county_staff):
        client.force_login(county_staff)
        rows = client.get(race.url()).context["unit_page"].object_list
        assert [(r.unit.name, r.total, r.rise, r.level, r.change) for r in rows] == [
            ("北庄村", D("88.00"), D("-2.00"), 0, -1),
            ("东街村", D("85.00"), D("5.00"), 1, 0),
            ("南街村", D("71.00"), D("1.00"), 1, 1),
            ("西庄村", D("65.00"), D("5.00"), 0, 0),
        ]

    def test_the_first_period_has_no_change(self, client, race, county_staff):
        client.force_login(county_staff)
        rows = client.get(race.url("2026Q2")).context["township_rows"]
        assert [(t.average, t.rise) for t in rows] == [(D("75.00"), None), (D("75.00"), None)]
        # Equal averages: by township code.
        assert [t.township.name for t in rows] == ["城关镇", "东庄镇"]

    def test_effective_and_slow_follow_the_campaign_defaults(self, client, race, county_staff):
        # Effective: rise ≥ 3 or a level gained; slow: total < 70 or a level lost.
        client.force_login(county_staff)
        response = client.get(race.url())
        assert names(response.context["effective"]) == ["东街村", "南街村", "西庄村"]
        assert names(response.context["slow"]) == ["北庄村", "西庄村"]
        content = response.content.decode()
        slow = re.search(r'id="slow">(.*?)</p>', content).group(1)
        assert slow == "北庄村、西庄村"

    def test_effective_and_slow_follow_the_campaigns_own_margins(self, client, race, county_staff):
        race.campaign.effective_rise = D("6")
        race.campaign.slow_below = D("60")
        race.campaign.save()
        client.force_login(county_staff)
        response = client.get(race.url())
        assert names(response.context["effective"]) == ["南街村"]  # gained, though +1 only
        assert names(response.context["slow"]) == ["北庄村"]  # lost, though 88

    def test_a_rise_exactly_at_the_margin_is_effective(self, client, race, county_staff):
        race.campaign.effective_rise = D("5")
        race.campaign.slow_below = D("65")
        race.campaign.save()
        client.force_login(county_staff)
        response = client.get(race.url())
        assert names(response.context["effective"]) == ["东街村", "南街村", "西庄村"]
        assert names(response.context["slow"]) == ["北庄村"]  # 65 is not below 65

    def test_a_township_average_rounds_half_up(self, client, race, county_staff):
        # 85.00 and 67.25 average 76.125: 四舍五入 gives 76.13, as every other score here.
        race.built.indicators["1.1"].scores.filter(
            assessment__period=race.q3, assessment__unit=race.units["南街村"]
        ).update(value=D("67.25"))
        client.force_login(county_staff)
        rows = client.get(race.url()).context["township_rows"]
        assert {t.township.name: t.average for t in rows}["城关镇"] == D("76.13")

    def test_units_not_final_have_no_total_and_come_last(self, client, race, county_staff):
        race.units["北庄村"].assessments.filter(period=race.q3).update(
            stage=Stage.COUNTY, finalised_at=None
        )
        client.force_login(county_staff)
        rows = client.get(race.url()).context["unit_page"].object_list
        assert [(r.unit.name, r.total) for r in rows][-1] == ("北庄村", None)
        townships = client.get(race.url()).context["township_rows"]
        assert {t.township.name: t.average for t in townships}["东庄镇"] == D("65.00")

    def test_a_township_official_sees_only_their_township(self, client, race, township_official):
        client.force_login(township_official)
        response = client.get(race.url())
        assert response.status_code == 200
        assert [t.township.name for t in response.context["township_rows"]] == ["城关镇"]
        assert names(response.context["unit_page"].object_list) == ["东街村", "南街村"]
        assert "北庄村" not in response.content.decode()

    def test_the_township_filter(self, client, race, county_staff):
        client.force_login(county_staff)
        response = client.get(race.url(), {"township": "410527101000"})
        assert names(response.context["unit_page"].object_list) == ["北庄村", "西庄村"]

    @pytest.mark.parametrize("per_township", [1, 12])
    def test_it_costs_the_same_queries_for_few_and_many(
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
                if i % 2:
                    scenarios.holdings(built, unit, "zonghe")
                    factories.HoldingChangeFactory(
                        unit=unit, period=q3, dimension=built.dim("zonghe")
                    )
        client.force_login(county_staff)
        # session, user, scope region, period, previous period, totals of both periods (final
        # assessments, dimensions, max points, score sums: 4 each), levels, changes, units,
        # the periods and their final / total counts (2)
        with django_assert_num_queries(18):
            response = client.get(reverse("scoring:ranking", args=["saima", "2026Q3"]))
        assert len(response.context["unit_page"].object_list) == 2 * per_township


class TestTargets:
    @pytest.fixture
    def targets_world(self, county, township_a, township_b, unit_a, unit_b):
        built = scenarios.campaign_build(region=county, slug="mubiao")
        south = factories.UnitFactory(township=township_a, name="南街村")
        factories.UnitFactory(township=township_b, name="北庄村")
        scenarios.holdings(built, unit_a, "dangjian", "chanye")
        scenarios.holdings(built, south, "dangjian")
        scenarios.holdings(built, unit_b, "dangjian", "shengtai")
        factories.LevelTargetFactory(campaign=built.campaign, level=5, count=6)
        factories.LevelTargetFactory(campaign=built.campaign, level=3, count=10)
        factories.UnitTargetFactory(campaign=built.campaign, unit=unit_a, decided_level=3)
        factories.UnitTargetFactory(campaign=built.campaign, unit=unit_b, decided_level=2)
        # Recommended only, not decided: no target yet.
        factories.UnitTargetFactory(campaign=built.campaign, unit=south, recommended_level=3)
        return built

    def url(self) -> str:
        return reverse("scoring:targets", args=["mubiao"])

    @pytest.mark.parametrize("role", ["county_staff", "leader"])
    def test_county_targets_against_actual_levels(self, client, targets_world, users, role):
        client.force_login(users[role])
        response = client.get(self.url())
        assert response.status_code == 200
        assert response.context["levels"] == [
            (5, 0, 6),
            (4, 0, None),
            (3, 0, 10),
            (2, 2, None),
            (1, 1, None),
            (0, 1, None),
        ]

    def test_per_township_actual_and_target_counts(self, client, targets_world, county_staff):
        client.force_login(county_staff)
        response = client.get(self.url())
        rows = {row["township"].name: row for row in response.context["rows"]}
        assert response.context["level_headers"] == [5, 4, 3, 2, 1, 0]
        # (actual, target) for levels 5…0
        assert rows["城关镇"]["pairs"] == [(0, 0), (0, 0), (0, 1), (1, 0), (1, 0), (0, 0)]
        assert rows["城关镇"]["below_target"] == 1  # 东街村 holds 2, target 3
        assert rows["东庄镇"]["pairs"] == [(0, 0), (0, 0), (0, 0), (1, 1), (0, 0), (1, 0)]
        assert rows["东庄镇"]["below_target"] == 0
        table = re.search(
            r'id="township-targets".*?</table>', response.content.decode(), re.S
        ).group()
        assert "1 / 0" in table and "0 / 1" in table and "1 / 1" in table

    def test_an_inactive_units_holdings_are_not_counted(
        self, client, targets_world, township_b, county_staff
    ):
        # A unit merged away (inactive) keeps its holding rows; the page counts active units,
        # so the level counts must add up to them like the per-township table does.
        gone = factories.UnitFactory(township=township_b, name="旧村", is_active=False)
        scenarios.holdings(targets_world, gone, "dangjian", "chanye")
        client.force_login(county_staff)
        levels = client.get(self.url()).context["levels"]
        assert [(lvl, n) for lvl, n, _t in levels if n] == [(2, 2), (1, 1), (0, 1)]
        assert sum(n for _lvl, n, _t in levels) == 4

    def test_a_township_official_sees_their_township_only(
        self, client, targets_world, township_official
    ):
        client.force_login(township_official)
        response = client.get(self.url())
        assert [row["township"].name for row in response.context["rows"]] == ["城关镇"]
        assert [(lvl, n) for lvl, n, _t in response.context["levels"] if n] == [(2, 1), (1, 1)]


class TestDashboard:
    def url(self) -> str:
        return reverse("scoring:dashboard", args=["saima"])

    # Lead departments read the dashboard too (issue 12), not the adjustments.
    @pytest.mark.parametrize("role", ["county_staff", "leader", "department", "superuser"])
    def test_county_and_leaders_see_it_with_chart_data(self, client, race, users, role):
        factories.LevelTargetFactory(campaign=race.campaign, level=1, count=3)
        # Two lost-points items of 2026Q3 (the race has none): 东街村 open, 北庄村 closed.
        for name, status in [
            ("东街村", RectificationStatus.OPEN),
            ("北庄村", RectificationStatus.CLOSED),
        ]:
            factories.RectificationItemFactory(
                assessment=Assessment.objects.get(period=race.q3, unit=race.units[name]),
                indicator=race.built.indicators["1.1"],
                status=status,
                closed_at=timezone.now() if status == RectificationStatus.CLOSED else None,
            )
        client.force_login(users[role])
        response = client.get(self.url())
        assert response.status_code == 200
        content = response.content.decode()
        script = re.search(
            r'<script id="chart-data" type="application/json">(.*?)</script>', content, re.S
        )
        assert script is not None
        charts = json.loads(script.group(1))
        # What the page embeds, worked out from the race (module docstring) and the rows above.
        with translation.override("zh-hans"):
            assert charts["stages"] == [
                {"name": str(Stage.SELF.label), "value": 0},
                {"name": str(Stage.TOWNSHIP.label), "value": 0},
                {"name": str(Stage.COUNTY.label), "value": 0},
                {"name": str(Stage.FINAL.label), "value": 4},  # all four final in 2026Q3
            ]
            assert charts["rectification"] == [
                {"name": str(RectificationStatus.OPEN.label), "value": 1},
                {"name": str(RectificationStatus.REPORTED.label), "value": 0},
                {"name": str(RectificationStatus.VERIFIED.label), "value": 0},
                {"name": str(RectificationStatus.CLOSED.label), "value": 1},
            ]
            assert charts["levels"]["labels"] == {
                "actual": gettext("Now"),
                "target": gettext("Target"),
                "axis": gettext("flags"),
            }
            assert charts["townships"]["label"] == gettext("Average final score")
        assert set(charts) == {"levels", "stages", "townships", "rectification"}
        axis = charts["levels"]["categories"]
        assert axis == ["5", "4", "3", "2", "1", "0"]
        assert dict(zip(axis, charts["levels"]["actual"], strict=True)) == {
            "5": 0,
            "4": 0,
            "3": 0,
            "2": 0,
            "1": 2,
            "0": 2,
        }
        assert charts["levels"]["target"] == [None, None, None, None, 3, None]
        assert charts["townships"]["names"] == ["城关镇", "东庄镇"]
        assert charts["townships"]["averages"] == [78.0, 76.5]

    @pytest.mark.parametrize(
        "role", ["township_official", "village_secretary", "stranger", "no_role"]
    )
    def test_other_roles_are_refused(self, client, race, users, role):
        client.force_login(users[role])
        assert client.get(self.url()).status_code == 403

    def test_a_campaign_without_periods_still_shows(self, client, county, county_staff):
        scenarios.campaign_build(region=county, slug="kong")
        client.force_login(county_staff)
        response = client.get(reverse("scoring:dashboard", args=["kong"]))
        assert response.status_code == 200
        assert (
            json.loads(
                re.search(
                    r'id="chart-data" type="application/json">(.*?)<', response.content.decode()
                ).group(1)
            )["townships"]["names"]
            == []
        )


class TestUnitTimeline:
    def test_it_shows_gains_and_losses_with_period_score_and_reason(
        self, client, county, unit_a, county_staff, township_official
    ):
        built = scenarios.campaign_build(region=county, slug="lishi")
        q2 = scenarios.period_build(built, "2026Q2")
        q3 = scenarios.period_build(built, "2026Q3")
        county_staff.first_name = "赵科长"
        county_staff.save()
        now = timezone.now()
        HoldingChange.objects.create(
            unit=unit_a,
            dimension=built.dim("dangjian"),
            period=q2,
            kind=HoldingChangeKind.AWARD,
            score=D("92.50"),
            reason="达到授旗标准",
            decided_by=county_staff,
            decided_at=now - dt.timedelta(days=90),
        )
        HoldingChange.objects.create(
            unit=unit_a,
            dimension=built.dim("dangjian"),
            period=q3,
            kind=HoldingChangeKind.WITHDRAW,
            score=D("85.00"),
            reason="县级抽查不达标",
            decided_by=county_staff,
            decided_at=now,
        )
        client.force_login(township_official)
        response = client.get(reverse("villages:unit_detail", args=[unit_a.pk]))
        assert response.status_code == 200
        campaign = next(c for c in response.context["campaigns"] if c.slug == "lishi")
        assert [(c.period.label, c.kind, c.score, c.reason) for c in campaign.timeline] == [
            ("2026Q3", HoldingChangeKind.WITHDRAW, D("85.00"), "县级抽查不达标"),
            ("2026Q2", HoldingChangeKind.AWARD, D("92.50"), "达到授旗标准"),
        ]
        lines = re.findall(
            r'<li class="text-(success|danger)">(.*?)</li>', response.content.decode()
        )
        assert [kind for kind, _text in lines] == ["danger", "success"]
        withdrawn, awarded = (text for _kind, text in lines)
        for part in ("2026Q3", "− 党建引领", "85.00", "县级抽查不达标", "赵科长"):
            assert part in withdrawn
        for part in ("2026Q2", "+ 党建引领", "92.50", "达到授旗标准"):
            assert part in awarded

    def test_a_confirmed_adjustment_appears_on_the_unit_page(
        self, client, race, county_staff, unit_b
    ):
        from scoring.services import adjustment_confirm

        race.campaign.threshold = D("60")
        race.campaign.save()
        run, _p, _s = adjustment_propose(user=county_staff, period=race.q3)
        HoldingChange.objects.all().delete()  # the hand-made ones of the race
        adjustment_confirm(user=county_staff, run=run)
        client.force_login(county_staff)
        content = client.get(reverse("villages:unit_detail", args=[unit_b.pk])).content.decode()
        assert "2026Q3 · + 综合" in content
        assert "65.00" in content

    def test_another_townships_unit_is_404(self, client, unit_a, stranger):
        client.force_login(stranger)
        assert client.get(reverse("villages:unit_detail", args=[unit_a.pk])).status_code == 404


class TestShowcase:
    def url(self, slug="saima") -> str:
        return reverse("showcase", args=[slug])

    @pytest.fixture
    def shown(self, race):
        scenarios.holdings(race.built, race.units["西庄村"], "zonghe")
        return race

    def test_it_is_public(self, client, shown):
        response = client.get(self.url())
        assert response.status_code == 200
        assert response.context["user"].is_anonymous

    def test_it_lists_units_by_level_per_township(self, client, county, shown):
        # Two dimensions for this one: levels 2 and 1 in the same campaign.
        other = scenarios.campaign_build(region=county, slug="zhanqi")
        scenarios.holdings(other, shown.units["东街村"], "dangjian", "chanye")
        scenarios.holdings(other, shown.units["南街村"], "dangjian")
        scenarios.holdings(other, shown.units["西庄村"], "shengtai", "chanye")
        response = client.get(self.url("zhanqi"))
        assert response.context["rows"] == [
            {"township": "城关镇", "levels": [(2, ["东街村"]), (1, ["南街村"])]},
            {"township": "东庄镇", "levels": [(2, ["西庄村"]), (1, [])]},
        ]
        assert response.context["totals"] == [(2, 2), (1, 1)]
        content = response.content.decode()
        assert content.index("城关镇") < content.index("东庄镇")
        assert "北庄村" not in content  # holds nothing

    def test_an_inactive_unit_is_neither_listed_nor_counted(self, client, shown):
        shown.units["西庄村"].is_active = False
        shown.units["西庄村"].save()
        response = client.get(self.url())
        assert response.context["rows"] == [
            {"township": "城关镇", "levels": [(1, ["东街村", "南街村"])]},
        ]
        assert response.context["totals"] == [(1, 2)]

    @pytest.mark.parametrize(
        ("status", "code"),
        [(CampaignStatus.DRAFT, 404), (CampaignStatus.ACTIVE, 200), (CampaignStatus.CLOSED, 200)],
    )
    def test_a_draft_campaign_is_not_shown(self, client, shown, status, code):
        shown.campaign.status = status
        shown.campaign.save()
        assert client.get(self.url()).status_code == code

    def test_an_unknown_campaign_is_404(self, client, shown):
        assert client.get(self.url("nope")).status_code == 404

    def test_it_leaks_nothing_personal(self, client, shown, users):
        unit = shown.units["东街村"]
        unit.secretary_name = "王秘书甲"
        unit.secretary_phone = "13912345678"
        unit.population = 98765
        unit.households = 4321
        unit.party_members = 777
        unit.save()
        for i, user in enumerate(users.values()):
            user.first_name, user.last_name, user.phone = f"姓名{i}", "某", f"1380000{i:04d}"
            user.save()
        content = client.get(self.url()).content.decode()
        assert "东街村" in content
        for secret in ("王秘书甲", "13912345678", "98765", "4321", "777", "张书记"):
            assert secret not in content
        for user in users.values():
            assert user.username not in content
            assert user.first_name not in content
            assert user.phone not in content

    def test_it_shows_the_same_to_a_signed_in_user(self, client, shown, township_official):
        anonymous = client.get(self.url()).context["rows"]
        client.force_login(township_official)
        assert client.get(self.url()).context["rows"] == anonymous


class TestAccess:
    """Every page but the showcase needs a login; strangers get 404 for others' objects."""

    @pytest.fixture
    def urls(self, race, county_staff, unit_a):
        run, proposals, _s = adjustment_propose(user=county_staff, period=race.q3)
        assessment = race.units["东街村"].assessments.get(period=race.q3)
        item = factories.RectificationItemFactory(
            assessment=assessment, indicator=race.built.indicators["1.1"]
        )
        proposal = proposals[0]
        return {
            "adjustment_list": reverse("scoring:adjustment_list", args=["saima", "2026Q3"]),
            "adjustment_detail": reverse("scoring:adjustment_detail", args=[run.pk]),
            "adjustment_confirm": reverse("scoring:adjustment_confirm", args=[run.pk]),
            "adjustment_override": reverse(
                "scoring:adjustment_override", args=[run.pk, proposal.pk]
            ),
            "targets": reverse("scoring:targets", args=["saima"]),
            "ranking": reverse("scoring:ranking", args=["saima", "2026Q3"]),
            "rectification_list": reverse("scoring:rectification_list", args=["saima"]),
            "rectification_detail": reverse("scoring:rectification_detail", args=[item.pk]),
            "rectification_notice": reverse("scoring:rectification_notice", args=[assessment.pk]),
            "dashboard": reverse("scoring:dashboard", args=["saima"]),
            "unit_detail": reverse("villages:unit_detail", args=[unit_a.pk]),
        }

    @pytest.mark.parametrize(
        "name",
        [
            "adjustment_list",
            "adjustment_detail",
            "adjustment_confirm",
            "adjustment_override",
            "targets",
            "ranking",
            "rectification_list",
            "rectification_detail",
            "rectification_notice",
            "dashboard",
            "unit_detail",
        ],
    )
    @pytest.mark.parametrize("method", ["get", "post"])
    def test_anonymous_is_sent_to_login(self, client, urls, name, method):
        response = getattr(client, method)(urls[name])
        assert response.status_code == 302
        assert response.url.startswith(reverse("login") + "?next=")

    @pytest.mark.parametrize(
        "name", ["rectification_detail", "rectification_notice", "unit_detail"]
    )
    def test_another_townships_objects_are_404(self, client, urls, stranger, name):
        client.force_login(stranger)
        assert client.get(urls[name]).status_code == 404

    @pytest.mark.parametrize(
        "args", [("targets", ["saima"]), ("dashboard", ["saima"]), ("ranking", ["saima", "2026Q3"])]
    )
    def test_another_countys_campaign_is_404(self, client, county_staff, args):
        other = factories.CountyFactory(code="410526000000", name="滑县")
        built = scenarios.campaign_build(region=other, slug="saima", specs=scenarios.ONE_ITEM)
        scenarios.period_build(built, "2026Q3")
        client.force_login(county_staff)
        name, url_args = args
        assert client.get(reverse(f"scoring:{name}", args=url_args)).status_code == 404
