"""Produce a campaign's monthly report (the same job the schedule runs)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.models import Campaign
from scoring import tasks
from scoring.errors import ScoringError
from scoring.models import JobStatus, ReportRun
from scoring.services import report_run_execute, report_run_start


class Command(BaseCommand):
    help = "Produce the monthly report of a campaign, e.g. --campaign wuxing-2026 --month 2026-10."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument(
            "--queue",
            action="store_true",
            help="hand it to the Celery worker instead of running here",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            campaign = Campaign.objects.get(slug=options["campaign"])
        except Campaign.DoesNotExist:
            raise CommandError(f"No campaign {options['campaign']}.") from None
        try:
            month = dt.date.fromisoformat(options["month"] + "-01")
        except ValueError:
            raise CommandError("--month must look like 2026-10.") from None
        try:
            start = tasks.report_run_queue if options["queue"] else report_run_start
            run = start(campaign=campaign, month=month, trigger="command")
        except ScoringError as exc:
            raise CommandError(exc.message) from None
        if not options["queue"]:
            try:
                report_run_execute(run_id=run.pk)
            except Exception as exc:
                raise CommandError(f"The report failed: {exc}") from exc
        run = ReportRun.objects.get(pk=run.pk)
        self.stdout.write(
            f"{campaign.slug} {month:%Y-%m}: {run.get_status_display()} {run.file.name}"
        )
        if run.status == JobStatus.FAILED:
            raise CommandError(run.error)
