"""Rules of the domain as pure functions: no database, no Django models, only numbers in and out.

Services and selectors feed these with rows; tests cover them exhaustively.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from campaigns.bands import DEFAULT_BANDS, Band

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


@dataclass
class DimensionParts:
    """A dimension's scores summed, as SQL aggregates them and exports stream them: points
    awarded (each capped at its item's max), points possible, bonus (each capped), and whether
    any veto was triggered. `result` scores them exactly as `dimension_result` scores items."""

    points: Decimal = Decimal("0")
    possible: Decimal = Decimal("0")
    bonus: Decimal = Decimal("0")
    vetoed: bool = False

    def result(self, bonus_cap: Decimal, threshold: Decimal) -> DimensionResult:
        return dimension_result(
            [(self.points, self.possible)], [self.vetoed], [self.bonus], bonus_cap, threshold
        )


# --- adjustment (调旗) ----------------------------------------------------------------------

AWARD = "award"
WITHDRAW = "withdraw"
KEEP = "keep"


def dimension_action(*, held: bool, reaches: bool) -> str:
    """Per-dimension threshold mode: award what is reached and not held, withdraw what is held
    and not reached (below the threshold or vetoed), keep everything else."""
    if reaches and not held:
        return AWARD
    if held and not reaches:
        return WITHDRAW
    return KEEP


def total_score(results: Iterable[DimensionResult]) -> Decimal:
    """The unit's total out of 100: the mean of its dimension scores."""
    scores = [r.score for r in results]
    if not scores:
        return Decimal("0.00")
    return (sum(scores, Decimal("0")) / len(scores)).quantize(CENT, rounding=ROUND_HALF_UP)


def band_level(
    total: Decimal, bands: Iterable[Band] = DEFAULT_BANDS, cap: int | None = None
) -> int:
    """Level earned by a total score in band mode, at most `cap` when one is set."""
    level = 0
    for band in sorted(bands, key=lambda b: b.minimum, reverse=True):
        if total >= band.minimum:
            level = band.level
            break
    return min(level, cap) if cap is not None else level


def band_dimensions(results: dict[int, DimensionResult], level: int) -> set[int]:
    """Which dimensions make up a band-mode level: the best-scored ones, never a vetoed one.

    Holdings stay per dimension in both modes, so a level of 3 is held as the three
    dimensions with the highest scores (ties broken by dimension id for stability).
    """
    eligible = sorted(
        (dim_id for dim_id, r in results.items() if not r.vetoed),
        key=lambda dim_id: (-results[dim_id].score, dim_id),
    )
    return set(eligible[:level])


def lost_points(items: Iterable[tuple[str, Decimal | None, Decimal]]) -> list[tuple[str, Decimal]]:
    """(code, points lost) of the items that cost points, largest loss first.

    `items` holds (indicator code, awarded, max); unscored counts as everything lost.
    """
    lost = [(code, maximum - min(value or Decimal("0"), maximum)) for code, value, maximum in items]
    return sorted(((c, p) for c, p in lost if p > 0), key=lambda cp: (-cp[1], cp[0]))
