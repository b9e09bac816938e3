"""`manage.py load_demo`: the demo counties, campaigns, scores and users, built once per module.

The build writes about half a million scores, so it runs once here and every test reads it;
the module flushes the database afterwards so no other test sees the demo.
"""

from __future__ import annotations

import io
from collections import Counter
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import Count, F, Q, Sum
from django.urls import reverse

from campaigns.models import Campaign, Indicator, IndicatorKind, LevelTarget, Scheme
from scoring.demo.builder import DEMO_PASSWORD
from scoring.models import (
    Assessment,
    Holding,
    HoldingChange,
    HoldingChangeKind,
    Period,
    Score,
    ScoreChange,
    ScoreStage,
    Stage,
)
from villages.models import Region, RegionLevel, Role, Unit, UnitKind, User

pytestmark = pytest.mark.slow

PROJECT_APPS = ("villages", "campaigns", "scoring")


def table_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for app in PROJECT_APPS
        for model in apps.get_app_config(app).get_models()
    }


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Build the demo once; yield the first run's output; flush the database afterwards."""
    with django_db_blocker.unblock():
        out = io.StringIO()
        call_command("load_demo", stdout=out)
        yield out.getvalue()
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def demo_db(demo, db):
    """What every test here asks for. pytest-django moves tests without database access to the
    end of the run, which would tear the module fixture down and build the demo twice."""
    return demo


def county(name: str) -> Region:
    return Region.objects.get(name=name, level=RegionLevel.COUNTY)


class TestPlaces:
    def test_neihuang_has_17_townships_and_532_units(self, demo_db):
        neihuang = county("内黄县")
        assert neihuang.parent.name == "安阳市"
        assert Region.objects.filter(parent=neihuang, level=RegionLevel.TOWNSHIP).count() == 17
        units = Unit.objects.filter(township__parent=neihuang)
        kinds = Counter(units.values_list("kind", flat=True))
        assert sum(kinds.values()) == 532
        assert kinds[UnitKind.VILLAGE] > kinds[UnitKind.COMMUNITY] > 0

    def test_every_code_is_12_digits_under_its_parent(self, demo_db):
        for unit in Unit.objects.select_related("township"):
            assert len(unit.code) == 12 and unit.code.isdigit()
            assert unit.code.startswith(unit.township.prefix)
            unit.full_clean()
        for region in Region.objects.select_related("parent"):
            region.full_clean()

    def test_unit_names_are_chinese_and_unique_per_township(self, demo_db):
        names = Unit.objects.values_list("township_id", "name")
        assert len(set(names)) == len(names)
        assert all(n.endswith(("村", "社区")) for _t, n in names)
        assert Unit.objects.filter(name="冯庄村", township__name="梁庄镇").exists()


class TestWuxingCampaign:
    VILLAGE_STARS = ["支部过硬星", "产业兴旺星", "生态宜居星", "平安法治星", "文明幸福星"]

    def test_it_is_a_star_campaign_for_2026_over_neihuang(self, demo_db):
        c = Campaign.objects.get(slug="wuxing-2026")
        assert (c.scheme, c.year, c.region.name, c.threshold) == (
            Scheme.STAR,
            2026,
            "内黄县",
            Decimal("90"),
        )

    def test_villages_get_the_five_stars_and_communities_their_own_set(self, demo_db):
        c = Campaign.objects.get(slug="wuxing-2026")
        village = [d.name for d in c.dimensions.for_kind(UnitKind.VILLAGE)]
        community = [d.name for d in c.dimensions.for_kind(UnitKind.COMMUNITY)]
        assert village == self.VILLAGE_STARS
        assert len(community) == 5 and community != village

    def test_each_dimension_has_a_realistic_catalogue(self, demo_db):
        for dim in Campaign.objects.get(slug="wuxing-2026").dimensions.all():
            items = Indicator.objects.filter(dimension=dim)
            assert items.count() >= 15
            points = items.filter(kind=IndicatorKind.POINTS).aggregate(s=Sum("max_points"))["s"]
            assert points == Decimal("100")
            assert items.filter(kind=IndicatorKind.VETO).exists()
            assert items.filter(kind=IndicatorKind.BONUS).exists()
            assert not items.filter(lead_department__isnull=True).exists()
            assert not items.filter(rule_text="").exists()

    def test_it_carries_the_seed_targets(self, demo_db):
        targets = dict(
            LevelTarget.objects.filter(campaign__slug="wuxing-2026").values_list("level", "count")
        )
        assert targets == {5: 6, 4: 30, 3: 149, 2: 208, 1: 114}


class TestHongqiCampaign:
    def test_it_is_a_flag_campaign_with_the_five_flags_of_seed_000(self, demo_db):
        c = Campaign.objects.get(slug="hongqi-2026")
        assert c.scheme == Scheme.FLAG
        assert c.region.parent.name == "运城市"
        names = [d.name for d in c.dimensions.all()]
        for word in ("党建引领", "服务优质", "绿色宜居", "文明祥和", "社会治理"):
            assert any(word in n for n in names)
        assert len(names) == 5


