"""What every scoring page starts with: the object asked for, inside the user's scope, or 404."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.http import url_has_allowed_host_and_scheme

from campaigns.models import Campaign
from scoring.models import (
    Assessment,
    Period,
)
from villages.models import Region


def safe_next(request, fallback: str) -> str:
    """The `next` address posted with a form, if it stays on this site; else the fallback."""
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return fallback


def period_or_404(user, slug: str, label: str) -> Period:
    return get_object_or_404(
        Period.objects.visible_to(user).select_related("campaign__region"),
        campaign__slug=slug,
        label=label,
    )


def assessment_or_404(user, pk: int) -> Assessment:
    return get_object_or_404(
        Assessment.objects.visible_to(user).select_related(
            "unit__township", "period__campaign__region", "finalised_by", "returned_by"
        ),
        pk=pk,
    )


def campaign_or_404(user, slug: str) -> Campaign:
    return get_object_or_404(Campaign.objects.visible_to(user).select_related("region"), slug=slug)


def townships_of(user, campaign):
    return (
        Region.objects.visible_to(user)
        .townships()
        .filter(code__startswith=campaign.region.prefix)
        .order_by("code")
    )
