"""Finding one's way (issue 12): the menu per role built from the policy, periods that say how
complete they are, the unit page's links, targets per township with their gaps, error pages.

The county and its users are the root conftest's; each test adds the periods it needs.
"""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path, reverse

from scoring.models import JobStatus, ReportRun, Stage
from scoring.templatetags.navigation import CAMPAIGN_PAGES, menu_for
from tests import factories
from tests.scenarios import assessment_at
from villages.policy import Action, may

pytestmark = pytest.mark.django_db


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


def refuse(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


# The project's URLs plus a view that fails, for the 500 page (used with pytest.mark.urls).
urlpatterns = [
    path("boom/", boom),
    path("refuse/", refuse),
    path("", include("config.urls")),
]

EVERYONE = {"home", "work", "rectification", "targets", "unit_targets", "ranking", "units"}
EVERYONE |= {"downloads"}
MENUS = {
    "village_secretary": EVERYONE,
    "township_official": EVERYONE,
    "department": EVERYONE | {"dashboard", "department"},
    "leader": EVERYONE | {"dashboard", "adjustments", "reports"},
    "county_staff": EVERYONE | {"dashboard", "adjustments", "reports"},
    "superuser": EVERYONE | {"dashboard", "department", "adjustments", "reports", "setup"},
    "no_role": {"home", "units", "downloads"},  # sees no campaign
}


def menu_keys(response) -> set[str]:
    menu = response.content.decode().split('id="main-menu"', 1)[1].split("</ul>\n", 1)[0]
    return set(re.findall(r'data-menu="([a-z_]+)"', menu))


def menu_links(response) -> dict[str, str]:
    menu = response.content.decode().split('id="main-menu"', 1)[1].split("</ul>\n", 1)[0]
    return dict(
        (key, url) for url, key in re.findall(r'href="([^"]+)" data-menu="([a-z_]+)"', menu)
    )


@pytest.fixture
def two_periods(catalogue, period, unit_a, unit_b, county_staff):
    """2026Q3 complete (both units final) and 2026Q4 just begun (one of two final)."""
    for unit in (unit_a, unit_b):
        assessment_at(period, unit, Stage.FINAL, catalogue, finaliser=county_staff)
    q4 = factories.PeriodFactory(campaign=catalogue.campaign, label="2026Q4")
    assessment_at(q4, unit_a, Stage.FINAL, catalogue, finaliser=county_staff)
    factories.AssessmentFactory(period=q4, unit=unit_b)
    return period, q4


# --- 10. the menu ---------------------------------------------------------------------------


class TestMenu:
    @pytest.mark.parametrize("role", list(MENUS))
    def test_each_role_gets_the_pages_it_may_use(self, client, users, two_periods, role):
        client.force_login(users[role])
        response = client.get(reverse("home"))
        assert menu_keys(response) == MENUS[role]

    @pytest.mark.parametrize("role", list(MENUS))
    def test_every_menu_link_opens(self, client, users, two_periods, role):
        client.force_login(users[role])
        links = menu_links(client.get(reverse("home")))
        for key, url in links.items():
            response = client.get(url, follow=True)
            assert response.status_code == 200, (role, key, url)

    def test_the_menu_follows_the_policy_not_roles(self, users, catalogue):
        """Each campaign link is there exactly when `may` says so for its action."""
        for user in users.values():
            keys = {
                link.key for s in menu_for(user, [catalogue.campaign]).sections for link in s.links
            }
            for key, _label, _route, action in CAMPAIGN_PAGES:
                assert (key in keys) == (action is None or may(user, action)), (user, key)
            outside = {link.key for link in menu_for(user, []).links}
            assert ("setup" in outside) == may(user, Action.SET_UP)

    def test_period_links_lead_to_the_latest_complete_period(
        self, client, county_staff, two_periods
    ):
        q3, _q4 = two_periods
        client.force_login(county_staff)
        slug = q3.campaign.slug
        ranking = client.get(reverse("scoring:ranking_latest", args=[slug]))
        assert ranking.url == reverse("scoring:ranking", args=[slug, "2026Q3"])
        work = client.get(reverse("scoring:work_current", args=[slug]))
        assert work.url == reverse("scoring:work_list", args=[slug, "2026Q4"])
        adjust = client.get(reverse("scoring:adjustments_latest", args=[slug]))
        assert adjust.url == reverse("scoring:adjustment_list", args=[slug, "2026Q3"])

    def test_monthly_reports_are_linked_from_the_dashboard(self, client, county_staff, two_periods):
        client.force_login(county_staff)
        slug = two_periods[0].campaign.slug
        page = client.get(reverse("scoring:dashboard", args=[slug])).content.decode()
        assert f'href="{reverse("scoring:report_list", args=[slug])}"' in page

    def test_home_links_the_waiting_count_to_the_work_list(
        self, client, village_secretary, assessment_a
    ):
        client.force_login(village_secretary)
        page = client.get(reverse("home")).content.decode()
        url = reverse("scoring:work_list", args=[assessment_a.period.campaign.slug, "2026Q3"])
        assert re.search(
            rf'<a href="{re.escape(url)}\?stage=self" id="work-due-link">有 1 个考评等待您处理</a>',
            page,
        )


# --- 8. lead departments read the dashboard, not the adjustments ----------------------------


class TestDepartmentDashboard:
    def test_a_lead_department_reads_the_dashboard(self, client, department_user, two_periods):
        client.force_login(department_user)
        slug = two_periods[0].campaign.slug
        response = client.get(reverse("scoring:dashboard", args=[slug]))
        assert response.status_code == 200
        assert "adjustment" not in response.content.decode().split('id="dash-links"')[1][:2000]
        label = two_periods[0].label
        assert client.get(reverse("scoring:adjustment_list", args=[slug, label])).status_code == 403
        assert client.get(reverse("scoring:adjustments_latest", args=[slug])).status_code == 403


# --- 11. complete periods -------------------------------------------------------------------


class TestPeriods:
    def test_the_dashboard_opens_on_the_latest_complete_period(self, client, leader, two_periods):
        client.force_login(leader)
        response = client.get(reverse("scoring:dashboard", args=[two_periods[0].campaign.slug]))
        assert response.context["period"] == two_periods[0]
        page = response.content.decode()
        assert "2 / 2 已定评" in page
        assert "partial-badge" not in page
        assert "1 / 2 已定评" in page  # the period under way, offered in the picker

    def test_a_partial_period_says_so_on_every_figure(self, client, leader, two_periods):
        client.force_login(leader)
        url = reverse("scoring:dashboard", args=[two_periods[0].campaign.slug])
        page = client.get(url, {"period": "2026Q4"}).content.decode()
        assert 'id="period-partial"' in page
        assert page.count("partial-badge") == 3  # stages, township ranking, lowest units
        assert "不完整 · 1 / 2 已定评" in page

    def test_only_final_assessments_complete_a_period(self, client, leader, two_periods):
        q3, _q4 = two_periods
        factories.AssessmentFactory(
            period=q3, unit=factories.UnitFactory(township=q3.campaign.region.children.first())
        )
        client.force_login(leader)
        response = client.get(reverse("scoring:dashboard", args=[q3.campaign.slug]))
        # Neither period is complete now: the latest with final assessments, said partial.
        assert response.context["period"].label == "2026Q4"
        assert response.context["completion"].partial

    def test_the_ranking_picker_moves_to_the_period_chosen(self, client, leader, two_periods):
        q3, _q4 = two_periods
        client.force_login(leader)
        url = reverse("scoring:ranking", args=[q3.campaign.slug, "2026Q3"])
        response = client.get(url, {"period": "2026Q4"})
        assert response.url == reverse("scoring:ranking", args=[q3.campaign.slug, "2026Q4"])
        page = client.get(response.url).content.decode()
        assert "1 / 2 已定评" in page and 'id="period-partial"' in page
        assert "partial-badge" in page
        assert "partial-badge" not in client.get(url).content.decode()

    def test_a_monthly_report_says_its_period_is_partial(self, client, county_staff, two_periods):
        q3, _q4 = two_periods
        run = ReportRun.objects.create(
            campaign=q3.campaign,
            month=q3.starts_on,
            status=JobStatus.DONE,
            file="reports/monthly.xlsx",
            data={"period": "2026Q4", "final_period": "2026Q4", "stages": [], "ranking": []},
        )
        client.force_login(county_staff)
        page = client.get(reverse("scoring:report_detail", args=[run.pk])).content.decode()
        assert "2026Q4 考评期尚未全部定评（1 / 2 已定评）" in page
        assert "partial-badge" in page


# --- 12. the unit page ----------------------------------------------------------------------


class TestUnitPage:
    def test_it_links_assessments_scores_and_rectification(
        self, client, township_official, catalogue, period, unit_a, county_staff
    ):
        final = assessment_at(period, unit_a, Stage.FINAL, catalogue, finaliser=county_staff)
        item = factories.RectificationItemFactory(
            assessment=final, indicator=catalogue.shared_points[0]
        )
        factories.HoldingFactory(unit=unit_a, dimension=catalogue.shared)
        factories.HoldingChangeFactory(unit=unit_a, period=period, dimension=catalogue.shared)
        client.force_login(township_official)
        response = client.get(reverse("villages:unit_detail", args=[unit_a.pk]))
        page = response.content.decode()
        assert f'href="{reverse("scoring:entry", args=[final.pk])}"' in page
        self_total, township_total, county_total = response.context["assessments"][0].stage_totals
        assert self_total is None and township_total is None and county_total > 0
        assert f'href="{reverse("scoring:rectification_detail", args=[item.pk])}"' in page
        timeline = page.split('class="list-unstyled small mb-0 timeline"')[1].split("</ul>")[0]
        assert "2026Q3" in timeline and "党建引领" in timeline


# --- 13. targets ----------------------------------------------------------------------------


class TestTargets:
    @pytest.fixture
    def targets(self, catalogue, county, unit_a, unit_b):
        campaign = catalogue.campaign
        factories.LevelTargetFactory(campaign=campaign, region=county, level=1, count=40)
        factories.HoldingFactory(unit=unit_a, dimension=catalogue.shared)
        return campaign

    def gaps(self, response) -> dict[int, int | None]:
        return dict(response.context["gaps"])

    def test_a_township_without_targets_is_told_so(self, client, township_official, targets):
        client.force_login(township_official)
        response = client.get(reverse("scoring:targets", args=[targets.slug]))
        page = response.content.decode()
        assert "县里尚未给本乡镇下达" in page
        # Not the county's 40 beside one township's counts.
        assert [t for _l, _a, t in response.context["levels"] if t is not None] == []
        assert dict((lvl, a) for lvl, a, _t in response.context["levels"])[1] == 1

    def test_a_township_sees_its_own_targets_with_the_gap(
        self, client, township_official, targets, township_a
    ):
        factories.LevelTargetFactory(campaign=targets, region=township_a, level=1, count=3)
        client.force_login(township_official)
        response = client.get(reverse("scoring:targets", args=[targets.slug]))
        levels = {lvl: (a, t) for lvl, a, t in response.context["levels"]}
        assert levels[1] == (1, 3)
        assert self.gaps(response)[1] == 2
        page = response.content.decode()
        assert "城关镇的目标" in page and "县里尚未" not in page
        assert "差距（目标 − 现有）" in page

    def test_the_county_sees_county_targets_with_the_gap(self, client, county_staff, targets):
        client.force_login(county_staff)
        response = client.get(reverse("scoring:targets", args=[targets.slug]))
        assert {lvl: t for lvl, _a, t in response.context["levels"]}[1] == 40
        assert self.gaps(response)[1] == 39
        assert self.gaps(response)[2] is None


# --- 14. error pages ------------------------------------------------------------------------


@pytest.mark.urls("tests.test_navigation")
class TestErrorPages:
    def check(self, response, status: int, words: str) -> None:
        assert response.status_code == status
        page = response.content.decode()
        assert words in page
        assert 'name="viewport"' in page
        assert f'href="{reverse("home")}"' in page and "返回上一页" in page

    def test_404(self, client, county_staff, settings):
        assert settings.DEBUG is False
        client.force_login(county_staff)
        self.check(client.get("/no/such/page/"), 404, "页面不存在")

    def test_403(self, client, village_secretary, catalogue):
        client.force_login(village_secretary)
        url = reverse("scoring:dashboard", args=[catalogue.campaign.slug])
        self.check(client.get(url), 403, "您无权打开此页面")

    def test_403_for_anyone(self, client):
        self.check(client.get("/refuse/"), 403, "您无权打开此页面")

    def test_500(self, county_staff):
        client = Client(raise_request_exception=False)
        client.force_login(county_staff)
        self.check(client.get("/boom/"), 500, "系统出现错误")

    def test_csrf_failure(self, county_staff):
        client = Client(enforce_csrf_checks=True)
        client.force_login(county_staff)
        self.check(client.post(reverse("logout")), 403, "表单已过期")
