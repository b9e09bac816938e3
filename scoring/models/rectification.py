"""Rectification items (整改事项) and the steps each one went through."""

from __future__ import annotations

import datetime as dt
from typing import Self

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from scoring.models.assessments import Assessment, Event
from villages.access import ScopedQuerySet


class RectificationStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("rectification", "Open")
    REPORTED = "reported", _("Reported done")
    VERIFIED = "verified", _("Verified")
    CLOSED = "closed", _("Closed (销号)")


class RectificationQuerySet(ScopedQuerySet):
    scope_code_path = "assessment__unit__code"

    def open(self) -> Self:
        return self.exclude(status=RectificationStatus.CLOSED)

    def overdue(self, today: dt.date | None = None) -> Self:
        """Items still open past their deadline (Asia/Shanghai calendar day)."""
        return self.filter(overdue_q(today))


def overdue_q(today: dt.date | None = None) -> models.Q:
    """The condition of `RectificationItem.is_overdue`, for filters and conditional counts."""
    today = today or timezone.localdate()
    return models.Q(status=RectificationStatus.OPEN, deadline__lt=today)


class RectificationItem(models.Model):
    """A lost-points entry (失分) from a final-stage deduction, with the person responsible (责任),
    the measure (措施) and the deadline (时限), followed until it is closed out (销号)."""

    assessment = models.ForeignKey(
        Assessment,
        verbose_name=_("assessment"),
        on_delete=models.CASCADE,
        related_name="rectifications",
    )
    indicator = models.ForeignKey(
        "campaigns.Indicator",
        verbose_name=_("indicator"),
        on_delete=models.PROTECT,
        related_name="rectifications",
    )
    points_lost = models.DecimalField(_("points lost"), max_digits=6, decimal_places=2)
    lost_note = models.TextField(_("why points were lost"), blank=True)
    responsible_person = models.CharField(_("responsible person"), max_length=64, blank=True)
    measure = models.TextField(_("measure"), blank=True)
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=RectificationStatus,
        default=RectificationStatus.OPEN,
    )
    report_note = models.TextField(_("report of completion"), blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    sent_back_reason = models.TextField(_("reason for sending back"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = RectificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("rectification item")
        verbose_name_plural = _("rectification items")
        ordering = ["deadline", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "indicator"], name="rectification_unique_per_indicator"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=RectificationStatus.values),
                name="rectification_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(points_lost__gte=0), name="rectification_points_not_negative"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=RectificationStatus.CLOSED)
                | models.Q(closed_at__isnull=False),
                name="rectification_closed_has_time",
            ),
        ]
        indexes = [models.Index(fields=["status", "deadline"], name="rectification_status_due")]

    def __str__(self) -> str:
        return f"{self.assessment} {self.indicator.code}"

    @property
    def scope_code(self) -> str:
        """The division code the access policy checks (no query if the unit is loaded)."""
        return self.assessment.unit.code

    @property
    def policy_state(self) -> str:
        return self.status

    def is_overdue(self, today: dt.date | None = None) -> bool:
        """Still open past its deadline (Asia/Shanghai calendar day); see `overdue_q`."""
        return self.overdue_when(self.status, self.deadline, today or timezone.localdate())

    @staticmethod
    def overdue_when(status: str, deadline: dt.date | None, today: dt.date) -> bool:
        """`is_overdue` for a row read as values (exports stream tuples, not instances)."""
        return status == RectificationStatus.OPEN and deadline is not None and deadline < today

    def step_target(self, action: str) -> str | None:
        """The status this item would move to by `action` now (None: not a step from here)."""
        return RECTIFICATION_TRANSITIONS.get((action, self.status))

    @property
    def waiting_for(self) -> str:
        """Who is next and for what, in words (等待乡镇核验): the ledger and the item page."""
        if self.status == RectificationStatus.OPEN:
            assigned = self.responsible_person and self.measure and self.deadline
            return str(WAITING_FOR["open" if assigned else "unassigned"])
        return str(WAITING_FOR[self.status])


#: Who an item waits for, by status (an open item not yet assigned waits for the township).
WAITING_FOR = {
    "unassigned": _("Waiting for the township to assign it"),
    RectificationStatus.OPEN: _("Waiting for the village to report it done"),
    RectificationStatus.REPORTED: _("Waiting for the township to verify it"),
    RectificationStatus.VERIFIED: _("Waiting for the county to close it out"),
    RectificationStatus.CLOSED: _("Closed out"),
}

#: The days a sent-back item is given by default to be put right again.
SEND_BACK_DAYS = 7


class RectificationAction(models.TextChoices):
    ASSIGN = "assign", _("Assigned")
    REPORT = "report", _("Reported done")
    VERIFY = "verify", _("Verified")
    CLOSE = "close", _("Closed (销号)")
    SEND_BACK = "send_back", _("Sent back")


#: Each step's button: an action, not the status it leads to (stored values are unchanged).
ACTION_BUTTONS = {
    RectificationAction.ASSIGN: _("Assign"),
    RectificationAction.REPORT: _("Report done"),
    RectificationAction.VERIFY: _("Verify as done"),
    RectificationAction.CLOSE: _("Close out (销号)"),
    RectificationAction.SEND_BACK: _("Send back for rework"),
}


# Every step of an item: (action, from status) -> to status. Who may take each step is the access
# policy's table (villages.policy), keyed by the same action and from status.
RECTIFICATION_TRANSITIONS = {
    (RectificationAction.ASSIGN, RectificationStatus.OPEN): RectificationStatus.OPEN,
    (RectificationAction.REPORT, RectificationStatus.OPEN): RectificationStatus.REPORTED,
    (RectificationAction.VERIFY, RectificationStatus.REPORTED): RectificationStatus.VERIFIED,
    (RectificationAction.CLOSE, RectificationStatus.VERIFIED): RectificationStatus.CLOSED,
    (RectificationAction.SEND_BACK, RectificationStatus.REPORTED): RectificationStatus.OPEN,
    (RectificationAction.SEND_BACK, RectificationStatus.VERIFIED): RectificationStatus.OPEN,
}


class RectificationEvent(Event):
    """One step of a rectification item: who did what, when, with what note or file."""

    item = models.ForeignKey(
        RectificationItem,
        verbose_name=_("rectification item"),
        on_delete=models.CASCADE,
        related_name="events",
    )
    action = models.CharField(_("action"), max_length=16, choices=RectificationAction)
    from_status = models.CharField(_("from status"), max_length=16, choices=RectificationStatus)
    to_status = models.CharField(_("to status"), max_length=16, choices=RectificationStatus)
    note = models.TextField(_("note"), blank=True)
    attachment = models.FileField(_("attachment"), upload_to="rectification/%Y/%m/", blank=True)

    class Meta:
        verbose_name = _("rectification event")
        verbose_name_plural = _("rectification events")
        ordering = ["item", "at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=RectificationAction.values),
                name="rectification_event_action_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(action=RectificationAction.SEND_BACK) | ~models.Q(note=""),
                name="rectification_send_back_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} {self.get_action_display()}"
