"""Propose (and with --confirm, confirm) the flag/star adjustment (调旗) of a period."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring.errors import ScoringError
from scoring.models import Period
from scoring.services import adjustment_confirm, adjustment_propose
from villages.models import User


class Command(BaseCommand):
    help = "Propose the adjustment of a period and print a summary; --confirm writes it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True, help="campaign slug, e.g. wuxing-2026")
        parser.add_argument("--period", required=True, help="period label, e.g. 2026Q3")
        parser.add_argument(
            "--township", action="append", default=[], help="township code (repeatable)"
        )
        parser.add_argument("--confirm", action="store_true", help="write holdings and history")
        parser.add_argument("--user", help="username of the county staff member confirming")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = Period.objects.select_related("campaign").get(
                campaign__slug=options["campaign"], label=options["period"]
            )
        except Period.DoesNotExist:
            raise CommandError(
                f"No period {options['period']} in campaign {options['campaign']}."
            ) from None
        user = None
        if options["confirm"]:
            if not options["user"]:
                raise CommandError("--confirm needs --user USERNAME.")
            try:
                user = User.objects.get(username=options["user"], is_active=True)
            except User.DoesNotExist:
                raise CommandError(f"No active user {options['user']}.") from None
        try:
            run, _proposals, summary = adjustment_propose(
                user=user,
                period=period,
                township_codes=options["township"],
                save=options["confirm"],
            )
            line = (
                f"{period.campaign.slug} {period.label}: units {summary.units}, "
                f"awards {summary.award}, withdrawals {summary.withdraw}, keeps {summary.keep}"
            )
            self.stdout.write(f"proposed  {line}")
            if options["confirm"]:
                done = adjustment_confirm(user=user, run=run)
                self.stdout.write(
                    f"confirmed run {run.pk}: awards {done.award}, withdrawals {done.withdraw}, "
                    f"keeps {done.keep}"
                )
        except ScoringError as exc:
            raise CommandError(exc.message) from None