class TestScores:
    def test_q1_to_q3_are_final_and_q4_is_under_way(self, demo_db):
        for slug in ("wuxing-2026", "hongqi-2026"):
            labels = list(
                Period.objects.filter(campaign__slug=slug).values_list("label", flat=True)
            )
            assert labels == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
            for label in labels[:3]:
                stages = set(
                    Assessment.objects.filter(
                        period__campaign__slug=slug, period__label=label
                    ).values_list("stage", flat=True)
                )
                assert stages == {Stage.FINAL}
            q4 = Counter(
                Assessment.objects.filter(
                    period__campaign__slug=slug, period__label="2026Q4"
                ).values_list("stage", flat=True)
            )
            assert Stage.FINAL not in q4
            assert len(q4) == 3  # units at self, township and county stage

    def test_final_assessments_have_scores_at_every_stage(self, demo_db):
        a = Assessment.objects.filter(
            period__campaign__slug="wuxing-2026", period__label="2026Q3"
        ).first()
        indicators = Indicator.objects.filter(dimension__campaign__slug="wuxing-2026").filter(
            Q(dimension__applies_to=a.unit.kind) | Q(dimension__applies_to="both")
        )
        for stage in ScoreStage.values:
            assert Score.objects.filter(assessment=a, stage=stage).count() == indicators.count()

    def test_q4_is_partly_entered(self, demo_db):
        per_assessment = (
            Score.objects.filter(assessment__period__label="2026Q4", stage=ScoreStage.SELF)
            .values("assessment")
            .annotate(n=Count("id"))
        )
        counts = {row["n"] for row in per_assessment}
        assert len(counts) > 2  # some complete, some half-filled, some barely started

    def test_deductions_carry_a_note_and_every_score_an_audit_row(self, demo_db):
        deducted_without_note = Score.objects.filter(
            indicator__kind=IndicatorKind.POINTS, note="", value__lt=F("indicator__max_points")
        )
        assert not deducted_without_note.exists()
        assert ScoreChange.objects.count() == Score.objects.count()

    def test_stages_differ_so_gaps_are_visible(self, demo_db):
        totals = dict(
            Score.objects.filter(assessment__period__label="2026Q3")
            .values_list("stage")
            .annotate(total=Sum("value"))
        )
        assert totals[ScoreStage.SELF] > totals[ScoreStage.TOWNSHIP] > totals[ScoreStage.COUNTY]

    def test_levels_are_spread_and_have_moved(self, demo_db):
        per_unit = (
            Holding.objects.filter(dimension__campaign__slug="wuxing-2026")
            .values("unit")
            .annotate(n=Count("id"))
        )
        levels = Counter(row["n"] for row in per_unit)
        assert set(levels) == {1, 2, 3, 4, 5}
        q2 = HoldingChange.objects.filter(
            period__label="2026Q2", period__campaign__slug="wuxing-2026"
        )
        assert q2.filter(kind=HoldingChangeKind.AWARD).exists()
        assert q2.filter(kind=HoldingChangeKind.WITHDRAW).exists()


class TestUsers:
    EXPECTED = {
        "demo_county": (Role.COUNTY_STAFF, "内黄县"),
        "demo_township": (Role.TOWNSHIP_OFFICIAL, "梁庄镇"),
        "demo_village": (Role.VILLAGE_SECRETARY, "冯庄村"),
        "demo_department": (Role.DEPARTMENT, "县农业农村局"),
        "demo_leader": (Role.LEADER, "内黄县"),
    }

    def test_one_user_per_role_with_the_documented_password(self, demo_db):
        for username, (role, place) in self.EXPECTED.items():
            user = User.objects.get(username=username)
            assert user.role == role
            assert str(user.scope_place) == place
            assert user.check_password(DEMO_PASSWORD)

    def test_the_command_prints_them(self, demo_db):
        for username in self.EXPECTED:
            assert username in demo_db
        assert DEMO_PASSWORD in demo_db

    def test_the_township_user_sees_only_their_township(self, demo_db, client):
        user = User.objects.get(username="demo_township")
        visible = Unit.objects.visible_to(user)
        assert visible.count() == Unit.objects.filter(township__name="梁庄镇").count()
        other = Unit.objects.exclude(township__name="梁庄镇").first()
        assert client.login(username="demo_township", password=DEMO_PASSWORD)
        response = client.get(reverse("villages:unit_detail", args=[other.pk]))
        assert response.status_code == 404
        home = client.get(reverse("home")).content.decode()
        assert "梁庄镇" in home


class TestIdempotency:
    def test_a_second_run_changes_nothing(self, demo_db):
        before = table_counts()
        hashes = dict(User.objects.values_list("username", "password"))
        out = io.StringIO()
        call_command("load_demo", stdout=out)
        assert table_counts() == before
        assert dict(User.objects.values_list("username", "password")) == hashes
        assert "nothing was changed" in out.getvalue() or "未做任何修改" in out.getvalue()
