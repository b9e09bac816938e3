"""Rectification items (整改): assign, report done, verify, close (销号), send back."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from scoring.errors import ScoringError
from scoring.models import (
    RectificationAction,
    RectificationEvent,
    RectificationItem,
    RectificationStatus,
)
from scoring.services.scores import check_attachment
from villages.access import scope_for
from villages.models import Role

# --- rectification (整改) -------------------------------------------------------------------

# (action, from status, to status, roles that may do it)
RECTIFICATION_STEPS = {
    RectificationAction.ASSIGN: (
        {RectificationStatus.OPEN},
        RectificationStatus.OPEN,
        {Role.TOWNSHIP_OFFICIAL, Role.COUNTY_STAFF},
    ),
    RectificationAction.REPORT: (
        {RectificationStatus.OPEN},
        RectificationStatus.REPORTED,
        {Role.VILLAGE_SECRETARY, Role.TOWNSHIP_OFFICIAL},
    ),
    RectificationAction.VERIFY: (
        {RectificationStatus.REPORTED},
        RectificationStatus.VERIFIED,
        {Role.TOWNSHIP_OFFICIAL},
    ),
    RectificationAction.CLOSE: (
        {RectificationStatus.VERIFIED},
        RectificationStatus.CLOSED,
        {Role.COUNTY_STAFF},
    ),
}


def rectification_allowed(user, item: RectificationItem, action: str) -> bool:
    """May the user take this step on this item now? (No query: item must carry its unit.)"""
    if not scope_for(user).contains(item.assessment.unit.code):
        return False
    if action == RectificationAction.SEND_BACK:
        roles_by_status = {
            RectificationStatus.REPORTED: {Role.TOWNSHIP_OFFICIAL},
            RectificationStatus.VERIFIED: {Role.COUNTY_STAFF},
        }
        roles = roles_by_status.get(item.status)
        if roles is None:
            return False
    else:
        sources, _target, roles = RECTIFICATION_STEPS[action]
        if item.status not in sources:
            return False
    return user.is_superuser or user.role in roles


def rectification_step(
    *,
    user,
    item_id: int,
    action: str,
    note: str = "",
    responsible_person: str = "",
    measure: str = "",
    deadline: dt.date | None = None,
    attachment=None,
) -> RectificationItem:
    """Move a rectification item one step (assign, report, verify, close, send back), recorded
    as a RectificationEvent in the same transaction."""
    note = (note or "").strip()
    if attachment:
        check_attachment(attachment, field="attachment")
    with transaction.atomic():
        item = (
            RectificationItem.objects.select_for_update(of=("self",))
            .select_related("assessment__unit")
            .get(pk=item_id)
        )
        if action not in RectificationAction.values:
            raise ScoringError(_("Unknown step."))
        if not rectification_allowed(user, item, action):
            raise ScoringError(
                _("You may not do this while the item is “%(s)s”.")
                % {"s": RectificationStatus(item.status).label}
            )
        before, now = item.status, timezone.now()
        if action == RectificationAction.ASSIGN:
            responsible_person, measure = responsible_person.strip(), measure.strip()
            if not responsible_person:
                raise ScoringError(_("Name the person responsible."), field="responsible_person")
            if not measure:
                raise ScoringError(_("Describe the measure."), field="measure")
            if deadline is None:
                raise ScoringError(_("Set a deadline."), field="deadline")
            item.responsible_person, item.measure, item.deadline = (
                responsible_person,
                measure,
                deadline,
            )
        elif action == RectificationAction.REPORT:
            if not (item.responsible_person and item.measure and item.deadline):
                raise ScoringError(
                    _("The township has not assigned a person, measure and deadline yet.")
                )
            if not note:
                raise ScoringError(_("Say what was done."), field="note")
            item.status = RectificationStatus.REPORTED
            item.report_note, item.reported_by, item.reported_at = note, user, now
        elif action == RectificationAction.VERIFY:
            item.status = RectificationStatus.VERIFIED
            item.verified_by, item.verified_at = user, now
        elif action == RectificationAction.CLOSE:
            item.status = RectificationStatus.CLOSED
            item.closed_by, item.closed_at = user, now
        else:  # send back
            if not note:
                raise ScoringError(_("Give a reason for sending it back."), field="note")
            item.status = RectificationStatus.OPEN
            item.sent_back_reason = note
        item.save()
        RectificationEvent.objects.create(
            item=item,
            action=action,
            from_status=before,
            to_status=item.status,
            note=note if action != RectificationAction.ASSIGN else measure,
            attachment=attachment or "",
            actor=user,
            at=now,
        )
    return item
