"""Reads about campaigns shared by pages, exports and reports."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Max

from campaigns.models import Campaign
from scoring.models import Assessment, Period


def campaigns_for_home(*, user) -> list[Campaign]:
    """Return the user's visible campaigns, each with `latest_period` and `stage_counts` set.

    Three queries whatever the number of campaigns or units: campaigns, their latest periods,
    and the stage counts of the user's units in those periods.
    """
    campaigns = list(
        Campaign.objects.visible_to(user).select_related("region").order_by("-year", "name")
    )
    if not campaigns:
        return campaigns
    latest_starts = (
        Period.objects.filter(campaign__in=campaigns)
        .values("campaign_id")
        .annotate(latest=Max("starts_on"))
    )
    wanted = {(row["campaign_id"], row["latest"]) for row in latest_starts}
    periods = {
        p.campaign_id: p
        for p in Period.objects.filter(campaign__in=campaigns)
        if (p.campaign_id, p.starts_on) in wanted
    }
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        Assessment.objects.visible_to(user)
        .filter(period__in=list(periods.values()))
        .values("period_id", "stage")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counts[row["period_id"]][row["stage"]] = row["n"]
    for campaign in campaigns:
        period = periods.get(campaign.id)
        campaign.latest_period = period
        campaign.stage_counts = counts.get(period.id, {}) if period else {}
        campaign.assessment_total = sum(campaign.stage_counts.values())
    return campaigns
