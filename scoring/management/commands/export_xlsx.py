"""Write an Excel file to disk: the score-sheet template, or an export (scores, roster,
ledger, ranking) through the same services the download centre uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from scoring.errors import ScoringError
from scoring.excel.template import template_build
from scoring.models import ExportKind, Period, ScoreStage, Stage
from scoring.services import export_write
from villages.models import Region, RegionLevel, User

KINDS = ["template", *ExportKind.values]


class Command(BaseCommand):
    help = (
        "Export an .xlsx file. KIND 'template': the score-sheet template of a period for the "
        "units of a region, to be filled in offline and uploaded with import_scores; 'scores', "
        "'roster', 'ledger', 'ranking': the same exports as the download centre."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=KINDS, help="what to export")
        parser.add_argument("--campaign", required=True, metavar="SLUG")
        parser.add_argument("--period", required=True, metavar="LABEL", help="e.g. 2026Q4")
        parser.add_argument(
            "--region",
            metavar="CODE",
            help="12-digit code of a township or county (required for a template; "
            "default for exports: the campaign's whole region)",
        )
        parser.add_argument(
            "--stage",
            choices=ScoreStage.values,
            help="default: township for a township region, county otherwise",
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="cut to what this user may see and score; default: every unit of the region",
        )
        parser.add_argument("-o", "--output", required=True, metavar="FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        campaign = Campaign.objects.filter(slug=options["campaign"]).first()
        if campaign is None:
            raise CommandError(_("No campaign “%(slug)s”.") % {"slug": options["campaign"]})
        period = Period.objects.filter(campaign=campaign, label=options["period"]).first()
        if period is None:
            raise CommandError(_("No period %(p)s in this campaign.") % {"p": options["period"]})
        region = None
        if options["region"]:
            region = Region.objects.filter(code=options["region"]).first()
            if region is None:
                raise CommandError(
                    _("No region with the code %(code)s.") % {"code": options["region"]}
                )
        elif options["kind"] == "template":
            raise CommandError("--region is required for a template.")
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(_("No active user “%(u)s”.") % {"u": options["user"]})
        if options["kind"] != "template":
            return self._export(options, campaign=campaign, period=period, region=region, user=user)
        stage = options["stage"] or _default_stage(campaign, region)
        try:
            content = template_build(user=user, period=period, stage=stage, region=region)
        except ScoringError as exc:
            raise CommandError(exc.message) from exc
        path = Path(options["output"])
        path.write_bytes(content)
        self.stdout.write(
            _("Wrote %(path)s (%(stage)s, %(region)s, %(kb)d KB).")
            % {
                "path": path,
                "stage": Stage(stage).label,
                "region": region.name,
                "kb": max(1, len(content) // 1024),
            }
        )

    def _export(
        self,
        options: dict[str, Any],
        *,
        campaign: Campaign,
        period: Period,
        region: Region | None,
        user: User | None,
    ) -> None:
        path = Path(options["output"])
        try:
            rows = export_write(
                path,
                kind=options["kind"],
                campaign=campaign,
                period=period,
                user=user,
                region=region,
            )
        except ScoringError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Wrote {path} ({options['kind']}, {rows} rows).")


def _default_stage(campaign: Campaign, region: Region) -> str:
    stages = campaign.stages()
    if region.level == RegionLevel.TOWNSHIP and ScoreStage.TOWNSHIP in stages:
        return ScoreStage.TOWNSHIP
    return ScoreStage.COUNTY
