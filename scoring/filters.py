"""Filters and sorting of the list pages (django-filter FilterSets).

Each list page declares its filters here once; the view binds the FilterSet to request.GET
and pages its `.qs`, so filtering happens in SQL before the page is cut. GET parameter names
and values are the ones the pages always used (bookmarked addresses keep working). The base
class and the shared pieces are in villages/filters.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import django_filters
from django.db.models import F, Q, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from scoring.models import Period, ProposalAction, RectificationStatus, Stage, overdue_q
from villages.filters import (
    ListFilterSet,
    name_or_code,
    search_filter,
    tick_filter,
    township_filter,
)

# --- work list ------------------------------------------------------------------------------

#: Orderings of the work list by `sort` value; `progress`, `points` and `stage_rank` are
#: annotations of the view's queryset. NULL points sort the same on SQLite and PostgreSQL.
SORTS = {
    "code": ("unit__code",),
    "-code": ("-unit__code",),
    "progress": ("progress", "unit__code"),
    "-progress": ("-progress", "unit__code"),
    "total": (F("points").asc(nulls_first=True), "unit__code"),
    "-total": (F("points").desc(nulls_last=True), "unit__code"),
    "stage": ("stage_rank", "unit__code"),
}

#: The orderings offered in the list (`-code` is accepted from an address but not offered).
SORT_CHOICES = [
    ("code", _("By code")),
    ("-progress", _("Most scored first")),
    ("progress", _("Least scored first")),
    ("-total", _("Highest points first")),
    ("total", _("Lowest points first")),
    ("stage", _("By stage")),
]


class SortField(django_filters.fields.ChoiceField):
    def valid_value(self, value: str) -> bool:
        return value in SORTS


class SortFilter(django_filters.ChoiceFilter):
    field_class = SortField


class WorkListFilter(ListFilterSet):
    """The work list of a period: township, stage, sorting, search word, overdue, returned.

    The queryset given is the period's assessments annotated by the view (see SORTS); an
    unknown `sort` falls back to the code order the queryset comes in.
    """

    township = township_filter("unit__township__code")
    stage = django_filters.ChoiceFilter(label=_("Stage"), empty_label=_("All stages"))
    sort = SortFilter(label=_("Sort"), choices=SORT_CHOICES, empty_label=None, method="sort_by")
    q = search_filter("search")
    overdue = tick_filter(_("Overdue only"), "only_overdue")
    returned = tick_filter(_("Returned"), "only_returned")

    defaults = {"sort": "code"}

    def __init__(
        self, data: QueryDict | dict | None, queryset: QuerySet, *, period: Period, **kwargs: Any
    ) -> None:
        super().__init__(data, queryset, **kwargs)
        self.period = period
        order = period.campaign.stage_order()
        self.set_choices("stage", lambda: [(s, Stage(s).label) for s in order])

    def sort_by(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.order_by(*SORTS[value])

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(name_or_code("unit__", value))

    def only_overdue(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        if not value:
            return queryset
        late = [s for s in self.period.campaign.stage_order() if self.period.is_overdue(s)]
        return queryset.filter(stage__in=late)

    def only_returned(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.exclude(returned_reason="") if value else queryset


# --- gaps, ranking, unit targets: township only ---------------------------------------------


class GapsFilter(ListFilterSet):
    """Gaps between stages: the period's assessments, by township."""

    township = township_filter("unit__township__code")


class RankingFilter(ListFilterSet):
    """The units shown under the rankings, by township (a queryset of units)."""

    township = township_filter("township__code")


class UnitTargetFilter(ListFilterSet):
    """Each unit's target (荐旗), by township (a queryset of units)."""

    township = township_filter("township__code")


# --- rectification ledger -------------------------------------------------------------------


class RectificationFilter(ListFilterSet):
    """The rectification ledger: status (not closed unless asked), township, period, overdue,
    and a village by name or code.

    A period label that is not one of the campaign's gives an empty list, as a foreign
    township does.
    """

    status = django_filters.ChoiceFilter(
        label=_("Status"),
        choices=[
            ("active", _("Not closed")),
            *RectificationStatus.choices,
            ("all", _("All")),
        ],
        empty_label=None,
        method="by_status",
    )
    township = township_filter("assessment__unit__township__code")
    period = django_filters.ChoiceFilter(
        field_name="assessment__period__label", label=_("Period"), empty_label=_("All periods")
    )
    overdue = tick_filter(_("Overdue only"), "only_overdue")
    q = search_filter("search")

    refuse_invalid = ("township", "period")
    defaults = {"status": "active"}

    def __init__(
        self,
        data: QueryDict | dict | None,
        queryset: QuerySet,
        *,
        periods: Iterable[Period],
        **kwargs: Any,
    ) -> None:
        super().__init__(data, queryset, **kwargs)
        self.set_choices("period", lambda: [(p.label, p.label) for p in periods])

    def by_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "active":
            return queryset.exclude(status=RectificationStatus.CLOSED)
        if value in RectificationStatus.values:
            return queryset.filter(status=value)
        return queryset

    def only_overdue(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(overdue_q()) if value else queryset

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """A village (unit) by a part of its name or the start of its code."""
        return queryset.filter(name_or_code("assessment__unit__", value))


# --- adjustment run -------------------------------------------------------------------------


class ProposalFilter(ListFilterSet):
    """An adjustment run's proposals: township, and the decision (changes only unless asked).

    A decision is the override when there is one, else the proposed action.
    """

    township = township_filter("unit__township__code")
    action = django_filters.ChoiceFilter(
        label=_("Decision"),
        choices=[("changes", _("Changes only")), *ProposalAction.choices, ("all", _("All"))],
        empty_label=None,
        method="by_decision",
    )

    defaults = {"action": "changes"}

    def by_decision(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "changes":
            return queryset.filter(
                Q(action__in=[ProposalAction.AWARD, ProposalAction.WITHDRAW]) | ~Q(override="")
            )
        if value in ProposalAction.values:
            return queryset.filter(Q(action=value, override="") | Q(override=value))
        return queryset
