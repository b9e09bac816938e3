"""The menu of base.html: the pages a user may use, asked of the access policy, never by role.

`{% nav_menu as menu %}` gives `menu.sections` (per campaign: its links) and `menu.links` (the
pages outside any campaign). On a campaign's page the menu is that campaign's; on a page that
lists campaigns (home, a unit's page, downloads) it is their active ones (no query); elsewhere
the active campaigns the user sees (one query). Links that need a period go through the
campaign's default-period routes (scoring.views.navigation), so the menu never reads periods.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import template
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Campaign, CampaignStatus
from villages.policy import Action, may

register = template.Library()


@dataclass(frozen=True)
class Link:
    key: str
    label: str
    url: str


@dataclass
class Section:
    campaign: Campaign
    links: list[Link] = field(default_factory=list)


@dataclass
class Menu:
    sections: list[Section] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    @property
    def keys(self) -> set[str]:
        return {link.key for s in self.sections for link in s.links} | {
            link.key for link in self.links
        }


# (key, label, route, action or None for every signed-in user); routes take the slug.
CAMPAIGN_PAGES: list[tuple[str, Promise, str, str | None]] = [
    ("work", gettext_lazy("Work list"), "scoring:work_current", None),
    ("rectification", gettext_lazy("Rectification ledger"), "scoring:rectification_list", None),
    (
        "adjustments",
        gettext_lazy("Adjustment"),
        "scoring:adjustments_latest",
        Action.VIEW_DECISIONS,
    ),
    ("targets", gettext_lazy("Targets"), "scoring:targets", None),
    ("unit_targets", gettext_lazy("Unit targets (荐旗)"), "scoring:unit_targets", None),
    ("ranking", gettext_lazy("Rankings"), "scoring:ranking_latest", None),
    (
        "department",
        gettext_lazy("My indicators"),
        "scoring:department_current",
        Action.VIEW_OWN_INDICATORS,
    ),
    ("dashboard", gettext_lazy("Dashboard"), "scoring:dashboard", Action.VIEW_DASHBOARD),
    ("reports", gettext_lazy("Monthly reports"), "scoring:report_list", Action.VIEW_REPORTS),
]


def menu_for(user: object, campaigns: list[Campaign]) -> Menu:
    """The links `user` may use, for each of `campaigns` and outside them."""
    menu = Menu()
    if not getattr(user, "is_authenticated", False):
        return menu
    for campaign in campaigns:
        section = Section(campaign)
        for key, label, route, action in CAMPAIGN_PAGES:
            if action is None or may(user, action):
                url = reverse(route, args=[campaign.slug])
                section.links.append(Link(key, str(label), url))
        menu.sections.append(section)
    menu.links = [
        Link("units", _("Units"), reverse("villages:unit_list")),
        Link("downloads", _("Downloads"), reverse("scoring:downloads")),
    ]
    if may(user, Action.SET_UP):
        menu.links.append(Link("setup", _("Set-up"), reverse("admin:index")))
    return menu


@register.simple_tag(takes_context=True)
def nav_menu(context: template.Context) -> Menu:
    """The menu of the page's user (see the module's docstring)."""
    user = context.get("user")
    if not getattr(user, "is_authenticated", False):
        return Menu()
    campaign = context.get("campaign")
    listed = context.get("campaigns")
    if isinstance(campaign, Campaign):
        campaigns = [campaign]
    elif isinstance(listed, QuerySet) and listed.model is Campaign:
        # The page lists campaigns (downloads): read them once, for the menu and the page
        # (the queryset keeps its rows for the template's own loop).
        campaigns = [c for c in listed if c.status == CampaignStatus.ACTIVE]
    elif isinstance(listed, list) and all(isinstance(c, Campaign) for c in listed):
        # The page has read the user's campaigns already (home, a unit's page).
        campaigns = [c for c in listed if c.status == CampaignStatus.ACTIVE]
    else:
        campaigns = list(
            Campaign.objects.visible_to(user).active().only("slug", "name").order_by("name")
        )
    return menu_for(user, campaigns)
