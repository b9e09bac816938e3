"""Excel score sheets: the template download and the all-or-nothing upload."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from scoring.errors import ImportErrors, ScoringError
from scoring.excel.template import template_build
from scoring.forms import UploadForm
from scoring.models import (
    ScoreStage,
    Stage,
)
from scoring.services.sheets import scores_import
from scoring.views.base import login_required, period_or_404
from villages.access import scope_for
from villages.models import Region
from villages.policy import Action, may, role_stage

# --- Excel score sheets ---------------------------------------------------------------------


def _sheet_stage(request: HttpRequest) -> str | None:
    """The stage whose sheet a user fills in: asked for, or the one their role scores."""
    stage = request.GET.get("stage") or role_stage(request.user.role)
    if request.user.is_superuser and not stage:
        stage = Stage.COUNTY
    return stage if stage in ScoreStage.values else None


@login_required
def sheet_template(request: HttpRequest, slug: str, label: str) -> HttpResponse:
    """Download the score-sheet template of the user's units for this period and stage."""
    period = period_or_404(request.user, slug, label)
    stage = _sheet_stage(request)
    if stage is None or not may(
        request.user, Action.SCORE, state=stage, code=scope_for(request.user).code
    ):
        raise PermissionDenied
    region = None
    code = request.GET.get("region", "")
    if code:
        region = get_object_or_404(Region.objects.visible_to(request.user), code=code)
    try:
        content = template_build(user=request.user, period=period, stage=stage, region=region)
    except ScoringError as exc:
        messages.error(request, exc.message)
        return redirect("scoring:work_list", slug=slug, label=label)
    filename = f"score-sheet-{slug}-{label}-{stage}{'-' + code if code else ''}.xlsx"
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def sheet_upload(request: HttpRequest, slug: str, label: str) -> HttpResponse:
    """Upload a filled-in template: every error listed and nothing written, or all written."""
    period = period_or_404(request.user, slug, label)
    stage = _sheet_stage(request)
    # Bound on every POST, even one whose file was cut off in transit (config/uploads.py):
    # the user then sees "choose a file" rather than a blank form.
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    context = {"period": period, "campaign": period.campaign, "form": form, "stage": stage}
    if request.method == "POST" and form.is_valid():
        try:
            result = scores_import(user=request.user, file=form.cleaned_data["file"])
        except ImportErrors as exc:
            context["import_errors"] = exc.errors
            messages.error(
                request,
                _("The file was not imported: %(n)d problems. Nothing was saved.")
                % {"n": len(exc.errors)},
            )
        else:
            context["result"] = result
            messages.success(
                request, _("Imported: %(n)d scores changed.") % {"n": len(result.changes)}
            )
    return render(request, "scoring/upload.html", context)
