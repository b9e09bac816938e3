"""Routes to a campaign's page of its default period, for the menu and other links that name
a campaign only: the work list of the period under way, and the rankings and adjustments of
the latest complete period (scoring.selectors.completeness), never a period barely begun."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from scoring.selectors.completeness import completion_default, period_completions
from scoring.views.base import campaign_or_404, login_required
from villages.policy import Action, may


@login_required
def work_current(request: HttpRequest, slug: str) -> HttpResponse:
    """The work list of the campaign's latest period (the periods page if it has none)."""
    campaign = campaign_or_404(request.user, slug)
    period = campaign.periods.order_by("-starts_on", "-label").first()
    if period is None:
        return redirect("scoring:period_list", slug=slug)
    return redirect("scoring:work_list", slug=slug, label=period.label)


def _default_label(request: HttpRequest, slug: str) -> str | None:
    campaign = campaign_or_404(request.user, slug)
    completion = completion_default(period_completions(campaign, request.user))
    return completion.label if completion else None


@login_required
def ranking_latest(request: HttpRequest, slug: str) -> HttpResponse:
    """The rankings of the default period (latest complete, else latest with final ones)."""
    label = _default_label(request, slug)
    if label is None:
        return redirect("scoring:period_list", slug=slug)
    return redirect("scoring:ranking", slug=slug, label=label)


@login_required
def adjustments_latest(request: HttpRequest, slug: str) -> HttpResponse:
    """The adjustments (调旗) of the default period."""
    if not may(request.user, Action.VIEW_DECISIONS):
        raise PermissionDenied
    label = _default_label(request, slug)
    if label is None:
        return redirect("scoring:period_list", slug=slug)
    return redirect("scoring:adjustment_list", slug=slug, label=label)


@login_required
def department_current(request: HttpRequest, slug: str) -> HttpResponse:
    """A lead department's indicators in the campaign's latest period (issue 12)."""
    if not may(request.user, Action.VIEW_OWN_INDICATORS):
        raise PermissionDenied
    campaign = campaign_or_404(request.user, slug)
    period = campaign.periods.order_by("-starts_on", "-label").first()
    if period is None:
        return redirect("scoring:period_list", slug=slug)
    return redirect("scoring:department_indicators", slug=slug, label=period.label)
