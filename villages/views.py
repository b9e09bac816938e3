"""Pages about units; every queryset is cut to the user's scope (others' units are 404)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from villages.filters import UnitFilter
from villages.models import Region, Unit


@login_required
def unit_list(request: HttpRequest) -> HttpResponse:
    """List the units in the user's scope, filtered by township, kind and a search word."""
    townships = Region.objects.visible_to(request.user).townships().order_by("code")
    filters = UnitFilter(
        request.GET,
        Unit.objects.visible_to(request.user)
        .select_related("township")
        .annotate(level_count=Count("holdings"))
        .order_by("code"),
        townships=townships,
    )
    page = Paginator(filters.qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "townships": townships, "filter": filters}
    return render(request, "villages/unit_list.html", context)
