"""Background jobs: monthly report runs and on-demand exports."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any, Self, TypeVar

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.files import File
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scoring.models.periods import Period
from villages.access import CoveringQuerySet
from villages.models import User

_T = TypeVar("_T")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Job(models.Model):
    """What every background job has: a status, the error of a failed attempt, when it finished,
    and the file it produced. A file is attached only when complete (`attach_written`)."""

    status = models.CharField(
        _("status"), max_length=8, choices=JobStatus, default=JobStatus.QUEUED
    )
    error = models.TextField(_("error"), blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    file = models.FileField(_("file"), blank=True)

    class Meta:
        abstract = True

    @classmethod
    def mark_running(cls, pk: int, **fields: Any) -> None:
        """Mark a job running (one UPDATE; `fields` are set with it)."""
        cls.objects.filter(pk=pk).update(status=JobStatus.RUNNING, **fields)

    @classmethod
    def mark_failed(cls, pk: int, exc: BaseException | str) -> None:
        """Mark a job failed with the reason (one UPDATE, outside any caller's row object)."""
        error = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        cls.objects.filter(pk=pk).update(
            status=JobStatus.FAILED, error=error, finished_at=timezone.now()
        )

    def attach_written(self, filename: str, write: Callable[[str], _T]) -> _T:
        """Run `write(path)` into a private temporary file and only then store it as this job's
        file (not saved to the database: the caller saves the row with its status). Returns what
        `write` returned. A failing writer leaves the field as it was: no half-written file."""
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "file.xlsx")
            result = write(path)
            with open(path, "rb") as fh:
                self.file.save(filename, File(fh), save=False)
        return result

    def finish(self) -> None:
        """Mark done and save the whole row (with the file attached before)."""
        self.status, self.error, self.finished_at = JobStatus.DONE, "", timezone.now()
        self.save()


class ReportRunQuerySet(CoveringQuerySet):
    region_code_path = "campaign__region__code"


class ReportRun(Job):
    """One monthly analysis (月度分析) of a campaign: its figures, its .xlsx, and how the run
    went. One row per campaign and month: running a month again replaces it."""

    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="report_runs",
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month reported on."))
    trigger = models.CharField(_("started by"), max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    data = models.JSONField(_("figures"), default=dict, blank=True)
    file = models.FileField(_("file"), upload_to="reports/%Y/%m/", blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    objects = ReportRunQuerySet.as_manager()

    class Meta:
        verbose_name = _("monthly report")
        verbose_name_plural = _("monthly reports")
        ordering = ["-month", "campaign"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "month"], name="report_run_one_per_month"),
            models.CheckConstraint(
                condition=models.Q(status__in=JobStatus.values), name="report_run_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=JobStatus.DONE) | ~models.Q(file=""),
                name="report_run_done_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} {self.month:%Y-%m}"


class ExportKind(models.TextChoices):
    SCORES = "scores", _("Score sheet")
    ROSTER = "roster", _("Roster of levels")
    LEDGER = "ledger", _("Rectification ledger")
    RANKING = "ranking", _("Township ranking")


class ExportJobQuerySet(models.QuerySet):
    def visible_to(self, user: User | AnonymousUser) -> Self:
        """A user's download centre holds their own files only."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(requested_by=user)


class ExportJob(Job):
    """An on-demand Excel export: what was asked, its progress, and the finished file."""

    kind = models.CharField(_("kind"), max_length=8, choices=ExportKind)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    period = models.ForeignKey(
        Period,
        verbose_name=_("period"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    region = models.ForeignKey(
        "villages.Region",
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.CASCADE,
        related_name="export_jobs",
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    file = models.FileField(_("file"), upload_to="exports/%Y/%m/", blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ExportKind.values), name="export_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=JobStatus.values), name="export_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="export_progress_0_100"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=JobStatus.DONE) | ~models.Q(file=""),
                name="export_done_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"
