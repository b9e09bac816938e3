"""Build the demo counties, campaigns, scores and users (idempotent)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from scoring.demo.builder import DEMO_PASSWORD, demo_load


class Command(BaseCommand):
    help = "Create the demo counties (内黄县-style and 夏县-style), campaigns, scores and users."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        verbose = options["verbosity"] > 1
        report = demo_load(log=self.stdout.write if verbose else (lambda s: None))
        elapsed = time.monotonic() - started
        if report.created:
            for name, n in report.created.items():
                self.stdout.write(f"  {name}: {n}")
        else:
            self.stdout.write(_("The demo data is already complete; nothing was changed."))
        self.stdout.write(_("Demo built in %(s).1f s.") % {"s": elapsed})
        self.stdout.write(_("Demo users (password %(p)s):") % {"p": DEMO_PASSWORD})
        for username, role, display in report.users:
            self.stdout.write(f"  {username:<16} {role:<20} {display}")
