"""Reads about campaigns shared by pages, exports and reports."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Max

from campaigns.models import Campaign, LevelTarget
from scoring.models import Assessment, Holding, Period
from villages.access import scope_for


def campaigns_for_home(*, user) -> list[Campaign]:
    """Return the user's visible campaigns, each with `latest_period` and `stage_counts` set.

    Also sets `levels`: [(level, units holding that many now, county target)] from the top
    level down to 0; targets only where the user sees the whole campaign region.
    Six queries whatever the number of campaigns or units: campaigns, their latest periods
    (two), stage counts of the user's units, held counts, targets.
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
    held: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        Holding.objects.visible_to(user)
        .filter(dimension__campaign__in=campaigns)
        .values("dimension__campaign_id", "unit_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        held[row["dimension__campaign_id"]][row["n"]] += 1
    targets: dict[int, dict[int, int]] = defaultdict(dict)
    for t in LevelTarget.objects.filter(campaign__in=campaigns).values(
        "campaign_id", "campaign__region_id", "region_id", "level", "count"
    ):
        if t["region_id"] == t["campaign__region_id"]:
            targets[t["campaign_id"]][t["level"]] = t["count"]
    scope = scope_for(user)
    for campaign in campaigns:
        # County targets compare with county counts only: a township sees its own numbers.
        whole = scope.everything or campaign.region.prefix.startswith(scope.prefix)
        if not whole:
            targets[campaign.id] = {}
        period = periods.get(campaign.id)
        campaign.latest_period = period
        campaign.stage_counts = counts.get(period.id, {}) if period else {}
        campaign.assessment_total = sum(campaign.stage_counts.values())
        by_level = held[campaign.id]
        top = max([*by_level, *targets[campaign.id], 0])
        holders = sum(by_level.values())
        campaign.levels = [
            (level, by_level.get(level, 0), targets[campaign.id].get(level))
            for level in range(top, 0, -1)
        ]
        if campaign.assessment_total:
            campaign.levels.append((0, max(0, campaign.assessment_total - holders), None))
    return campaigns
