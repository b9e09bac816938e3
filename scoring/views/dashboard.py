"""The leaders' dashboard and the public showcase (展旗)."""

from __future__ import annotations

from collections import Counter

from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign, CampaignStatus, LevelTarget
from scoring.models import (
    Assessment,
    RectificationItem,
    RectificationStatus,
    Stage,
    overdue_q,
)
from scoring.selectors import (
    level_distribution,
    rankings,
    unit_levels,
)
from scoring.selectors.completeness import completion_pick, period_completions
from scoring.views.base import campaign_or_404, login_required
from villages.models import Unit
from villages.policy import Action, may

# --- dashboard and showcase -----------------------------------------------------------------


@login_required
def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    """County staff, leaders and lead departments (read-only): levels against targets, and for
    one period (?period=2026Q3, by default the latest complete one) progress by stage and
    rankings, with how complete it is; rectification status; charts."""
    if not may(request.user, Action.VIEW_DASHBOARD):
        raise PermissionDenied
    campaign = campaign_or_404(request.user, slug)
    # The period shown: the one asked for, else the latest complete one (all final), else the
    # latest with any final assessment, said to be partial on every figure.
    completions = period_completions(campaign, request.user)
    completion = completion_pick(completions, request.GET.get("period"))
    current = completions[0] if completions else None
    period = completion.period if completion else None
    distribution = level_distribution(campaign, request.user)
    county_targets = dict(
        LevelTarget.objects.filter(campaign=campaign, region=campaign.region).values_list(
            "level", "count"
        )
    )
    top = max([*distribution, *county_targets, 5])
    level_axis = list(range(top, -1, -1))
    stage_counts = {}
    if period:
        stage_counts = dict(
            Assessment.objects.visible_to(request.user)
            .filter(period=period)
            .values_list("stage")
            .annotate(n=Count("id"))
            .order_by()
        )
    township_rows, unit_rows = rankings(period, request.user) if period else ([], [])
    rect = dict(
        RectificationItem.objects.visible_to(request.user)
        .filter(assessment__period__campaign=campaign)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    overdue = (
        RectificationItem.objects.visible_to(request.user)
        .filter(assessment__period__campaign=campaign)
        .filter(overdue_q())
        .count()
    )
    word = campaign.level_word
    levels_now = [(n, distribution.get(n, 0), county_targets.get(n)) for n in level_axis]
    charts = {
        "levels": {
            "categories": [f"{n}" for n in level_axis],
            "actual": [distribution.get(n, 0) for n in level_axis],
            "target": [county_targets.get(n) for n in level_axis],
            "labels": {"actual": _("Now"), "target": _("Target"), "axis": word},
        },
        "stages": [
            {"name": str(Stage(s).label), "value": stage_counts.get(s, 0)}
            for s in campaign.stage_order()
        ],
        "townships": {
            "names": [t.township.name for t in township_rows],
            "averages": [
                float(t.average) if t.average is not None else None for t in township_rows
            ],
            "label": _("Average final score"),
        },
        "rectification": [
            {"name": str(RectificationStatus(s).label), "value": rect.get(s, 0)}
            for s in RectificationStatus.values
        ],
    }
    return render(
        request,
        "scoring/dashboard.html",
        {
            "campaign": campaign,
            "period": period,
            "completion": completion,
            "completions": completions,
            "current": current,
            "charts": charts,
            "levels": levels_now,
            "gaps": [
                None if target is None else target - actual for _n, actual, target in levels_now
            ],
            "stage_counts": [
                (str(Stage(s).label), stage_counts.get(s, 0)) for s in campaign.stage_order()
            ],
            "top_townships": township_rows[:5],
            "bottom_units": [r for r in unit_rows if r.total is not None][-10:][::-1],
            "rect": [
                (str(RectificationStatus(s).label), rect.get(s, 0))
                for s in RectificationStatus.values
            ],
            "overdue": overdue,
        },
    )


def showcase(request: HttpRequest, slug: str) -> HttpResponse:
    """Public, read-only (展旗): the units at each level per township. No personal data."""
    campaign = get_object_or_404(
        Campaign.objects.exclude(status=CampaignStatus.DRAFT).select_related("region"), slug=slug
    )
    levels = unit_levels(campaign)
    units = (
        Unit.objects.active()
        .filter(code__startswith=campaign.region.prefix)
        .select_related("township")
        .only("name", "kind", "township__name", "township__code")
        .order_by("township__code", "name")
    )
    held = {}
    for u in units:
        level = levels.get(u.id, 0)
        if level:
            held.setdefault(u.township, {}).setdefault(level, []).append(u.name)
    top = max(levels.values(), default=0)
    rows = [
        {"township": t.name, "levels": [(lvl, by_level.get(lvl, [])) for lvl in range(top, 0, -1)]}
        for t, by_level in held.items()
    ]
    totals = Counter(levels.values())
    return render(
        request,
        "scoring/showcase.html",
        {
            "campaign": campaign,
            "rows": rows,
            "totals": [(lvl, totals.get(lvl, 0)) for lvl in range(top, 0, -1)],
            "updated": timezone.localdate(),
        },
    )
