"""Writes in campaigns: unit targets (荐旗)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import MAX_LEVEL, Campaign, UnitTarget
from villages.errors import ErrorCode, Refused
from villages.models import Unit, User
from villages.policy import Action, may

# --- unit targets (荐旗) ---------------------------------------------------------------------


def unit_targets_set(
    *, user: User, campaign: Campaign, levels: dict[int, int | None], field: str
) -> int:
    """Record recommended (township) or decided (county) target levels for several units.

    `levels` maps unit id → level (None clears it). Units must be the campaign's and inside the
    user's scope. One transaction, a fixed number of queries. Returns the number changed.
    """
    action = {"recommended": Action.RECOMMEND_TARGET, "decided": Action.DECIDE_TARGET}[field]
    if not may(user, action):
        raise Refused(_("You may not set these targets."), code=ErrorCode.FORBIDDEN)
    top = campaign.dimensions.count() or MAX_LEVEL
    for level in levels.values():
        if level is not None and not 0 <= level <= top:
            raise Refused(_("A target level is between 0 and %(n)d.") % {"n": top})
    now = timezone.now()
    with transaction.atomic():
        units = set(
            Unit.objects.visible_to(user)
            .filter(id__in=list(levels), code__startswith=campaign.region.prefix)
            .values_list("id", flat=True)
        )
        if units != set(levels):
            raise Refused(
                _("A unit is not in this campaign or not in your scope."), code=ErrorCode.NOT_FOUND
            )
        existing = {
            t.unit_id: t
            for t in UnitTarget.objects.select_for_update().filter(
                campaign=campaign, unit_id__in=units
            )
        }
        changed, new = [], []
        for unit_id, level in levels.items():
            target = existing.get(unit_id)
            if target is None:
                if level is None:
                    continue  # nothing set and nothing to set: no empty row
                target = UnitTarget(campaign=campaign, unit_id=unit_id)
            elif getattr(target, f"{field}_level") == level:
                continue
            setattr(target, f"{field}_level", level)
            setattr(target, f"{field}_by", user)
            setattr(target, f"{field}_at", now)
            (changed if target.pk else new).append(target)
        UnitTarget.objects.bulk_create(new)
        UnitTarget.objects.bulk_update(changed, [f"{field}_level", f"{field}_by", f"{field}_at"])
    return len(changed) + len(new)
