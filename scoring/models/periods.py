"""Periods: the assessment rounds of a campaign, with a deadline per stage."""

from __future__ import annotations

import datetime as dt
from typing import Self

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.stages import Stage
from villages.access import CoveringQuerySet

period_label_validator = RegexValidator(
    r"^\d{4}Q[1-4]$", _("A period label looks like 2026Q3 (year, Q, quarter 1–4).")
)


class PeriodStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class PeriodQuerySet(CoveringQuerySet):
    region_code_path = "campaign__region__code"

    def open(self) -> Self:
        return self.filter(status=PeriodStatus.OPEN)


class Period(models.Model):
    """One assessment round of a campaign (a quarter such as 2026Q3), with a deadline per stage.

    Pins the catalogue version its assessments are scored against.
    """

    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="periods",
    )
    label = models.CharField(_("label"), max_length=8, validators=[period_label_validator])
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    catalogue_version = models.PositiveIntegerField(_("catalogue version"), default=1)
    status = models.CharField(
        _("status"), max_length=8, choices=PeriodStatus, default=PeriodStatus.OPEN
    )
    self_due = models.DateField(_("self-assessment due"), null=True, blank=True)
    township_due = models.DateField(_("township assessment due"), null=True, blank=True)
    county_due = models.DateField(_("county review due"), null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)

    objects = PeriodQuerySet.as_manager()

    class Meta:
        verbose_name = _("period")
        verbose_name_plural = _("periods")
        ordering = ["campaign", "starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "label"], name="period_unique_label"),
            models.CheckConstraint(
                condition=models.Q(label__regex=r"^[0-9]{4}Q[1-4]$"), name="period_label_format"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="period_dates_ordered"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=PeriodStatus.values), name="period_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} {self.label}"

    @property
    def is_open(self) -> bool:
        """Scores may change and assessments move only while the period is open."""
        return self.status == PeriodStatus.OPEN

    def due_on(self, stage: str) -> dt.date | None:
        """The deadline of a stage (None for final, or when none was set)."""
        return {
            Stage.SELF: self.self_due,
            Stage.TOWNSHIP: self.township_due,
            Stage.COUNTY: self.county_due,
        }.get(stage)

    def is_overdue(self, stage: str, today: dt.date | None = None) -> bool:
        """Past the stage's due date (Asia/Shanghai calendar day) and not final yet."""
        due = self.due_on(stage)
        today = today or timezone.localdate()
        return stage != Stage.FINAL and due is not None and today > due
