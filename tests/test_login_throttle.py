"""Login throttling (django-axes): a username is locked from one address after 5 failures."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from tests import factories

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    from axes.handlers.proxy import AxesProxyHandler

    AxesProxyHandler.implementation = None  # rebuild the handler with the settings above
    yield
    AxesProxyHandler.implementation = None


def fail(client, username, ip="10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": "wrong"}, REMOTE_ADDR=ip)


def test_it_locks_after_repeated_failures_with_a_chinese_page(client, axes_on, township_official):
    for _ in range(2):
        assert fail(client, "chengguan").status_code == 200
    response = fail(client, "chengguan")
    assert response.status_code == 429
    content = response.content.decode()
    assert 'id="locked-message"' in content
    with translation.override("zh-hans"):
        assert translation.gettext("Too many failed logins") in content
    # Even the right password is refused while locked.
    response = client.post(
        LOGIN, {"username": "chengguan", "password": factories.PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_colleague_in_the_same_office_can_still_log_in(
    client, axes_on, township_official, leader
):
    for _ in range(3):
        fail(client, "chengguan")
    response = client.post(
        LOGIN, {"username": leader.username, "password": factories.PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 302


def test_the_same_user_from_another_address_is_not_locked(client, axes_on, township_official):
    for _ in range(3):
        fail(client, "chengguan")
    response = client.post(
        LOGIN,
        {"username": "chengguan", "password": factories.PASSWORD},
        REMOTE_ADDR="10.0.0.2",
    )
    assert response.status_code == 302
