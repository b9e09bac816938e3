"""Pages about units; every queryset is cut to the user's scope (others' units are 404)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, render

from campaigns.models import Campaign, UnitTarget
from scoring.models import Assessment, Holding, HoldingChange
from villages.access import ancestor_codes
from villages.models import Region, Unit, UnitKind

PAGE_SIZE = 50


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
    page = Paginator(units, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "townships": townships,
        "township_code": township_code,
        "kind": kind,
        "q": q,
        "kinds": UnitKind.choices,
    }
    return render(request, "villages/unit_list.html", context)


@login_required
def unit_detail(request, pk: int):
    """Show one unit's facts, the flags or stars it holds with the history of gains and losses,
    its target and its assessments."""
    unit = get_object_or_404(
        Unit.objects.visible_to(request.user).select_related("township__parent"), pk=pk
    )
    # Campaigns over this unit, not all the viewer sees: a city officer or superuser sees
    # campaigns of other counties that this unit takes no part in.
    campaigns = list(
        Campaign.objects.visible_to(request.user)
        .filter(region__code__in=ancestor_codes(unit.code))
        .order_by("-year", "name")
    )
    held: dict[int, list] = {c.id: [] for c in campaigns}
    for holding in Holding.objects.filter(unit=unit).select_related("dimension"):
        held.setdefault(holding.dimension.campaign_id, []).append(holding.dimension)
    timeline: dict[int, list] = {}
    for change in (
        HoldingChange.objects.filter(unit=unit)
        .select_related("dimension", "period", "decided_by")
        .order_by("-decided_at", "-id")
    ):
        timeline.setdefault(change.dimension.campaign_id, []).append(change)
    targets = dict(UnitTarget.objects.filter(unit=unit).values_list("campaign_id", "decided_level"))
    for campaign in campaigns:
        campaign.held_dimensions = held.get(campaign.id, [])
        campaign.timeline = timeline.get(campaign.id, [])
        campaign.target_level = targets.get(campaign.id)
    assessments = (
        Assessment.objects.filter(unit=unit)
        .select_related("period__campaign")
        .order_by("-period__starts_on", "period__campaign__name")
    )
    context = {"unit": unit, "campaigns": campaigns, "assessments": assessments}
    return render(request, "villages/unit_detail.html", context)
