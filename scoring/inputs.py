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


def number_text(value: Decimal) -> str:
    """10.00 → '10', 7.50 → '7.5' (no exponent): points as people write them."""
    return f"{value.normalize():f}"


def points_problem(value: Decimal, maximum: Decimal) -> tuple[str, str] | None:
    """(code, message) of what is wrong with `value` points for an item worth `maximum`, or
    None. The one range check of typed points: the web form and the Excel upload both ask it."""
    if value < 0:
        return "negative", _("Points cannot be negative.")
    if value > maximum:
        return "above_max", _("At most %(max)s points for this indicator.") % {
            "max": number_text(maximum)
        }
    if value != value.quantize(Decimal("0.01")):
        return "decimals", _("Use at most two decimal places.")
    return None


def validate_input(item: ScoreInput, indicator: Indicator) -> list[tuple[str, str]]:
    """Return [(field, message)] for one input: range, steps, veto, required note."""
    if indicator.kind == IndicatorKind.VETO or item.value is None:
        return []
    problem = points_problem(item.value, indicator.max_points)
    if problem is not None:
        return [("value", problem[1])]
    if (
        indicator.kind == IndicatorKind.POINTS
        and item.value < indicator.max_points
        and not item.note.strip()
    ):
        return [("note", _("Say why points were deducted."))]
    return []
