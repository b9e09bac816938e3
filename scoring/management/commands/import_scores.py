"""Import a filled-in score-sheet template on behalf of a user: all or nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from scoring.errors import ImportErrors
from scoring.models import ChangeSource, Stage
from scoring.services.sheets import scores_import
from villages.models import User


class Command(BaseCommand):
    help = (
        "Import a filled-in score-sheet template (.xlsx) as USERNAME, with that user's "
        "permissions. Either every change is saved (and audited) or nothing is and every "
        "problem is listed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--user", required=True, metavar="USERNAME")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(_("No active user “%(u)s”.") % {"u": options["user"]})
        try:
            result = scores_import(user=user, file=options["file"], source=ChangeSource.COMMAND)
        except FileNotFoundError as exc:
            raise CommandError(_("No file %(f)s.") % {"f": options["file"]}) from exc
        except ImportErrors as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(exc.message) from exc
        self.stdout.write(
            _("Imported %(campaign)s %(period)s (%(stage)s): %(n)d scores changed in %(u)d units.")
            % {
                "campaign": result.campaign,
                "period": result.period,
                "stage": Stage(result.stage).label,
                "n": result.scores,
                "u": result.units,
            }
        )
        if options["verbosity"] > 1:
            for change in result.changes:
                self.stdout.write(
                    f"  {change.unit_code} {change.unit} {change.indicator}: "
                    f"{change.old or '—'} → {change.new or '—'}"
                )
