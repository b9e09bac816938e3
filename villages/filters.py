"""Filters of list pages (django-filter): the base every list's FilterSet builds on, the pieces
they share (township, search word, a tick) and the unit list's own.

A FilterSet is bound to request.GET and filters the queryset it is given in SQL, before the
page is cut. The GET parameter names are the ones the pages have always used, so bookmarked
addresses keep working. Templates render one with `{% include "_filters.html" %}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.forms import BoundField
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from villages.models import UnitKind

Choices = list[tuple[str, str]]


def once(make: Callable[[], Choices]) -> Callable[[], Choices]:
    """Choices worked out on first use and kept: validating the value and rendering the
    <select> then cost one query between them, and none when neither happens."""
    made: list[Choices] = []

    def choices() -> Choices:
        if not made:
            made.append(list(make()))
        return made[0]

    return choices


class TickInput(forms.CheckboxInput):
    """A checkbox sending `name=1`, as the pages' addresses always had; only "1" means ticked."""

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__({"value": "1", **(attrs or {})})

    def value_from_datadict(self, data: Mapping[str, Any], files: Any, name: str) -> bool:
        return data.get(name) == "1"


def tick_filter(label: str, method: str) -> django_filters.BooleanFilter:
    """An "only …" tick: unticked filters nothing."""
    return django_filters.BooleanFilter(label=label, method=method, widget=TickInput)


def township_filter(field_name: str) -> django_filters.ChoiceFilter:
    """A township by code; its choices (the user's townships) are given to the FilterSet."""
    return django_filters.ChoiceFilter(
        field_name=field_name, label=_("Township"), empty_label=_("All townships"), choices=()
    )


def search_filter(method: str) -> django_filters.CharFilter:
    return django_filters.CharFilter(
        label=_("Name or code"),
        method=method,
        widget=forms.SearchInput(attrs={"placeholder": _("Name or code")}),
    )


def name_or_code(prefix: str, q: str) -> Q:
    """A unit whose name contains `q` or whose code starts with it (`prefix` leads to the unit)."""
    return Q(**{f"{prefix}name__contains": q}) | Q(**{f"{prefix}code__startswith": q})


class ListFilterSet(django_filters.FilterSet):
    """A list page's filters and sorting, declared once.

    An invalid value is ignored (its field shows the error), except in `refuse_invalid`: a
    township or period that is not one of the user's gives an empty list, as the pages always
    did, so a foreign code can never widen what is listed. An absent parameter takes its value
    from `defaults` (a present but empty or unknown one does not, as before). Fields in
    `hide_single` are not shown while they offer a single choice (a township official has one
    township).
    """

    refuse_invalid: tuple[str, ...] = ("township",)
    hide_single: tuple[str, ...] = ("township",)
    #: The value a filter takes when its parameter is absent from the address.
    defaults: dict[str, str] = {}

    def __init__(
        self,
        data: QueryDict | dict | None,
        queryset: QuerySet,
        *,
        townships: Iterable | None = None,
        **kwargs: Any,
    ) -> None:
        missing = [name for name in self.defaults if data is not None and name not in data]
        if missing:
            data = data.copy()
            for name in missing:
                data[name] = self.defaults[name]
        super().__init__(data, queryset, **kwargs)
        if "township" in self.filters:
            rows = townships if townships is not None else ()
            self.set_choices("township", lambda: [(t.code, t.name) for t in rows])

    def set_choices(self, name: str, make: Callable[[], Choices]) -> None:
        """Give a choice filter its choices, worked out at most once (see `once`)."""
        self.filters[name].extra["choices"] = once(make)

    @property
    def refused(self) -> bool:
        return any(name in self.errors for name in self.refuse_invalid)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if self.refused:
            return queryset.none()
        return super().filter_queryset(queryset)

    def value(self, name: str) -> Any:
        """The valid value of a filter, or None (its field's initial when it has one)."""
        if name in self.form.errors:
            return None
        return self.form.cleaned_data.get(name)

    def shown_fields(self) -> list[BoundField]:
        """The form's fields to render, styled for Bootstrap, in declaration order."""
        form = self.form
        form.is_valid()
        shown = []
        for bound in form:
            if bound.name in self.hide_single:
                real = [value for value, _label in bound.field.choices if value != ""]
                if len(real) <= 1:
                    continue
            widget = bound.field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select form-select-sm"
                widget.attrs["aria-label"] = bound.label
            else:
                css = "form-control form-control-sm"
                widget.attrs["aria-label"] = bound.label
            if bound.errors:
                css += " is-invalid"
            widget.attrs["class"] = css
            shown.append(bound)
        return shown


class UnitFilter(ListFilterSet):
    """The unit list: township, kind and a search word (name or start of the code)."""

    township = township_filter("township__code")
    kind = django_filters.ChoiceFilter(
        label=_("Kind"), choices=UnitKind.choices, empty_label=_("All kinds")
    )
    q = search_filter("search")

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(name_or_code("", value))
