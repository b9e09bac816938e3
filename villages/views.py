"""Pages about units; every queryset is cut to the user's scope (others' units are 404)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import render

from villages.models import Region, Unit, UnitKind


@login_required
def unit_list(request):
    """List the units in the user's scope, filtered by township, kind and a search word."""
    units = Unit.objects.visible_to(request.user).select_related("township")
    townships = Region.objects.visible_to(request.user).townships().order_by("code")
    township_code = request.GET.get("township", "")
    kind = request.GET.get("kind", "")
    q = request.GET.get("q", "").strip()
    if township_code:
        units = units.filter(township__code=township_code)
    if kind in UnitKind.values:
        units = units.filter(kind=kind)
    if q:
        units = units.filter(Q(name__contains=q) | Q(code__startswith=q))
    units = units.annotate(level_count=Count("holdings")).order_by("code")
    page = Paginator(units, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "townships": townships,
        "township_code": township_code,
        "kind": kind,
        "q": q,
        "kinds": UnitKind.choices,
    }
    return render(request, "villages/unit_list.html", context)
