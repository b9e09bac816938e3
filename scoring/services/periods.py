"""Opening a period of a campaign."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from campaigns.models import Campaign, CampaignStatus
from scoring.errors import ScoringError
from scoring.models import (
    Assessment,
    Period,
)
from villages.errors import ErrorCode
from villages.models import Unit, User
from villages.policy import Action, may

# --- periods --------------------------------------------------------------------------------


def period_open(
    *,
    user: User,
    campaign: Campaign,
    label: str,
    starts_on: dt.date,
    ends_on: dt.date,
    self_due: dt.date | None = None,
    township_due: dt.date | None = None,
    county_due: dt.date | None = None,
) -> Period:
    """Open a period and create one assessment per active unit of the campaign in the user's
    scope, at the campaign's first stage."""
    if not may(user, Action.OPEN_PERIOD):
        raise ScoringError(_("Only county staff may open a period."), code=ErrorCode.FORBIDDEN)
    if campaign.status != CampaignStatus.ACTIVE:
        raise ScoringError(
            _("Periods can only be opened in an active campaign."), code=ErrorCode.CONFLICT
        )
    if ends_on < starts_on:
        raise ScoringError(
            _("The period ends before it starts."), field="ends_on", code=ErrorCode.INVALID
        )
    if Period.objects.filter(campaign=campaign, label=label).exists():
        raise ScoringError(
            _("The period %(p)s is already open.") % {"p": label},
            field="label",
            code=ErrorCode.CONFLICT,
        )
    with transaction.atomic():
        period = Period.objects.create(
            campaign=campaign,
            label=label,
            starts_on=starts_on,
            ends_on=ends_on,
            catalogue_version=campaign.catalogue_version,
            self_due=self_due,
            township_due=township_due,
            county_due=county_due,
            opened_by=user,
        )
        first = campaign.stage_order()[0]
        units = (
            Unit.objects.visible_to(user)
            .active()
            .filter(code__startswith=campaign.region.prefix)
            .values_list("id", flat=True)
        )
        Assessment.objects.bulk_create(
            [Assessment(period=period, unit_id=unit_id, stage=first) for unit_id in units],
            batch_size=2000,
        )
    return period
