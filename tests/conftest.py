"""Shared fixtures: one county with two townships and a user for every role, plus a stranger.

内黄县 (410527000000) has 城关镇 (township A, 410527100000) with 东街村 (the village secretary's
unit) and 东庄镇 (township B, 410527101000) with 西庄村. Every role acts inside this county;
the stranger is the township official of B, who must not find anything of A.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction
from django.test import override_settings

from tests import factories
from tests.helpers import celery_eager
from tests.scenarios import report_world_build
from villages.models import UnitKind


def pytest_configure(config):
    # WhiteNoise warns once per client that STATIC_ROOT (filled by collectstatic) is missing.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")


@pytest.fixture(autouse=True)
def _on_commit_as_in_autocommit(monkeypatch):
    """Run on_commit callbacks at once when only the test's own transaction is open.

    A test runs inside a transaction that is rolled back, so a callback registered on commit
    would never run; in production, code outside any atomic block (a view) runs it at once.
    Inside a block the code itself opened, callbacks still wait for that block to commit.
    """
    real = transaction.on_commit

    def on_commit(func, using=None, robust=False):
        connection = transaction.get_connection(using)
        if all(getattr(a, "_from_testcase", False) for a in connection.atomic_blocks):
            func()
        else:
            real(func, using, robust)

    monkeypatch.setattr(transaction, "on_commit", on_commit)


@pytest.fixture(autouse=True, scope="session")
def _test_settings():
    """Keep production settings except what needs a build step, burns CPU or needs TLS.

    With DEBUG off the settings pick the manifest static storage, which needs `collectstatic`;
    password hashing at full strength costs a tenth of a second per user; the test client
    speaks plain HTTP, which SECURE_SSL_REDIRECT would bounce (tests/test_pages.py checks it).
    """
    with override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        SECURE_SSL_REDIRECT=False,
        # The test client's login() passes no request, which django-axes needs; the lockout
        # itself is tested with AXES_ENABLED switched back on (tests/test_login_throttle.py).
        AXES_ENABLED=False,
    ):
        yield


@pytest.fixture
def county(db):
    return factories.CountyFactory()


@pytest.fixture
def township_a(county):
    return factories.TownshipFactory(parent=county, code="410527100000", name="城关镇")


@pytest.fixture
def township_b(county):
    return factories.TownshipFactory(parent=county, code="410527101000", name="东庄镇")


@pytest.fixture
def unit_a(township_a):
    """The village secretary's unit in township A."""
    return factories.UnitFactory(township=township_a, name="东街村", kind=UnitKind.VILLAGE)


@pytest.fixture
def unit_b(township_b):
    return factories.UnitFactory(township=township_b, name="西庄村", kind=UnitKind.VILLAGE)


@pytest.fixture
def department(county):
    return factories.DepartmentFactory(region=county, name="农业农村局")


@pytest.fixture
def county_staff(county):
    return factories.CountyStaffFactory(username="zuzhibu", region=county)


@pytest.fixture
def leader(county):
    return factories.LeaderFactory(username="lingdao", region=county)


@pytest.fixture
def township_official(township_a):
    return factories.TownshipOfficialFactory(username="chengguan", region=township_a)


@pytest.fixture
def village_secretary(unit_a):
    return factories.VillageSecretaryFactory(username="dongjie", unit=unit_a)


@pytest.fixture
def department_user(department):
    return factories.DepartmentUserFactory(username="nongye", department=department)


@pytest.fixture
def stranger(township_b, unit_b):
    """The township official of township B, in the same county as everyone else."""
    return factories.TownshipOfficialFactory(username="dongzhuang", region=township_b)


@pytest.fixture
def superuser(db):
    return factories.SuperuserFactory(username="admin")


@pytest.fixture
def no_role_user(db):
    return factories.UserFactory(username="norole")


@pytest.fixture
def users(
    county_staff,
    leader,
    township_official,
    village_secretary,
    department_user,
    stranger,
    superuser,
    no_role_user,
):
    """Every base user by a short name, for table-driven tests."""
    return {
        "county_staff": county_staff,
        "leader": leader,
        "township_official": township_official,
        "village_secretary": village_secretary,
        "department": department_user,
        "stranger": stranger,
        "superuser": superuser,
        "no_role": no_role_user,
    }


@pytest.fixture
def catalogue(county, department):
    """An active campaign of the county with the small catalogue (tests.factories.Catalogue)."""
    campaign = factories.CampaignFactory(
        region=county, slug="neihuang-flags", name="内黄县红旗创建"
    )
    return factories.catalogue_create(campaign=campaign, department=department)


@pytest.fixture
def period(catalogue):
    """2026Q3 of the catalogue's campaign, open, with a due date per stage."""
    return factories.PeriodFactory(
        campaign=catalogue.campaign,
        label="2026Q3",
        self_due=datetime.date(2026, 9, 30),
        township_due=datetime.date(2026, 10, 15),
        county_due=datetime.date(2026, 10, 31),
    )


@pytest.fixture
def assessment_a(period, unit_a):
    """The village secretary's unit in the period, at the self-assessment stage."""
    return factories.AssessmentFactory(period=period, unit=unit_a)


@pytest.fixture
def assessment_b(period, unit_b):
    """Township B's unit in the period, at the self-assessment stage."""
    return factories.AssessmentFactory(period=period, unit=unit_b)


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded and generated files go to the test's own folder, not the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def eager():
    """Celery tasks run in-process during the test (tests.helpers.celery_eager)."""
    with celery_eager() as app:
        yield app


@pytest.fixture
def world(county, township_a, township_b):
    """The report county of tests/scenarios.py over the county and townships above.

    Modules and packages with a world of their own (the security pair, the browser county, a
    module's hand-made one) override this fixture by name.
    """
    return report_world_build(county=county, township_a=township_a, township_b=township_b)
