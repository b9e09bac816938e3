"""The suite runs against the services the environment names (CI: PostgreSQL and Redis)."""

from __future__ import annotations

import os
import uuid

import redis
from django.db import connection

from config.celery import app as celery_app


def test_it_runs_on_the_database_in_database_url(db):
    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    assert connection.vendor == expected


def test_it_uses_the_broker_in_the_environment(settings):
    broker = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL")
    if not broker:
        # No broker configured: jobs run in-process, so the demo needs no service.
        assert settings.CELERY_TASK_ALWAYS_EAGER is True
        assert celery_app.conf.task_always_eager is True
        return
    assert settings.CELERY_TASK_ALWAYS_EAGER is False
    assert celery_app.conf.broker_url == broker
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=3)
    client = redis.Redis.from_url(broker)
    key = f"hongqi-test-{uuid.uuid4()}"
    client.set(key, "ok", ex=10)
    assert client.get(key) == b"ok"
    client.delete(key)
