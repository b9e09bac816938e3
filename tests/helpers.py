"""Small assertions shared by the model tests."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.db import IntegrityError, connection, transaction


@contextmanager
def violates(constraint: str, *, unique: bool = False):
    """Expect the block to break the named database constraint.

    Both SQLite and PostgreSQL name a violated CHECK constraint in the error; a unique violation
    is named only by PostgreSQL (SQLite lists the columns instead), so with `unique=True` the
    name is checked on PostgreSQL only. The savepoint keeps the test's transaction usable.
    """
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        yield
    if not unique or connection.vendor == "postgresql":
        assert constraint in str(excinfo.value)
