"""Pages that bring several apps together: the home page and a unit's page.

They sit at the top of the layering (config → scoring → campaigns → villages) because each
reads scoring, campaigns and villages at once; the apps' own pages stay in the apps.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from campaigns.models import Campaign, UnitTarget
from scoring.models import (
    Assessment,
    Holding,
    HoldingChange,
    RectificationItem,
    ScoreStage,
    Stage,
)
from scoring.selectors import campaigns_for_home, work_due
from scoring.selectors.unit_page import assessment_stage_totals
from villages.access import ancestor_codes, scope_for
from villages.models import Unit


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Show who the user acts for, their units at a glance and the campaigns they take part in."""
    user = request.user
    scope = scope_for(user)
    unit_counts = {
        row["kind"]: row["n"]
        for row in Unit.objects.visible_to(user).values("kind").annotate(n=Count("id"))
    }
    due = work_due(user)
    # The full work lists behind "N assessments wait for you": one per period the items are in.
    due_lists = list(
        {(a.period.campaign.slug, a.period.label): a.period for a in due["items"]}.values()
    )
    context = {
        "scope": scope,
        "place": user.scope_place,
        "unit_counts": unit_counts,
        "unit_total": sum(unit_counts.values()),
        "campaigns": campaigns_for_home(user=user),
        "stages": Stage.choices,
        "due": due,
        "due_lists": due_lists,
    }
    return render(request, "campaigns/home.html", context)


@login_required
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one unit's facts, the flags or stars it holds with the history of gains and losses,
    its target, its assessments (linked to their entry pages) with the total at each stage,
    and its rectification items."""
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
    assessments = list(
        Assessment.objects.filter(unit=unit)
        .select_related("period__campaign")
        .order_by("-period__starts_on", "period__campaign__name")
    )
    totals = assessment_stage_totals(assessments)
    score_stages = [(value, label) for value, label in ScoreStage.choices]
    for a in assessments:
        by_stage = totals.get(a.id, {})
        a.stage_totals = [by_stage.get(value) for value, _label in score_stages]
    rectification = (
        RectificationItem.objects.visible_to(request.user)
        .filter(assessment__unit=unit)
        .select_related("indicator", "assessment__period")
        .order_by("status", "deadline", "id")
    )
    context = {
        "unit": unit,
        "campaigns": campaigns,
        "assessments": assessments,
        "score_stages": score_stages,
        "rectification": rectification,
    }
    return render(request, "villages/unit_detail.html", context)
