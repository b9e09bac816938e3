"""Settings read from the environment: each case starts a fresh interpreter with a chosen env.

Settings are evaluated once per process, so changing os.environ inside the test process would
test nothing; a subprocess per environment (cached, since several tests share one) does.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Everything the settings read, so the caller's own environment cannot leak into a case.
SETTINGS_ENV = [
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "DB_CONN_MAX_AGE",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "STATIC_ROOT",
    "MEDIA_ROOT",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "USE_X_FORWARDED_PROTO",
    "LOG_LEVEL",
]

PRINT_SETTINGS = """
import json, os
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.conf import settings
names = [
    "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASES", "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND", "CELERY_TASK_ALWAYS_EAGER", "LANGUAGE_CODE", "TIME_ZONE", "USE_TZ",
    "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT",
]
print(json.dumps({name: getattr(settings, name) for name in names}, default=str))
"""

KEY = "a-long-random-production-key-for-tests-only"
# One process serves several tests; each looks at its own setting.
PRODUCTION_LIKE = {
    "SECRET_KEY": KEY,
    "DATABASE_URL": "postgres://u@h:5432/d",
    "ALLOWED_HOSTS": "a.example, b.example,",
}


@functools.cache
def _run(env_items: tuple[tuple[str, str], ...]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env.update(env_items)
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def run(**env: str) -> subprocess.CompletedProcess:
    return _run(tuple(sorted(env.items())))


def settings_with(**env: str) -> dict:
    result = run(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_without_secret_key_refuses_to_start():
    result = run()
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_empty_secret_key_counts_as_missing():
    result = run(SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_debug_without_key_uses_the_dev_key():
    settings = settings_with(DEBUG="1")
    assert settings["DEBUG"] is True
    assert settings["SECRET_KEY"].startswith("dev-only-insecure-key")


def test_debug_must_be_a_clear_boolean():
    result = run(DEBUG="maybe", SECRET_KEY=KEY)
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_debug_accepts_words():
    assert settings_with(DEBUG="yes")["DEBUG"] is True
    assert settings_with(DEBUG="off", SECRET_KEY=KEY)["DEBUG"] is False


def test_bad_integer_is_an_error():
    result = run(SECRET_KEY=KEY, SECURE_HSTS_SECONDS="a year")
    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS" in result.stderr


def test_sqlite_in_the_project_by_default():
    database = settings_with(DEBUG="1")["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(database["NAME"]) == PROJECT_ROOT / "db.sqlite3"
    assert database["CONN_MAX_AGE"] == 0


def test_postgres_from_database_url():
    database = settings_with(**PRODUCTION_LIKE)["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["NAME"] == "d"
    assert database["USER"] == "u"
    assert database["HOST"] == "h"
    assert database["PORT"] == 5432
    assert database["CONN_MAX_AGE"] == 60


def test_jobs_run_eagerly_without_redis():
    settings = settings_with(DEBUG="1")
    assert settings["CELERY_TASK_ALWAYS_EAGER"] is True
    assert settings["CELERY_BROKER_URL"] == "memory://"


def test_redis_url_is_broker_and_backend():
    settings = settings_with(DEBUG="1", REDIS_URL="redis://127.0.0.1:6379/0")
    assert settings["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/0"
    assert settings["CELERY_RESULT_BACKEND"] == "redis://127.0.0.1:6379/0"
    assert settings["CELERY_TASK_ALWAYS_EAGER"] is False


def test_celery_broker_url_alone_turns_off_eager_mode():
    settings = settings_with(DEBUG="1", CELERY_BROKER_URL="redis://127.0.0.1:6379/1")
    assert settings["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/1"
    assert settings["CELERY_TASK_ALWAYS_EAGER"] is False


def test_allowed_hosts_from_a_comma_list():
    settings = settings_with(**PRODUCTION_LIKE)
    assert settings["ALLOWED_HOSTS"] == ["a.example", "b.example"]


def test_allowed_hosts_default_to_localhost_in_debug_only():
    assert "localhost" in settings_with(DEBUG="1")["ALLOWED_HOSTS"]
    assert settings_with(SECRET_KEY=KEY)["ALLOWED_HOSTS"] == []


def test_chinese_and_beijing_time():
    settings = settings_with(DEBUG="1")
    assert settings["LANGUAGE_CODE"] == "zh-hans"
    assert settings["TIME_ZONE"] == "Asia/Shanghai"
    assert settings["USE_TZ"] is True


def test_production_hardening_is_on_without_debug():
    settings = settings_with(SECRET_KEY=KEY)
    assert settings["DEBUG"] is False
    assert settings["SECRET_KEY"] == KEY
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["CSRF_COOKIE_SECURE"] is True
    assert settings["SECURE_SSL_REDIRECT"] is True
    assert settings["SECURE_HSTS_SECONDS"] > 0


def test_hardening_is_off_in_debug():
    settings = settings_with(DEBUG="1")
    assert settings["SESSION_COOKIE_SECURE"] is False
    assert settings["SECURE_HSTS_SECONDS"] == 0


def test_plain_http_intranet_can_relax_hardening():
    settings = settings_with(SECRET_KEY=KEY, SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="0")
    assert settings["SECURE_SSL_REDIRECT"] is False
    assert settings["SECURE_HSTS_SECONDS"] == 0
    assert settings["SESSION_COOKIE_SECURE"] is True


def test_deploy_check_is_clean_with_production_environment():
    """`manage.py check --deploy` passes, warnings included, with production variables set."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": "k7#Qz!v9L2@xP4^mR8&tW1*yB6(eN3)uJ5-hG0=cF2+dS9_aZ7",
            "ALLOWED_HOSTS": "hongqi.example.gov.cn",
            "CSRF_TRUSTED_ORIGINS": "https://hongqi.example.gov.cn",
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
