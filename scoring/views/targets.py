"""Targets against levels, each unit's target (荐旗), and the rankings (赛马)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from campaigns.models import Campaign, LevelTarget, UnitTarget
from campaigns.services import unit_targets_set
from scoring.filters import RankingFilter, UnitTargetFilter
from scoring.models import (
    Period,
)
from scoring.selectors import (
    effective_and_slow,
    level_distribution,
    rankings,
    targets_by_township,
    unit_levels,
    units_for,
)
from scoring.selectors.completeness import period_completions
from scoring.views.base import campaign_or_404, login_required, townships_of
from villages.access import scope_for
from villages.errors import Refused
from villages.models import Region, Unit, User
from villages.policy import Action, may

# --- targets and rankings -------------------------------------------------------------------


def _level_targets(campaign: Campaign, user: User) -> tuple[dict[int, int], Region | None, bool]:
    """The level targets that apply to what `user` sees: the campaign region's when the user
    sees all of it, else their own township's (LevelTarget rows for that township).

    Returns (targets by level, the township when the user sees only part of the campaign,
    whether the county has set that township targets at all)."""
    scope = scope_for(user)
    if scope.everything or campaign.region.code.startswith(scope.prefix):
        rows = LevelTarget.objects.filter(campaign=campaign, region=campaign.region)
        return dict(rows.values_list("level", "count")), None, True
    township = Region.objects.filter(code=scope.code[:9] + "000").first()
    rows = LevelTarget.objects.filter(campaign=campaign, region=township)
    found = dict(rows.values_list("level", "count")) if township else {}
    return found, township, bool(found)


def _gap(target: int | None, actual: int) -> int | None:
    return None if target is None else target - actual


@login_required
def targets(request: HttpRequest, slug: str) -> HttpResponse:
    """Targets per level against the units holding each level now, with the gap (target −
    actual): the county's for who sees the whole county, a township's own for its people; and
    per township, units now against their targets (荐旗)."""
    campaign = campaign_or_404(request.user, slug)
    distribution = level_distribution(campaign, request.user)
    level_targets, township, has_targets = _level_targets(campaign, request.user)
    top = max([*distribution, *level_targets, 5])
    levels = [
        (level, distribution.get(level, 0), level_targets.get(level))
        for level in range(top, -1, -1)
    ]
    gaps = [(level, _gap(target, actual)) for level, actual, target in levels]
    rows = targets_by_township(campaign, request.user)
    for row in rows:
        row["pairs"] = list(zip(row["actual"][::-1], row["target"][::-1], strict=True))
        row["cells"] = [(actual, target, target - actual) for actual, target in row["pairs"]]
    return render(
        request,
        "scoring/targets.html",
        {
            "campaign": campaign,
            "levels": levels,
            "gaps": gaps,
            "township": township,
            "has_targets": has_targets,
            "rows": rows,
            "level_headers": list(range(len(rows[0]["actual"]) - 1, -1, -1)) if rows else [],
        },
    )


@login_required
def unit_targets(request: HttpRequest, slug: str) -> HttpResponse:
    """Each unit's target level (荐旗): townships recommend, the county decides."""
    campaign = campaign_or_404(request.user, slug)
    user = request.user
    field = (
        "decided"
        if may(user, Action.DECIDE_TARGET)
        else "recommended"
        if may(user, Action.RECOMMEND_TARGET)
        else None
    )
    units = (
        Unit.objects.visible_to(user)
        .active()
        .filter(code__startswith=campaign.region.prefix)
        .select_related("township")
        .order_by("code")
    )
    filters = UnitTargetFilter(request.GET, units, townships=townships_of(user, campaign))
    page = Paginator(filters.qs, settings.PAGE_SIZE_LONG).get_page(request.GET.get("page"))
    if request.method == "POST":
        if field is None:
            raise PermissionDenied
        levels, bad = {}, False
        for unit in page:
            raw = request.POST.get(f"level-{unit.pk}", "")
            if raw == "":
                levels[unit.pk] = None
            elif raw.isdigit():
                levels[unit.pk] = int(raw)
            else:
                bad = True
        if bad:
            messages.error(request, _("A target level is a whole number."))
        else:
            try:
                n = unit_targets_set(user=user, campaign=campaign, levels=levels, field=field)
            except Refused as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Saved: %(n)d targets changed.") % {"n": n})
                return redirect(request.get_full_path())
    targets = {
        t.unit_id: t
        for t in UnitTarget.objects.filter(campaign=campaign, unit__in=list(page)).select_related(
            "recommended_by", "decided_by"
        )
    }
    levels_now = unit_levels(campaign, user)
    rows = [(u, targets.get(u.pk), levels_now.get(u.pk, 0)) for u in page]
    top = campaign.dimensions.count() or 5
    return render(
        request,
        "scoring/unit_targets.html",
        {
            "campaign": campaign,
            "rows": rows,
            "page": page,
            "field": field,
            "choices": list(range(top, -1, -1)),
            "filter": filters,
        },
    )


@login_required
def ranking(request: HttpRequest, slug: str, label: str) -> HttpResponse:
    """Townships by average final score and by levels held (赛马); units within a township;
    the period's effective and slow units."""
    period = get_object_or_404(
        Period.objects.visible_to(request.user).select_related("campaign__region"),
        campaign__slug=slug,
        label=label,
    )
    # The picker (?period=2026Q4) names another period of the campaign: go to its page.
    completions = period_completions(period.campaign, request.user)
    asked = request.GET.get("period")
    if asked and asked != label and any(c.label == asked for c in completions):
        return redirect("scoring:ranking", slug=slug, label=asked)
    completion = next(c for c in completions if c.period.pk == period.pk)
    # Ranks, township averages and the effective and slow units need every unit's total, so
    # `rankings` computes them all (a fixed number of queries). The township filter does not
    # change them: it picks the unit rows shown, by ids that SQL finds with the same scope.
    township_rows, unit_rows = rankings(period, request.user)
    effective, slow = effective_and_slow(period.campaign, unit_rows)
    filters = RankingFilter(
        request.GET,
        units_for(request.user).filter(
            code__startswith=period.campaign.region.prefix, assessments__period=period
        ),
        townships=[t.township for t in township_rows],
    )
    shown_units = unit_rows
    if filters.value("township") or filters.refused:
        shown = set(filters.qs.values_list("id", flat=True))
        shown_units = [r for r in unit_rows if r.unit.id in shown]
    return render(
        request,
        "scoring/ranking.html",
        {
            "period": period,
            "campaign": period.campaign,
            "township_rows": township_rows,
            "by_held": sorted(
                township_rows, key=lambda t: (-t.held / max(t.units, 1), t.township.code)
            ),
            "unit_page": Paginator(shown_units, settings.PAGE_SIZE_LONG).get_page(
                request.GET.get("page")
            ),
            "township": filters.data.get("township", ""),
            "effective": effective,
            "slow": slow,
            "completion": completion,
            "completions": completions,
        },
    )
