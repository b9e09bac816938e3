"""A lead department's page: its own indicators across every unit of a period, with progress,
and one indicator's units entered inline and saved all at once (county stage)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from scoring.errors import ScoringError
from scoring.forms import ScoreRowForm
from scoring.models import ChangeSource, Period, ScoreStage, Stage
from scoring.selectors import DepartmentSheet, department_sheet
from scoring.services import scores_save
from scoring.views.base import apply_service_errors, login_required, period_or_404
from villages.policy import Action, may


def _chosen_id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def _prepare(request: HttpRequest, period: Period, sheet: DepartmentSheet) -> None:
    """Mark the rows the user may change now and give each its form (bound on a POST)."""
    chosen = sheet.chosen
    for row in sheet.rows:
        assessment = row.assessment
        row.editable = (
            period.is_open
            and assessment.stage == Stage.COUNTY
            and may(
                request.user,
                Action.SCORE,
                state=ScoreStage.COUNTY,
                code=assessment.unit.code,
                department_id=chosen.lead_department_id,
            )
        )
        prefix = f"a{assessment.id}"
        if request.method == "POST" and row.editable and f"{prefix}-version" in request.POST:
            row.form = ScoreRowForm(
                request.POST, prefix=prefix, indicator=chosen, assessment_id=assessment.id
            )
        else:
            row.form = ScoreRowForm(
                prefix=prefix,
                initial=ScoreRowForm.initial_for(row.score),
                indicator=chosen,
                assessment_id=assessment.id,
            )
            row.form.unbound = True


@login_required
def department_indicators(request: HttpRequest, slug: str, label: str) -> HttpResponse:
    """The department's indicators of a period with n/m units scored; the chosen indicator's
    units with inputs, saved at once through `scores_save` (county stage, open period)."""
    period = period_or_404(request.user, slug, label)
    campaign = period.campaign
    if not may(request.user, Action.VIEW_OWN_INDICATORS):
        raise PermissionDenied
    raw = request.POST.get("indicator") if request.method == "POST" else None
    sheet = department_sheet(request.user, period, _chosen_id(raw or request.GET.get("indicator")))
    if sheet.chosen is not None:
        _prepare(request, period, sheet)
    if request.method == "POST" and sheet.chosen is not None:
        forms = {
            row.assessment.id: row.form
            for row in sheet.rows
            if row.editable and not getattr(row.form, "unbound", False)
        }
        url = reverse("scoring:department_indicators", args=[slug, label])
        url += f"?indicator={sheet.chosen.id}"
        if not forms:
            messages.error(request, _("There is nothing you may change on this sheet."))
            return redirect(url)
        if all(form.is_valid() for form in forms.values()):
            try:
                result = scores_save(
                    user=request.user,
                    stage=ScoreStage.COUNTY,
                    inputs=[form.to_input() for form in forms.values()],
                    source=ChangeSource.WEB,
                )
            except ScoringError as exc:
                apply_service_errors(forms, exc, by="assessment")
                messages.error(request, exc.message)
            else:
                messages.success(
                    request, _("Saved: %(n)d scores changed.") % {"n": len(result.changes)}
                )
                return redirect(url)
        else:
            messages.error(
                request, _("Some scores are not valid. Nothing was saved; see the marked rows.")
            )
    return render(
        request,
        "scoring/department.html",
        {
            "campaign": campaign,
            "period": period,
            "sheet": sheet,
            "editable": any(row.editable for row in sheet.rows),
        },
    )
