"""Signing in and out, and the home page every role lands on.

Django's own strings (登录, 用户名, the login error) are already Chinese and are asserted
literally. Project strings are being translated in parallel, so for them the expected text is
whatever the project's catalogue gives under zh-hans (e.g. the role names), never a literal.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from scoring.models import Stage
from tests import factories

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("login")
LOGOUT_URL = reverse("logout")
HOME_URL = reverse("home")


def zh(text) -> str:
    """The text as the page renders it in Simplified Chinese (lazy strings translated, escaped)."""
    with translation.override("zh-hans"):
        return escape(str(text))


class TestLogin:
    def test_it_is_in_chinese(self, client):
        response = client.get(LOGIN_URL)
        assert response.status_code == 200
        content = response.content.decode()
        assert '<html lang="zh-hans">' in content
        assert "登录" in content
        assert "用户名" in content
        assert "密码" in content

    def test_it_stays_chinese_for_an_english_browser(self, client):
        response = client.get(LOGIN_URL, headers={"accept-language": "en-US,en;q=0.9"})
        content = response.content.decode()
        assert '<html lang="zh-hans">' in content
        assert "登录" in content

    def test_it_speaks_english_when_the_user_chooses_it(self, client):
        response = client.post(reverse("set_language"), {"language": "en", "next": LOGIN_URL})
        assert response.status_code == 302
        response = client.get(LOGIN_URL)
        content = response.content.decode()
        assert '<html lang="en">' in content
        assert "Log in" in content

    def test_it_ignores_an_unknown_language_cookie(self, client, settings):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx"
        response = client.get(LOGIN_URL)
        assert '<html lang="zh-hans">' in response.content.decode()

    def test_it_refuses_a_wrong_password_in_chinese(self, client, township_official):
        response = client.post(LOGIN_URL, {"username": "chengguan", "password": "wrong"})
        assert response.status_code == 200
        content = response.content.decode()
        assert "请输入一个正确的用户名和密码" in content
        assert 'value="chengguan"' in content
        assert not response.wsgi_request.user.is_authenticated

    def test_it_refuses_an_inactive_user(self, client, township_official):
        township_official.is_active = False
        township_official.save()
        response = client.post(LOGIN_URL, {"username": "chengguan", "password": factories.PASSWORD})
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session

    @pytest.mark.parametrize(
        ("role", "place"),
        [
            ("county_staff", "内黄县"),
            ("leader", "内黄县"),
            ("township_official", "城关镇"),
            ("village_secretary", "东街村"),
            ("department", "农业农村局"),
            ("stranger", "东庄镇"),
        ],
    )
    def test_each_role_lands_on_home(self, client, users, role, place):
        user = users[role]
        response = client.post(
            LOGIN_URL, {"username": user.username, "password": factories.PASSWORD}, follow=True
        )
        assert response.redirect_chain == [(HOME_URL, 302)]
        assert response.status_code == 200
        assert response.context["user"] == user
        content = response.content.decode()
        assert zh(user.get_role_display()) in content
        assert place in content

    def test_department_home_names_its_county(self, client, department_user):
        client.force_login(department_user)
        content = client.get(HOME_URL).content.decode()
        assert "农业农村局 (内黄县)" in content

    def test_leader_is_told_it_is_read_only(self, client, leader, county_staff):
        client.force_login(leader)
        assert client.get(HOME_URL).context["scope"].read_only
        client.force_login(county_staff)
        assert not client.get(HOME_URL).context["scope"].read_only

    def test_it_goes_to_next_after_login(self, client, county_staff):
        units = reverse("villages:unit_list")
        response = client.post(
            LOGIN_URL,
            {"username": "zuzhibu", "password": factories.PASSWORD, "next": units},
        )
        assert response.status_code == 302
        assert response.url == units

    def test_it_does_not_follow_next_off_site(self, client, county_staff):
        response = client.post(
            LOGIN_URL,
            {
                "username": "zuzhibu",
                "password": factories.PASSWORD,
                "next": "https://evil.example/",
            },
        )
        assert response.url == HOME_URL

    def test_logout_by_post(self, client, county_staff):
        client.force_login(county_staff)
        response = client.post(LOGOUT_URL)
        assert response.status_code == 302
        assert response.url == LOGIN_URL
        assert client.get(HOME_URL).status_code == 302

    def test_logout_by_get_is_refused(self, client, county_staff):
        client.force_login(county_staff)
        assert client.get(LOGOUT_URL).status_code == 405
        assert client.get(HOME_URL).status_code == 200

    def test_plain_http_is_sent_to_https_in_production(self, client, settings):
        settings.SECURE_SSL_REDIRECT = True
        response = client.get(LOGIN_URL)
        assert response.status_code == 301
        assert response.url == f"https://testserver{LOGIN_URL}"
        assert client.get(LOGIN_URL, secure=True).status_code == 200


class TestHome:
    def test_it_sends_anonymous_to_login(self, client):
        response = client.get(HOME_URL)
        assert response.status_code == 302
        assert response.url == f"{LOGIN_URL}?next={HOME_URL}"

    def test_it_counts_units_in_scope(self, client, township_official, unit_a, unit_b):
        factories.UnitFactory(township=unit_a.township, kind="community")
        client.force_login(township_official)
        response = client.get(HOME_URL)
        assert response.context["unit_counts"] == {"village": 1, "community": 1}
        assert response.context["unit_total"] == 2
        assert '<div class="stat-number" id="unit-total">2</div>' in response.content.decode()

    def test_it_shows_the_campaigns_covering_the_scope(
        self, client, township_official, unit_a, unit_b
    ):
        county = unit_a.township.parent
        campaign = factories.CampaignFactory(region=county, name="内黄县五星支部创建")
        factories.CampaignFactory(
            region=factories.CountyFactory(code="410526000000", name="滑县"), name="滑县红旗"
        )
        factories.PeriodFactory(campaign=campaign, label="2026Q2")
        latest = factories.PeriodFactory(campaign=campaign, label="2026Q3")
        factories.AssessmentFactory(period=latest, unit=unit_a, stage=Stage.TOWNSHIP)
        factories.AssessmentFactory(period=latest, unit=unit_b, stage=Stage.TOWNSHIP)
        client.force_login(township_official)
        response = client.get(HOME_URL)
        [shown] = response.context["campaigns"]
        assert shown == campaign
        assert shown.latest_period == latest
        assert shown.stage_counts == {"township": 1}  # unit_b is another township's
        content = response.content.decode()
        assert "内黄县五星支部创建" in content
        assert "滑县红旗" not in content
        assert "2026Q3" in content

    def test_superuser_sees_every_campaign(self, client, superuser):
        factories.CampaignFactory()
        factories.CampaignFactory(region=factories.CountyFactory(code="410526000000", name="滑县"))
        client.force_login(superuser)
        response = client.get(HOME_URL)
        assert response.status_code == 200
        assert len(response.context["campaigns"]) == 2

    def test_user_without_role_sees_nothing(self, client, no_role_user, unit_a):
        factories.CampaignFactory()
        client.force_login(no_role_user)
        response = client.get(HOME_URL)
        assert response.status_code == 200
        assert response.context["scope"].nothing
        assert response.context["campaigns"] == []
        assert response.context["unit_total"] == 0

    def test_it_costs_the_same_queries_for_few_and_many(
        self, client, django_assert_num_queries, county_staff, township_a, township_b
    ):
        county = township_a.parent

        def add_campaign(region, units):
            campaign = factories.CampaignFactory(region=region)
            for label in ("2026Q1", "2026Q2"):
                period = factories.PeriodFactory(campaign=campaign, label=label)
            for unit in units:
                factories.AssessmentFactory(period=period, unit=unit)

        add_campaign(county, [factories.UnitFactory(township=township_a)])
        client.force_login(county_staff)
        # session, user, the user's region (scope), unit counts, campaigns,
        # latest period starts, latest periods, stage counts
        with django_assert_num_queries(13):
            response = client.get(HOME_URL)
        assert len(response.context["campaigns"]) == 1

        units = factories.UnitFactory.create_batch(10, township=township_a)
        units += factories.UnitFactory.create_batch(10, township=township_b, kind="community")
        add_campaign(county, units)
        add_campaign(county.parent, units[:5])
        with django_assert_num_queries(13):
            response = client.get(HOME_URL)
        assert len(response.context["campaigns"]) == 3
        assert response.context["unit_total"] == 21
