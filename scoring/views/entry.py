"""Score entry of one assessment: rows saved by htmx or all at once, submit, return, history,
evidence files."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns.models import Indicator
from scoring.errors import ScoringError
from scoring.forms import ReturnForm, ScoreRowForm
from scoring.models import (
    Assessment,
    AssessmentEvent,
    ChangeSource,
    Evidence,
    Score,
    ScoreChange,
    ScoreStage,
    Stage,
)
from scoring.selectors import (
    entry_sheet,
)
from scoring.services import (
    assessment_reopen,
    assessment_return,
    assessment_submit,
    assessment_submit_on_behalf,
    evidence_attach,
    scores_save,
)
from scoring.views.base import apply_service_errors, assessment_or_404, login_required
from villages.models import User
from villages.policy import Action, may

# --- score entry ----------------------------------------------------------------------------


def _entry_context(
    request: HttpRequest, assessment: Assessment, stage: str, forms: dict | None = None
) -> dict:
    user = request.user
    sheet = entry_sheet(assessment, stage)
    editable = (
        assessment.stage == stage
        and assessment.period.status == "open"
        and may(user, Action.SCORE, state=stage, code=assessment.unit.code)
    )
    for block in sheet:
        for row in block.rows:
            ind = row.indicator
            row.editable = editable and may(
                user,
                Action.SCORE,
                state=stage,
                code=assessment.unit.code,
                department_id=ind.lead_department_id,
            )
            row.unsaved = False
            if forms and ind.id in forms:
                row.form = forms[ind.id]
                row.unsaved = _differs(row.form, row.score)
            else:
                row.form = ScoreRowForm(
                    prefix=f"i{ind.id}",
                    initial=ScoreRowForm.initial_for(row.score),
                    indicator=ind,
                    assessment_id=assessment.id,
                )
    for block in sheet:
        block.scored = sum(1 for row in block.rows if _is_scored(row.score))
    campaign = assessment.period.campaign
    order = campaign.stage_order()
    can_submit = (
        may(user, Action.SUBMIT, state=assessment.stage, code=assessment.unit.code)
        and assessment.stage != Stage.FINAL
        and assessment.period.status == "open"
    )
    is_final_stage_next = (
        order[order.index(assessment.stage) + 1] == Stage.FINAL
        if assessment.stage != Stage.FINAL
        else False
    )
    return {
        "assessment": assessment,
        "period": assessment.period,
        "campaign": campaign,
        "stage": stage,
        "stage_label": Stage(stage).label,
        "sheet": sheet,
        "editable": editable,
        "viewable_stages": [(s, Stage(s).label) for s in order if s in ScoreStage.values],
        "has_previous": order.index(stage) > 0 if stage in order else False,
        "can_submit": can_submit,
        "can_reopen": assessment.period.status == "open"
        and may(user, Action.REOPEN, state=assessment.stage, code=assessment.unit.code),
        "can_act_for_village": assessment.period.status == "open"
        and may(user, Action.ACT_FOR_VILLAGE, state=assessment.stage, code=assessment.unit.code),
        "next_step": _next_step(assessment, sheet, stage, can_submit, is_final_stage_next),
        "can_return": may(user, Action.RETURN, state=assessment.stage, code=assessment.unit.code)
        and assessment.stage not in (Stage.FINAL, order[0]),
        "return_form": ReturnForm(initial={"version": assessment.version}),
        "due": assessment.due,
        "overdue": assessment.is_overdue(),
        "is_final_stage_next": is_final_stage_next,
    }


def _differs(form: ScoreRowForm, score: Score | None) -> bool:
    """Whether a row sent back to the user holds something other than what is stored."""
    initial = ScoreRowForm.initial_for(score)
    return any(
        str(form[name].value() or "").strip() != str(initial[name] or "").strip()
        for name in ("value", "vetoed", "note")
    )


def _is_scored(score: Score | None) -> bool:
    return score is not None and (score.value is not None or score.vetoed is not None)


def _next_step(
    assessment: Assessment, sheet: list, stage: str, can_submit: bool, finalises: bool
) -> str:
    """What the user has to do next on this page, and by when (empty when nothing)."""
    if not can_submit:
        return ""
    button = _("Finalise") if finalises else _("Submit to the next stage")
    empty = sum(1 for block in sheet for row in block.rows if not _is_scored(row.score))
    if stage != assessment.stage:
        empty = 0  # another stage's tab: the count would be that stage's
    if empty:
        text = _("Next: score the %(n)d indicators still empty, then press “%(button)s”.") % {
            "n": empty,
            "button": button,
        }
    else:
        text = _("Next: check the scores, then press “%(button)s”.") % {"button": button}
    if assessment.due:
        text += " " + _("Due by %(date)s.") % {"date": assessment.due.strftime("%Y-%m-%d")}
    return text


def _default_stage(user: User, assessment: Assessment) -> str:
    if assessment.stage in ScoreStage.values:
        return assessment.stage
    return Stage.COUNTY


@login_required
def assessment_entry(request: HttpRequest, pk: int) -> HttpResponse:
    """The score-entry sheet of one assessment at one stage; POST saves every row at once."""
    assessment = assessment_or_404(request.user, pk)
    stage = request.GET.get("stage") or _default_stage(request.user, assessment)
    if stage not in ScoreStage.values:
        messages.warning(request, _("Unknown stage in the address; showing the current one."))
        stage = _default_stage(request.user, assessment)
    if request.method == "POST":
        return _save_all(request, assessment, stage)
    return render(request, "scoring/entry.html", _entry_context(request, assessment, stage))


def _bound_forms(
    request: HttpRequest,
    assessment: Assessment,
    stage: str,
    indicator_ids: set[int] | None = None,
) -> dict:
    sheet = entry_sheet(assessment, stage)
    forms = {}
    for block in sheet:
        for row in block.rows:
            ind = row.indicator
            if indicator_ids is not None and ind.id not in indicator_ids:
                continue
            prefix = f"i{ind.id}"
            if f"{prefix}-version" not in request.POST:
                continue
            if not may(
                request.user,
                Action.SCORE,
                state=stage,
                code=assessment.unit.code,
                department_id=ind.lead_department_id,
            ):
                continue
            forms[ind.id] = ScoreRowForm(
                request.POST, prefix=prefix, indicator=ind, assessment_id=assessment.id
            )
    return forms


def _save_all(request: HttpRequest, assessment: Assessment, stage: str) -> HttpResponse:
    forms = _bound_forms(request, assessment, stage)
    if not forms:
        messages.error(request, _("There is nothing you may change on this sheet."))
        return redirect(_entry_url(assessment, stage))
    valid = all(form.is_valid() for form in forms.values())
    if valid:
        try:
            result = scores_save(
                user=request.user,
                stage=stage,
                inputs=[form.to_input() for form in forms.values()],
                source=ChangeSource.WEB,
            )
        except ScoringError as exc:
            apply_service_errors(forms, exc, by="indicator")
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("Saved: %(n)d scores changed.") % {"n": len(result.changes)}
            )
            return redirect(_entry_url(assessment, stage))
    else:
        messages.error(
            request, _("Some scores are not valid. Nothing was saved; see the marked rows.")
        )
    context = _entry_context(request, assessment, stage, forms)
    return render(request, "scoring/entry.html", context, status=200)


def _entry_url(assessment: Assessment, stage: str) -> str:
    return reverse("scoring:entry", args=[assessment.pk]) + f"?stage={stage}"


@login_required
@require_POST
def score_row(request: HttpRequest, pk: int, indicator_id: int) -> HttpResponse:
    """Save one row (htmx); answer with the row re-rendered and the dimension total updated."""
    assessment = assessment_or_404(request.user, pk)
    stage = request.GET.get("stage") or assessment.stage
    if stage not in ScoreStage.values:
        return HttpResponse(_("Unknown stage."), status=400)
    forms = _bound_forms(request, assessment, stage, indicator_ids={indicator_id})
    if indicator_id not in forms:
        raise PermissionDenied
    form = forms[indicator_id]
    saved = False
    if form.is_valid():
        try:
            scores_save(user=request.user, stage=stage, inputs=[form.to_input()])
            saved = True
        except ScoringError as exc:
            apply_service_errors(forms, exc, by="indicator")
            if not form.errors:
                form.add_error(None, exc.message)
    if saved:
        forms = {}
    context = _entry_context(request, assessment, stage, forms)
    block = next(b for b in context["sheet"] if any(r.indicator.id == indicator_id for r in b.rows))
    row = next(r for r in block.rows if r.indicator.id == indicator_id)
    return render(
        request,
        "scoring/_entry_row_response.html",
        {**context, "block": block, "row": row, "saved": saved},
    )


def _save_typed_rows(request: HttpRequest, assessment: Assessment) -> HttpResponse | None:
    """Save what the submit button carried from the entry form (rows typed but not saved).

    Returns None when there was nothing to save or all of it was saved; otherwise the entry
    page with the rows marked and a message naming them (nothing submitted, nothing lost).
    """
    stage = assessment.stage
    if request.POST.get("entry_stage") != stage or stage not in ScoreStage.values:
        return None
    forms = _bound_forms(request, assessment, stage)
    if not forms:
        return None
    invalid = [form for form in forms.values() if not form.is_valid()]
    if not invalid:
        try:
            result = scores_save(
                user=request.user,
                stage=stage,
                inputs=[form.to_input() for form in forms.values()],
                source=ChangeSource.WEB,
            )
        except ScoringError as exc:
            apply_service_errors(forms, exc, by="indicator")
            invalid = [form for form in forms.values() if form.errors] or list(forms.values())
        else:
            if result.changes:
                n = len(result.changes)
                messages.info(
                    request, _("Saved the %(n)d scores typed but not yet saved.") % {"n": n}
                )
            return None
    names = ", ".join(f"{form.indicator.code} {form.indicator.title}" for form in invalid)
    messages.error(
        request,
        _("Not submitted: these rows were typed but cannot be saved: %(rows)s. Fix them first.")
        % {"rows": names},
    )
    context = _entry_context(request, assessment, stage, forms)
    return render(request, "scoring/entry.html", context)


@login_required
@require_POST
def submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Submit (or finalise); rows typed on the entry page but not saved are saved first."""
    assessment = assessment_or_404(request.user, pk)
    refused = _save_typed_rows(request, assessment)
    if refused is not None:
        return refused
    version = request.POST.get("version")
    try:
        done = assessment_submit(
            user=request.user,
            assessment_id=assessment.pk,
            expected_version=int(version) if version and version.isdigit() else None,
        )
    except ScoringError as exc:
        messages.error(request, exc.message)
    else:
        if done.stage == Stage.FINAL:
            messages.success(request, _("%(unit)s is final and locked.") % {"unit": done.unit.name})
        else:
            messages.success(
                request,
                _("%(unit)s submitted to “%(stage)s”.")
                % {"unit": done.unit.name, "stage": Stage(done.stage).label},
            )
    return redirect("scoring:entry", pk=assessment.pk)


