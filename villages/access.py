"""Who may see what: a user's scope, and the queryset base every scoped model uses.

Scope is expressed with the 12-digit statistical division code (统计用区划代码), which is
hierarchical by design: 2 digits province, 4 city, 6 county, 9 township, 12 village. Everything
inside a region therefore shares its code prefix, so "inside my scope" is one indexed
`LIKE 'prefix%'` filter with no joins up the tree, at any depth, for any model that can reach a
unit or region code. Region and Unit validation keeps codes consistent with the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self

from django.db import models

if TYPE_CHECKING:
    # Only for annotations: villages.models imports this module to build its querysets.
    from django.contrib.auth.models import AnonymousUser

    from villages.models import User

# Number of leading code digits that identify a region of each level.
PREFIX_LENGTH = {"province": 2, "city": 4, "county": 6, "township": 9, "unit": 12}


def code_prefix(code: str, level: str) -> str:
    """Return the part of a division code that all places inside it share."""
    return code[: PREFIX_LENGTH[level]]


def ancestor_codes(code: str) -> list[str]:
    """Return the full codes of the regions that contain the place with this code (and itself).

    Pure string work: '410527100203' -> province 410000000000, city 410500000000,
    county 410527000000, township 410527100000 and the code itself.
    """
    codes = []
    for length in (2, 4, 6, 9):
        candidate = code[:length].ljust(12, "0")
        if candidate not in codes:
            codes.append(candidate)
    if code not in codes:
        codes.append(code)
    return codes


@dataclass(frozen=True)
class Scope:
    """What one user may see: everything, nothing, or all places under one code prefix.

    `code` is the full code of the scope's region or unit; `prefix` the part shared by all
    places inside it. `read_only` marks leaders; write rules use the role.
    """

    everything: bool = False
    code: str = ""
    prefix: str = ""
    role: str = ""
    read_only: bool = True
    ancestors: list[str] = field(default_factory=list)

    @property
    def nothing(self) -> bool:
        return not self.everything and not self.prefix

    def contains(self, code: str) -> bool:
        """Whether the place with this division code lies inside the scope (no query)."""
        return self.everything or (bool(self.prefix) and code.startswith(self.prefix))


NO_SCOPE = Scope()
ALL_SCOPE = Scope(everything=True, read_only=False)


def scope_for(user: User | AnonymousUser | None) -> Scope:
    """Return (and cache on the user object) the user's scope.

    Costs at most one query per request (the region or unit the user acts for), then none.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return NO_SCOPE
    cached = getattr(user, "_scope_cache", None)
    if cached is not None:
        return cached
    scope = user.compute_scope()
    user._scope_cache = scope
    return scope


class ScopedQuerySet(models.QuerySet):
    """A queryset that can cut itself to what a user may see.

    Subclasses name the path to the division code of the place a row belongs to
    (`scope_code_path`). Rows belong to a unit or region *inside* the user's scope.
    """

    scope_code_path: str = "code"

    def visible_to(self, user: User | AnonymousUser) -> Self:
        scope = scope_for(user)
        if scope.everything:
            return self.all()
        if scope.nothing:
            return self.none()
        return self.filter(**{f"{self.scope_code_path}__startswith": scope.prefix})


class CoveringQuerySet(models.QuerySet):
    """A queryset of things that cover a region (campaigns, their catalogues and periods).

    A user sees one if it covers the user's place (its region is an ancestor of, or is, the
    user's scope) or lies inside the user's scope (a city officer sees county campaigns).
    """

    region_code_path: str = "region__code"

    def visible_to(self, user: User | AnonymousUser) -> Self:
        scope = scope_for(user)
        if scope.everything:
            return self.all()
        if scope.nothing:
            return self.none()
        path = self.region_code_path
        return self.filter(
            models.Q(**{f"{path}__in": scope.ancestors})
            | models.Q(**{f"{path}__startswith": scope.prefix})
        )
