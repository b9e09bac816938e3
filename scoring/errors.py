"""Refusals of the scoring services, each with a code (villages.errors.ErrorCode)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from scoring.models import Score
from villages.errors import ErrorCode, Refused


class ScoringError(Refused):
    """A refused action in scoring (see villages.errors.Refused)."""


class LockedError(ScoringError):
    default_code = ErrorCode.LOCKED


@dataclass
class StaleScore:
    """An input refused because someone saved the same score after it was loaded."""

    assessment_id: int
    indicator_id: int
    current: Score


class StaleScores(ScoringError):
    default_code = ErrorCode.STALE

    def __init__(self, stale: list[StaleScore]) -> None:
        super().__init__(
            _(
                "Someone else saved %(n)d of these scores after you opened the page. "
                "Nothing was saved; the current values are shown. Check them and save again."
            )
            % {"n": len(stale)}
        )
        self.stale = stale


class InputErrors(ScoringError):
    """Validation failed; `errors` maps (assessment_id, indicator_id) to [(field, message)]."""

    default_code = ErrorCode.INVALID

    def __init__(self, errors: dict[tuple[int, int], list[tuple[str, str]]]) -> None:
        super().__init__(_("Some scores are not valid. Nothing was saved."))
        self.errors = errors


class QueueError(ScoringError):
    """The job could not be handed to the broker (e.g. Redis is down)."""

    default_code = ErrorCode.QUEUE


@dataclass(frozen=True)
class RowError:
    """One problem of an uploaded file, at a cell where there is one (row 1-based, column letter).

    `code` is stable (for tests and views); `reason` is the translated text for the user.
    """

    sheet: str
    row: int | None
    column: str | None
    header: str
    reason: str
    code: str

    @property
    def cell(self) -> str:
        return f"{self.column or ''}{self.row or ''}"

    def __str__(self) -> str:
        where = "!".join(part for part in (self.sheet, self.cell) if part)
        header = f" ({self.header})" if self.header else ""
        return f"{where}{header}: {self.reason}" if where else self.reason


class ImportErrors(ScoringError):
    """The upload was refused; `errors` lists every problem found. Nothing was written."""

    default_code = ErrorCode.IMPORT

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(
            _("The file was not imported: %(n)d problems. Nothing was saved.") % {"n": len(errors)}
        )
        self.errors = errors
