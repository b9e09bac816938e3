"""Celery tasks: thin wrappers that take an id and call a service (scoring/services.py).

Transient failures (database or broker connection) are retried with backoff; a task that keeps
failing leaves its run or job marked failed with the reason. Tasks are acknowledged late, so a
worker killed mid-way hands the task to another worker instead of losing it.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from campaigns.models import Campaign, CampaignStatus

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


@shared_task(
    bind=True,
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    retry_kwargs={"max_retries": 3},
    acks_late=True,
)
def monthly_report(self, run_id: int) -> int:
    from scoring.services import report_run_execute

    return report_run_execute(run_id=run_id).pk


@shared_task
def monthly_reports_all() -> list[int]:
    """Queue last month's report of every active campaign (beat: the 1st, 02:00 Shanghai)."""
    from scoring.reports import previous_month
    from scoring.services import ScoringError, report_run_start

    month = previous_month(timezone.localdate())
    ids = []
    for campaign in Campaign.objects.filter(status=CampaignStatus.ACTIVE):
        # One campaign that cannot be queued must not hold up the others.
        try:
            ids.append(report_run_start(campaign=campaign, month=month, trigger="schedule").pk)
        except ScoringError as exc:
            logger.warning("monthly report of %s %s not queued: %s", campaign.slug, month, exc)
    return ids


@shared_task(
    bind=True,
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    retry_kwargs={"max_retries": 3},
    acks_late=True,
)
def export_run(self, job_id: int) -> int:
    from scoring.services import export_job_execute

    return export_job_execute(job_id=job_id).pk
