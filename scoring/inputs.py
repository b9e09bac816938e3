"""What a user typed for one score, parsed and checked without the database.

The web row, save-all, the Excel upload and the command line all go through these, so a value
refused on one path is refused on every path with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from campaigns.models import Indicator, IndicatorKind


@dataclass
class ScoreInput:
    """One score as a user typed it. `expected_version` is the version the user saw (0 = none
    existed); None skips the staleness check (used where no version was shown)."""

    assessment_id: int
    indicator_id: int
    value: Decimal | None = None
    vetoed: bool | None = None
    note: str = ""
    expected_version: int | None = None


# --- validation (no database) ---------------------------------------------------------------


def parse_points(raw: str | None) -> Decimal | None:
    """Turn what a user typed into points; '' means not scored. Raises ValueError."""
    text = (raw or "").strip().replace(",", ".").replace("。", ".")
    if text == "":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if not value.is_finite():
        raise ValueError(text)
    return value


def validate_input(item: ScoreInput, indicator: Indicator) -> list[tuple[str, str]]:
    """Return [(field, message)] for one input: range, steps, veto, required note."""
    errors: list[tuple[str, str]] = []
    if indicator.kind == IndicatorKind.VETO:
        return errors
    value = item.value
    if value is None:
        return errors
    if value < 0:
        errors.append(("value", _("Points cannot be negative.")))
    elif value > indicator.max_points:
        errors.append(
            (
                "value",
                _("At most %(max)s points for this indicator.") % {"max": indicator.max_points},
            )
        )
    elif value != value.quantize(Decimal("0.01")):
        errors.append(("value", _("Use at most two decimal places.")))
    elif (
        indicator.kind == IndicatorKind.POINTS
        and value < indicator.max_points
        and not item.note.strip()
    ):
        errors.append(("note", _("Say why points were deducted.")))
    return errors
