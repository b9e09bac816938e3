"""Monthly reports, on-demand exports with their progress, and the download centre."""

from __future__ import annotations

import datetime as dt
import os
import tempfile

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from campaigns.models import Campaign
from scoring import tasks
from scoring.errors import ScoringError
from scoring.models import ExportJob, ExportKind, JobStatus, Period, ReportRun
from scoring.selectors.completeness import period_completions
from scoring.selectors.monthly import previous_month
from scoring.services import (
    export_rows_estimate,
    export_write,
)
from scoring.views.base import HtmxHttpRequest, login_required, safe_next
from villages.models import Region, User
from villages.policy import Action, may

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
def report_list(request: HttpRequest, slug: str) -> HttpResponse:
    """A campaign's monthly reports; county staff can produce one by hand."""
    campaign = get_object_or_404(Campaign.objects.visible_to(request.user), slug=slug)
    if not may(request.user, Action.VIEW_REPORTS):
        raise PermissionDenied
    if request.method == "POST":
        if not may(request.user, Action.RUN_REPORT):
            raise PermissionDenied
        raw = request.POST.get("month", "")
        try:
            month = dt.date.fromisoformat(raw + "-01")
        except ValueError:
            messages.error(request, _("Choose a month, e.g. 2026-10."))
        else:
            try:
                run = tasks.report_run_queue(
                    campaign=campaign,
                    month=month,
                    requested_by=request.user,
                    trigger=request.user.get_full_name() or request.user.username,
                )
            except ScoringError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("The report for %(m)s is being produced.") % {"m": raw})
                return redirect("scoring:report_detail", pk=run.pk)
    runs = (
        ReportRun.objects.visible_to(request.user)
        .filter(campaign=campaign)
        .select_related("requested_by")
    )
    return render(
        request,
        "scoring/report_list.html",
        {
            "campaign": campaign,
            "runs": runs,
            "default_month": previous_month(timezone.localdate()).strftime("%Y-%m"),
        },
    )


def _run_or_404(user: User, pk: int) -> ReportRun:
    if not may(user, Action.VIEW_REPORTS):
        raise PermissionDenied
    return get_object_or_404(ReportRun.objects.visible_to(user).select_related("campaign"), pk=pk)


@vary_on_headers("HX-Request")
@login_required
def report_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The report as a page (figures stored with the run); polls while it is being produced."""
    run = _run_or_404(request.user, pk)
    if request.htmx:
        context = {"run": run, "data": run.data, "campaign": run.campaign}
        return render(request, "scoring/_report_status.html", context)
    # The figures were stored when the report ran; how complete their periods are is read now,
    # so a ranking of a period that is still being assessed says it is partial.
    data = run.data or {}
    by_label = {c.label: c for c in period_completions(run.campaign, request.user)}
    context = {
        "run": run,
        "data": run.data,
        "campaign": run.campaign,
        "completion": by_label.get(data.get("final_period") or ""),
        "under_way": by_label.get(data.get("period") or ""),
    }
    return render(request, "scoring/report_detail.html", context)


@login_required
def report_download(request: HttpRequest, pk: int) -> FileResponse:
    run = _run_or_404(request.user, pk)
    if run.status != JobStatus.DONE or not run.file:
        raise Http404
    return FileResponse(
        run.file.open("rb"),
        as_attachment=True,
        filename=f"monthly-{run.campaign.slug}-{run.month:%Y-%m}.xlsx",
        content_type=XLSX,
    )


# --- exports --------------------------------------------------------------------------------


@login_required
@require_POST
def export_start(request: HttpRequest, slug: str) -> HttpResponse:
    """Start an export: small ones are written and downloaded at once, large ones become a job."""
    campaign = get_object_or_404(Campaign.objects.visible_to(request.user), slug=slug)
    kind = request.POST.get("kind", "")
    if kind not in ExportKind.values:
        messages.error(request, _("Unknown export."))
        return redirect("scoring:downloads")
    period = None
    if request.POST.get("period"):
        period = get_object_or_404(
            Period.objects.visible_to(request.user), campaign=campaign, label=request.POST["period"]
        )
    region = None
    if request.POST.get("region"):
        region = get_object_or_404(
            Region.objects.visible_to(request.user), code=request.POST["region"]
        )
    try:
        rows = export_rows_estimate(
            kind=kind, campaign=campaign, period=period, user=request.user, region=region
        )
        if rows < settings.EXPORT_IN_REQUEST_MAX_ROWS and request.POST.get("background") != "1":
            return _export_now(request, kind=kind, campaign=campaign, period=period, region=region)
        job = tasks.export_job_queue(
            user=request.user, kind=kind, campaign=campaign, period=period, region=region
        )
    except ScoringError as exc:
        messages.error(request, exc.message)
        return redirect(safe_next(request, reverse("scoring:downloads")))
    return redirect("scoring:export_detail", pk=job.pk)


def _export_now(
    request: HttpRequest,
    *,
    kind: str,
    campaign: Campaign,
    period: Period | None,
    region: Region | None,
) -> FileResponse:
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        export_write(
            path, kind=kind, campaign=campaign, period=period, user=request.user, region=region
        )
        handle = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    finally:
        # The open handle keeps the data readable on POSIX once the name is gone.
        os.unlink(path)
    label = period.label if period else campaign.year
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"{kind}-{campaign.slug}-{label}.xlsx",
        content_type=XLSX,
    )


def _job_or_404(user: User, pk: int) -> ExportJob:
    return get_object_or_404(
        ExportJob.objects.visible_to(user).select_related("campaign", "period"), pk=pk
    )


@vary_on_headers("HX-Request")
@login_required
def export_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """A job's progress; the htmx fragment polls itself until the file is ready or it failed."""
    job = _job_or_404(request.user, pk)
    template = "scoring/_export_status.html" if request.htmx else "scoring/export_detail.html"
    return render(request, template, {"job": job})


@login_required
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    job = _job_or_404(request.user, pk)
    if job.status != JobStatus.DONE or not job.file:
        raise Http404
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=os.path.basename(job.file.name),
        content_type=XLSX,
    )


@login_required
def downloads(request: HttpRequest) -> HttpResponse:
    """The download centre: the user's own export files, newest first, and a form for more."""
    jobs = ExportJob.objects.visible_to(request.user).select_related("campaign", "period")[:100]
    campaigns = Campaign.objects.visible_to(request.user).prefetch_related("periods")
    return render(
        request,
        "scoring/downloads.html",
        {"jobs": jobs, "campaigns": campaigns, "kinds": ExportKind.choices},
    )
