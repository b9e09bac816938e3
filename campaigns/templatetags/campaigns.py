"""A campaign's own words in templates: `{{ campaign|level_text:5 }}` gives 5面红旗 or 5星."""

from __future__ import annotations

from django import template

from campaigns.models import Campaign

register = template.Library()


@register.filter
def level_text(campaign: Campaign, level: int) -> str:
    return campaign.level_text(level)
