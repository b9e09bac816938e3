"""Monthly report runs and Excel exports: recorded here, executed by Celery tasks."""

from __future__ import annotations

import datetime as dt
import os

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from scoring.errors import ScoringError
from scoring.excel.cells import Progress
from scoring.excel.exports import write_ledger, write_ranking, write_roster, write_scores
from scoring.excel.monthly import write_monthly
from scoring.models import (
    ExportJob,
    ExportKind,
    JobStatus,
    Period,
    RectificationItem,
    ReportRun,
)
from scoring.selectors.monthly import monthly_figures
from villages.errors import ErrorCode
from villages.models import Region, Unit, User


def report_run_start(
    *, campaign: Campaign, month: dt.date, requested_by: User | None = None, trigger: str = ""
) -> ReportRun:
    """Mark the monthly report of a campaign and month queued; running a month again replaces it.

    The caller hands it to a worker (`scoring.tasks.report_run_queue`) or runs
    `report_run_execute` itself (the command line without --queue).
    """
    first = month.replace(day=1)
    with transaction.atomic():
        run, _created = ReportRun.objects.select_for_update().get_or_create(
            campaign=campaign, month=first
        )
        if (
            run.status == JobStatus.RUNNING
            and run.started_at
            and (timezone.now() - run.started_at < settings.JOB_STALE_AFTER)
        ):
            raise ScoringError(
                _("This month's report is being produced right now."), code=ErrorCode.CONFLICT
            )
        run.status, run.error = JobStatus.QUEUED, ""
        run.trigger, run.requested_by = trigger, requested_by
        run.started_at = run.finished_at = None
        run.save()
    return run


def report_run_execute(*, run_id: int) -> ReportRun:
    """Produce a queued report: figures, then the workbook, kept only when complete.

    A failure leaves the run marked failed with the reason, and any earlier good file in place.
    """
    ReportRun.mark_running(run_id, started_at=timezone.now(), attempts=F("attempts") + 1)
    run = ReportRun.objects.select_related("campaign").get(pk=run_id)
    try:
        data = monthly_figures(run.campaign, run.month)
        run.attach_written(
            f"monthly-{run.campaign.slug}-{run.month:%Y-%m}.xlsx",
            lambda path: write_monthly(path, data),
        )
        # Two executions of one run (two workers, or a redelivered task) may finish together:
        # the file the row points to is read under the row lock when this one is swapped in,
        # and that one is deleted, so exactly one file is left whoever finishes last.
        with transaction.atomic():
            old = (
                ReportRun.objects.select_for_update().values_list("file", flat=True).get(pk=run_id)
            )
            run.data = data
            run.finish()
        if old and old != run.file.name:
            run.file.storage.delete(old)
    except Exception as exc:
        ReportRun.mark_failed(run_id, exc)
        raise
    return run


def export_rows_estimate(
    *,
    kind: str,
    campaign: Campaign,
    period: Period | None = None,
    user: User | None = None,
    region: Region | None = None,
) -> int:
    """Rows an export will have (one cheap count), to decide between now and a job."""
    if kind == ExportKind.LEDGER:
        items = RectificationItem.objects.filter(assessment__period__campaign=campaign)
        if user is not None:
            items = items.visible_to(user)
        if region is not None:
            items = items.filter(assessment__unit__code__startswith=region.prefix)
        if period is not None:
            items = items.filter(assessment__period=period)
        return items.count()
    units = Unit.objects.filter(code__startswith=campaign.region.prefix)
    if user is not None:
        units = units.visible_to(user)
    if region is not None:
        units = units.filter(code__startswith=region.prefix)
    return units.count()


def export_write(
    path: str | os.PathLike[str],
    *,
    kind: str,
    campaign: Campaign,
    period: Period | None = None,
    user: User | None = None,
    region: Region | None = None,
    progress: Progress | None = None,
) -> int:
    """Write one export kind to `path`; returns the number of data rows."""
    if kind in (ExportKind.SCORES, ExportKind.RANKING) and period is None:
        raise ScoringError(_("Choose a period for this export."), code=ErrorCode.REQUIRED)
    if kind == ExportKind.SCORES:
        return write_scores(path, period=period, user=user, region=region, progress=progress)
    if kind == ExportKind.ROSTER:
        return write_roster(path, campaign=campaign, user=user, region=region, progress=progress)
    if kind == ExportKind.LEDGER:
        return write_ledger(
            path, campaign=campaign, user=user, region=region, period=period, progress=progress
        )
    if kind == ExportKind.RANKING:
        return write_ranking(path, period=period, user=user, progress=progress)
    raise ScoringError(_("Unknown export."))


def export_job_start(
    *,
    user: User,
    kind: str,
    campaign: Campaign,
    period: Period | None = None,
    region: Region | None = None,
) -> ExportJob:
    """Record an export job; `scoring.tasks.export_job_queue` hands it to a worker."""
    if kind not in ExportKind.values:
        raise ScoringError(_("Unknown export."))
    return ExportJob.objects.create(
        kind=kind, campaign=campaign, period=period, region=region, requested_by=user
    )


def export_job_execute(*, job_id: int) -> ExportJob:
    """Run a queued export, reporting progress; the file is attached only when complete."""
    ExportJob.mark_running(job_id, progress=1)
    job = ExportJob.objects.select_related(
        "campaign__region", "period", "region", "requested_by"
    ).get(pk=job_id)

    def progress(done: int, total: int) -> None:
        percent = min(99, max(1, int(100 * done / total))) if total else 50
        ExportJob.objects.filter(pk=job_id).update(progress=percent)

    label = job.period.label if job.period else job.campaign.year
    try:
        rows = job.attach_written(
            f"{job.kind}-{job.campaign.slug}-{label}.xlsx",
            lambda path: export_write(
                path,
                kind=job.kind,
                campaign=job.campaign,
                period=job.period,
                user=job.requested_by,
                region=job.region,
                progress=progress,
            ),
        )
        job.progress, job.rows = 100, rows
        job.finish()
    except Exception as exc:
        ExportJob.mark_failed(job_id, exc)
        raise
    return job
