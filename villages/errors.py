"""Refused actions: one exception with a stable code, shared by every app's services.

A refusal carries a translated message for the user and a `code` (an ErrorCode) for views and
tests: tests assert codes, not sentences; views pick a status or a form field from them. It
lives in the lowest app so that villages, campaigns and scoring raise the same thing.
"""

from __future__ import annotations

from django.db import models


class ErrorCode(models.TextChoices):
    """Why an action was refused (the labels are for developers; users see the message)."""

    INVALID = "invalid", "invalid input"
    REQUIRED = "required", "a required value is missing"
    FORBIDDEN = "forbidden", "the user's role or scope does not allow it"
    NOT_FOUND = "not_found", "the object is not there (or not in scope)"
    LOCKED = "locked", "final, or the period is closed"
    WRONG_STAGE = "wrong_stage", "the assessment is at another stage"
    STALE = "stale", "someone else changed it meanwhile"
    CONFLICT = "conflict", "the state does not allow it now"
    QUEUE = "queue", "the job could not be queued"
    IMPORT = "import", "an uploaded file was refused"
    FILE = "file", "an attached file was refused"


class Refused(Exception):
    """A refused action, with a message for the user (already translated) and a code."""

    default_code = ErrorCode.INVALID

    def __init__(
        self, message: str, *, code: ErrorCode | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
