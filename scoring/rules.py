"""Rules of the domain as pure functions: no database, no Django models, only numbers in and out.

Services and selectors feed these with rows; tests cover them exhaustively.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal("100")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class DimensionResult:
    """A dimension's score out of 100 for one unit and period, and whether it earns the level."""

    score: Decimal
    vetoed: bool
    reaches: bool


def dimension_score(
    points: Iterable[tuple[Decimal | None, Decimal]],
    bonus: Iterable[Decimal | None] = (),
    bonus_cap: Decimal = Decimal("0"),
) -> Decimal:
    """Normalise a dimension's points to a score out of 100.

    `points` holds (awarded, max) per points item; an unscored item (None) counts as 0, so an
    incomplete sheet cannot look better than a complete one. Catalogues whose max points do not
    add up to 100 are scaled. Bonus points are added after scaling, at most `bonus_cap`, and the
    result never exceeds 100: bonus makes up for lost points, it does not go past full marks.
    """
    awarded = Decimal("0")
    possible = Decimal("0")
    for value, maximum in points:
        awarded += min(value or Decimal("0"), maximum)
        possible += maximum
    base = awarded * HUNDRED / possible if possible else Decimal("0")
    extra = sum((b or Decimal("0") for b in bonus), Decimal("0"))
    extra = min(extra, bonus_cap) if bonus_cap >= 0 else Decimal("0")
    total = min(base + extra, HUNDRED)
    return total.quantize(CENT, rounding=ROUND_HALF_UP)


def dimension_result(
    points: Iterable[tuple[Decimal | None, Decimal]],
    vetoes: Iterable[bool | None] = (),
    bonus: Iterable[Decimal | None] = (),
    bonus_cap: Decimal = Decimal("0"),
    threshold: Decimal = Decimal("90"),
) -> DimensionResult:
    """Score a dimension and decide whether it reaches the threshold (a triggered veto fails it)."""
    score = dimension_score(points, bonus, bonus_cap)
    vetoed = any(bool(v) for v in vetoes)
    return DimensionResult(score=score, vetoed=vetoed, reaches=(not vetoed and score >= threshold))
