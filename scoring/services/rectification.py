"""Rectification items (整改): assign, report done, verify, close (销号), send back."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import UploadedFile
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
from villages.errors import ErrorCode
from villages.models import User
from villages.policy import Action, may

# --- rectification (整改) -------------------------------------------------------------------

# The policy's action for each step of an item (its table says who, from which status).
STEP_ACTIONS = {
    RectificationAction.ASSIGN: Action.RECTIFY_ASSIGN,
    RectificationAction.REPORT: Action.RECTIFY_REPORT,
    RectificationAction.VERIFY: Action.RECTIFY_VERIFY,
    RectificationAction.CLOSE: Action.RECTIFY_CLOSE,
    RectificationAction.SEND_BACK: Action.RECTIFY_SEND_BACK,
}


def rectification_allowed(user: User, item: RectificationItem, action: str) -> bool:
    """May the user take this step on this item now? (No query: item must carry its unit.)"""
    return (
        action in STEP_ACTIONS
        and item.step_target(action) is not None
        and may(user, STEP_ACTIONS[action], item)
    )


def rectification_step(
    *,
    user: User,
    item_id: int,
    action: str,
    note: str = "",
    responsible_person: str = "",
    measure: str = "",
    deadline: dt.date | None = None,
    attachment: UploadedFile | None = None,
) -> RectificationItem:
    """Move a rectification item one step (assign, report, verify, close, send back), recorded
    as a RectificationEvent in the same transaction.

    Reporting done needs a note and an attachment (the evidence: a photo or document). Sending
    back needs a reason and a new deadline, not in the past; the event's note records both.
    """
    note = (note or "").strip()
    if attachment:
        check_attachment(attachment, field="attachment")
    with transaction.atomic():
        item = (
            RectificationItem.objects.select_for_update(of=("self",))
            .select_related("assessment__unit")
            .filter(pk=item_id)
            .first()
        )
        if item is None:
            raise ScoringError(_("The item was not found."), code=ErrorCode.NOT_FOUND)
        if action not in RectificationAction.values:
            raise ScoringError(_("Unknown step."))
        if not rectification_allowed(user, item, action):
            raise ScoringError(
                _("You may not do this while the item is “%(s)s”.")
                % {"s": RectificationStatus(item.status).label},
                code=ErrorCode.FORBIDDEN,
            )
        before, now = item.status, timezone.now()
        target = item.step_target(action)
        if action == RectificationAction.ASSIGN:
            responsible_person, measure = responsible_person.strip(), measure.strip()
            if not responsible_person:
                raise ScoringError(
                    _("Name the person responsible."),
                    code=ErrorCode.REQUIRED,
                    field="responsible_person",
                )
            if not measure:
                raise ScoringError(
                    _("Describe the measure."), code=ErrorCode.REQUIRED, field="measure"
                )
            if deadline is None:
                raise ScoringError(_("Set a deadline."), code=ErrorCode.REQUIRED, field="deadline")
            item.responsible_person, item.measure, item.deadline = (
                responsible_person,
                measure,
                deadline,
            )
        elif action == RectificationAction.REPORT:
            if not (item.responsible_person and item.measure and item.deadline):
                raise ScoringError(
                    _("The township has not assigned a person, measure and deadline yet."),
                    code=ErrorCode.CONFLICT,
                )
            if not note:
                raise ScoringError(_("Say what was done."), code=ErrorCode.REQUIRED, field="note")
            if not attachment:
                raise ScoringError(
                    _("Attach a photo or document that shows the work done."),
                    code=ErrorCode.REQUIRED,
                    field="attachment",
                )
            item.report_note, item.reported_by, item.reported_at = note, user, now
        elif action == RectificationAction.VERIFY:
            item.verified_by, item.verified_at = user, now
        elif action == RectificationAction.CLOSE:
            item.closed_by, item.closed_at = user, now
        else:  # send back
            if not note:
                raise ScoringError(
                    _("Give a reason for sending it back."), code=ErrorCode.REQUIRED, field="note"
                )
            if deadline is None:
                raise ScoringError(
                    _("Set a new deadline."), code=ErrorCode.REQUIRED, field="deadline"
                )
            if deadline < timezone.localdate():
                raise ScoringError(
                    _("The new deadline cannot be in the past."),
                    code=ErrorCode.INVALID,
                    field="deadline",
                )
            item.sent_back_reason, item.deadline = note, deadline
            # The event keeps the reason and, in the same words the page shows, the new deadline.
            note = _("%(reason)s (new deadline %(date)s)") % {
                "reason": note,
                "date": deadline.isoformat(),
            }
        item.status = target
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
