"""Celery tasks: thin wrappers that take an id and call a service (scoring/services/jobs.py).

Transient failures (database or broker connection) are retried with backoff; a task that keeps
failing leaves its run or job marked failed with the reason. Tasks are acknowledged late, so a
worker killed mid-way hands the task to another worker instead of losing it.

The `*_queue` functions are how views, commands and the schedule start a job: the service
records it, then the task is sent once the row is committed (`transaction.on_commit`), and a
broker that cannot be reached marks the job failed and raises QueueError for a clear message.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign, CampaignStatus
from scoring import services
from scoring.errors import QueueError, ScoringError
from scoring.models import ExportJob, Job, Period, ReportRun
from scoring.selectors.monthly import previous_month
from villages.models import Region, User

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
RETRIED = {
    "bind": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": 5,
    "retry_kwargs": {"max_retries": 3},
    "acks_late": True,
}


@shared_task(**RETRIED)
def monthly_report(self: Task, run_id: int) -> int:
    return services.report_run_execute(run_id=run_id).pk


@shared_task(**RETRIED)
def export_run(self: Task, job_id: int) -> int:
    return services.export_job_execute(job_id=job_id).pk


@shared_task
def monthly_reports_all() -> list[int]:
    """Queue last month's report of every active campaign (beat: the 1st, 02:00 Shanghai)."""
    month = previous_month(timezone.localdate())
    ids = []
    for campaign in Campaign.objects.filter(status=CampaignStatus.ACTIVE):
        # One campaign that cannot be queued must not hold up the others.
        try:
            ids.append(report_run_queue(campaign=campaign, month=month, trigger="schedule").pk)
        except ScoringError as exc:
            logger.warning("monthly report of %s %s not queued: %s", campaign.slug, month, exc)
    return ids


def enqueue(task: Task, job: Job) -> None:
    """Send `task(job.pk)` once the job's row is committed; a broker failure marks the job
    failed and raises QueueError (at once when no transaction is open, as in a view)."""

    def send() -> None:
        try:
            task.delay(job.pk)
        except Exception as exc:  # kombu/redis connection errors share no narrower base
            error = QueueError(_("The job could not be queued; try again in a few minutes."))
            type(job).mark_failed(job.pk, error.message)
            raise error from exc

    transaction.on_commit(send)


def report_run_queue(
    *, campaign: Campaign, month: dt.date, requested_by: User | None = None, trigger: str = ""
) -> ReportRun:
    """Record the monthly report of a campaign and month as queued and hand it to a worker."""
    run = services.report_run_start(
        campaign=campaign, month=month, requested_by=requested_by, trigger=trigger
    )
    enqueue(monthly_report, run)
    return run


def export_job_queue(
    *,
    user: User,
    kind: str,
    campaign: Campaign,
    period: Period | None = None,
    region: Region | None = None,
) -> ExportJob:
    """Record an export job and hand it to a worker (the page then shows its progress)."""
    job = services.export_job_start(
        user=user, kind=kind, campaign=campaign, period=period, region=region
    )
    enqueue(export_run, job)
    return job
