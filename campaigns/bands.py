"""Total-score bands (e.g. 90:5,80:4 …): a campaign's setting, parsed once here."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Band:
    """Total score at or above `minimum` earns `level` (e.g. 90 → 5 stars)."""

    minimum: Decimal
    level: int


DEFAULT_BANDS = (
    Band(Decimal("90"), 5),
    Band(Decimal("80"), 4),
    Band(Decimal("70"), 3),
    Band(Decimal("60"), 2),
    Band(Decimal("0"), 1),
)


def parse_bands(text: str) -> tuple[Band, ...]:
    """Parse '90:5,80:4,70:3,60:2,0:1' into bands, highest first. Raises ValueError."""
    bands = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        minimum, _sep, level = part.partition(":")
        try:
            band = Band(Decimal(minimum.strip()), int(level.strip()))
        except ArithmeticError as exc:  # decimal.InvalidOperation is not a ValueError
            raise ValueError(part) from exc
        if not band.minimum.is_finite() or not (0 <= band.minimum <= 100) or band.level < 0:
            raise ValueError(part)
        bands.append(band)
    if not bands:
        raise ValueError(text)
    bands.sort(key=lambda b: b.minimum, reverse=True)
    levels = [b.level for b in bands]
    if levels != sorted(levels, reverse=True) or len({b.minimum for b in bands}) != len(bands):
        raise ValueError(text)
    return tuple(bands)