@login_required
@require_POST
def return_assessment(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = assessment_or_404(request.user, pk)
    form = ReturnForm(request.POST)
    if form.is_valid():
        try:
            done = assessment_return(
                user=request.user,
                assessment_id=assessment.pk,
                reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data.get("version"),
            )
        except ScoringError as exc:
            if exc.field:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.error(request, exc.message)
                return redirect("scoring:entry", pk=assessment.pk)
        else:
            messages.success(
                request,
                _("%(unit)s returned to “%(stage)s”.")
                % {"unit": done.unit.name, "stage": Stage(done.stage).label},
            )
            return redirect("scoring:entry", pk=assessment.pk)
    context = _entry_context(request, assessment, _default_stage(request.user, assessment))
    context["return_form"] = form
    context["show_return"] = True
    messages.error(request, _("Give a reason for returning it."))
    return render(request, "scoring/entry.html", context)


def _move_with_reason(
    request: HttpRequest, pk: int, move: Callable[..., Assessment], done_text: str
) -> HttpResponse:
    """Run a transition that needs a reason (reopen, submit on behalf) and go back to the sheet."""
    assessment = assessment_or_404(request.user, pk)
    version = request.POST.get("version")
    try:
        done = move(
            user=request.user,
            assessment_id=assessment.pk,
            reason=request.POST.get("reason", ""),
            expected_version=int(version) if version and version.isdigit() else None,
        )
    except ScoringError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, done_text % {"unit": done.unit.name, "stage": Stage(done.stage).label}
        )
    return redirect("scoring:entry", pk=assessment.pk)


