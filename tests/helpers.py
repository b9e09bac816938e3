"""Small assertions and switches shared by the tests: database constraints, Celery modes."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models import UniqueConstraint

SQLITE_UNIQUE = "UNIQUE constraint failed: "


def unique_columns(constraint: str) -> str:
    """How SQLite names the unique constraint `constraint` in an error: its columns, in order.

    `constraint` is either the name of a UniqueConstraint in some model's Meta or the name
    PostgreSQL gives a field's own `unique=True` (<table>_<column>_key). SQLite lists the columns
    as "table.column, table.column"; an expression-only constraint it names as "index '<name>'".
    """
    for model in apps.get_models():
        table = model._meta.db_table
        for candidate in model._meta.constraints:
            if isinstance(candidate, UniqueConstraint) and candidate.name == constraint:
                if not candidate.fields:
                    return f"index '{constraint}'"
                return ", ".join(
                    f"{table}.{model._meta.get_field(name).column}" for name in candidate.fields
                )
        for model_field in model._meta.local_fields:
            if model_field.unique and f"{table}_{model_field.column}_key" == constraint:
                return f"{table}.{model_field.column}"
    raise LookupError(f"no model has a unique constraint named {constraint!r}")


@contextmanager
def violates(constraint: str, *, unique: bool = False):
    """Expect the block to break the named database constraint.

    Both SQLite and PostgreSQL name a violated CHECK constraint in the error. A unique violation
    is named only by PostgreSQL; SQLite lists the columns instead, so with `unique=True` the
    columns of the named constraint are looked up on the models and must be exactly the ones
    SQLite reports. The savepoint keeps the test's transaction usable.
    """
    columns = unique_columns(constraint) if unique else None
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        yield
    message = str(excinfo.value)
    if unique and connection.vendor == "sqlite":
        assert message.startswith(SQLITE_UNIQUE), message
        assert message.removeprefix(SQLITE_UNIQUE) == columns, (constraint, message)
    else:
        assert constraint in message


# --- Celery -----------------------------------------------------------------------------------


@contextmanager
def celery_eager():
    """Run Celery tasks in-process for the block, whatever the environment (CI sets REDIS_URL,
    which turns eager mode off), with the project's own choice of not propagating errors."""
    from config.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    try:
        yield app
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def _reset_broker_pools(app) -> None:
    # The app keeps its producer pool once built from the broker URL; forget it so the next send
    # looks the pool up again for whatever broker_url says now (kombu keeps one per URL).
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker_down(url: str = "redis://127.0.0.1:1/0"):
    """Point the Celery app at a broker nobody listens on (port 1), not eager, for the block."""
    from config.celery import app

    saved = (
        app.conf.broker_url,
        app.conf.task_always_eager,
        app.conf.broker_connection_timeout,
        app.conf.task_publish_retry_policy,
    )
    _reset_broker_pools(app)
    app.conf.broker_url = url
    app.conf.task_always_eager = False
    # Fail in well under a second rather than after the default publish retries.
    app.conf.broker_connection_timeout = 1
    app.conf.task_publish_retry_policy = {"max_retries": 1, "interval_start": 0}
    try:
        yield app
    finally:
        _reset_broker_pools(app)
        (
            app.conf.broker_url,
            app.conf.task_always_eager,
            app.conf.broker_connection_timeout,
            app.conf.task_publish_retry_policy,
        ) = saved