@login_required
@require_POST
def reopen(request: HttpRequest, pk: int) -> HttpResponse:
    """County staff take a final assessment back to the county stage, with a reason."""
    return _move_with_reason(request, pk, assessment_reopen, _("%(unit)s reopened at “%(stage)s”."))


@login_required
@require_POST
def submit_on_behalf(request: HttpRequest, pk: int) -> HttpResponse:
    """The township passes a silent village's self-assessment on, with a reason (代村提交)."""
    return _move_with_reason(
        request,
        pk,
        assessment_submit_on_behalf,
        _("%(unit)s submitted for the village to “%(stage)s”."),
    )


# --- history, evidence ----------------------------------------------------------------------


@login_required
def history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every score change and stage transition of one assessment, newest first."""
    assessment = assessment_or_404(request.user, pk)
    changes = (
        ScoreChange.objects.filter(assessment=assessment)
        .select_related("indicator", "changed_by")
        .order_by("-changed_at", "-id")
    )
    stage = request.GET.get("stage", "")
    if stage in ScoreStage.values:
        changes = changes.filter(stage=stage)
    if request.GET.get("after") == "1":
        changes = changes.filter(after_submission=True)
    page = Paginator(changes, 100).get_page(request.GET.get("page"))
    events = (
        AssessmentEvent.objects.filter(assessment=assessment)
        .select_related("actor")
        .order_by("-at", "-id")
    )
    return render(
        request,
        "scoring/history.html",
        {
            "assessment": assessment,
            "page": page,
            "events": events,
            "stage": stage,
            "stages": ScoreStage.choices,
            "after": request.GET.get("after") == "1",
        },
    )


@login_required
@require_POST
def evidence_upload(request: HttpRequest, pk: int, indicator_id: int) -> HttpResponse:
    assessment = assessment_or_404(request.user, pk)
    stage = request.POST.get("stage") or assessment.stage
    score = Score.objects.filter(
        assessment=assessment, indicator_id=indicator_id, stage=stage
    ).first()
    upload = request.FILES.get("file")
    if score is None:
        messages.error(request, _("Save a score for this indicator before attaching evidence."))
    elif getattr(request, "upload_truncated", False):
        # The upload handler cut the file off at the stream limit: say why, never "choose one".
        messages.error(
            request,
            _("The file is larger than %(mb)d MB. Nothing was saved.")
            % {"mb": settings.EVIDENCE_MAX_BYTES // 2**20},
        )
    elif upload is None:
        messages.error(request, _("Choose a file to attach."))
    else:
        try:
            evidence_attach(user=request.user, score_id=score.id, upload=upload)
        except ScoringError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Attached %(name)s.") % {"name": upload.name})
    return redirect("scoring:evidence_list", pk=assessment.pk, indicator_id=indicator_id)


@login_required
def evidence_list(request: HttpRequest, pk: int, indicator_id: int) -> HttpResponse:
    assessment = assessment_or_404(request.user, pk)
    indicator = get_object_or_404(
        Indicator.objects.filter(dimension__campaign=assessment.period.campaign), pk=indicator_id
    )
    items = Evidence.objects.filter(
        score__assessment=assessment, score__indicator=indicator
    ).select_related("score", "uploaded_by")
    can_attach = (
        assessment.stage in ScoreStage.values
        and assessment.period.status == "open"
        and may(
            request.user,
            Action.SCORE,
            state=assessment.stage,
            code=assessment.unit.code,
            department_id=indicator.lead_department_id,
        )
    )
    return render(
        request,
        "scoring/evidence_list.html",
        {
            "assessment": assessment,
            "indicator": indicator,
            "items": items,
            "can_attach": can_attach,
            "max_bytes": settings.EVIDENCE_MAX_BYTES,
            "max_mb": settings.EVIDENCE_MAX_BYTES // 2**20,
        },
    )


@login_required
def evidence_download(request: HttpRequest, evidence_id: int) -> FileResponse:
    item = get_object_or_404(
        Evidence.objects.filter(score__in=Score.objects.visible_to(request.user)), pk=evidence_id
    )
    return FileResponse(item.file.open("rb"), as_attachment=True, filename=item.original_name)
