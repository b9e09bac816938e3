"""Scoring pages: periods, work lists, score entry, transitions, history, gaps, Excel sheets.

Every object is fetched through `visible_to(user)`: another township's assessment is a 404.
Who may change what is asked of the access policy (villages.policy); the services re-check it.
"""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns.models import Campaign, Indicator
from scoring.errors import InputErrors, ScoringError, StaleScores
from scoring.forms import PeriodOpenForm, ReturnForm, ScoreRowForm, UploadForm
from scoring.models import (
    Assessment,
    AssessmentEvent,
    ChangeSource,
    Evidence,
    Period,
    Score,
    ScoreChange,
    ScoreStage,
    Stage,
)
from scoring.selectors import (
    entry_sheet,
    indicator_counts,
    stage_totals,
)
from scoring.services import (
    assessment_return,
    assessment_submit,
    assessments_submit,
    evidence_attach,
    period_open,
    scores_save,
)
from villages.access import scope_for
from villages.models import Region, Role
from villages.policy import Action, may, role_stage

PAGE_SIZE = 50


def safe_next(request, fallback: str) -> str:
    """The `next` address posted with a form, if it stays on this site; else the fallback."""
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return fallback


def _period_or_404(user, slug: str, label: str) -> Period:
    return get_object_or_404(
        Period.objects.visible_to(user).select_related("campaign__region"),
        campaign__slug=slug,
        label=label,
    )


def _assessment_or_404(user, pk: int) -> Assessment:
    return get_object_or_404(
        Assessment.objects.visible_to(user).select_related(
            "unit__township", "period__campaign__region", "finalised_by", "returned_by"
        ),
        pk=pk,
    )


# --- periods --------------------------------------------------------------------------------


@login_required
def period_list(request, slug: str):
    """A campaign's periods with their progress; county staff open new ones here."""
    campaign = get_object_or_404(Campaign.objects.visible_to(request.user), slug=slug)
    can_open = may(request.user, Action.OPEN_PERIOD)
    form = PeriodOpenForm(request.POST or None) if can_open else None
    if request.method == "POST":
        if not can_open:
            raise PermissionDenied
        if form.is_valid():
            try:
                period = period_open(user=request.user, campaign=campaign, **form.cleaned_data)
            except ScoringError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(
                    request,
                    _("Period %(p)s opened: %(n)d assessments created.")
                    % {"p": period.label, "n": period.assessments.count()},
                )
                return redirect("scoring:work_list", slug=slug, label=period.label)
    periods = list(campaign.periods.order_by("-starts_on"))
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for row in (
        Assessment.objects.visible_to(request.user)
        .filter(period__in=periods)
        .values("period_id", "stage")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts[row["period_id"]][row["stage"]] = row["n"]
    for period in periods:
        period.stage_counts = [
            (s, Stage(s).label, counts[period.id].get(s, 0)) for s in campaign.stage_order()
        ]
    return render(
        request,
        "scoring/period_list.html",
        {"campaign": campaign, "periods": periods, "form": form},
    )


# --- work list ------------------------------------------------------------------------------

SORTS = {
    "code": ("unit__code",),
    "-code": ("-unit__code",),
    "progress": ("progress", "unit__code"),
    "-progress": ("-progress", "unit__code"),
    "total": (F("points").asc(nulls_first=True), "unit__code"),
    "-total": (F("points").desc(nulls_last=True), "unit__code"),
    "stage": ("stage_rank", "unit__code"),
}


@login_required
def work_list(request, slug: str, label: str):
    """All units of a period in the user's scope: stage, progress, totals, due date, overdue.

    A fixed number of queries whatever the number of units (the page is cut at 50).
    """
    user = request.user
    period = _period_or_404(user, slug, label)
    campaign = period.campaign
    order = campaign.stage_order()
    assessments = Assessment.objects.visible_to(user).filter(period=period)

    township = request.GET.get("township", "")
    stage = request.GET.get("stage", "")
    overdue_only = request.GET.get("overdue") == "1"
    q = request.GET.get("q", "").strip()
    sort = request.GET.get("sort", "code")
    if sort not in SORTS:
        sort = "code"
    if township:
        assessments = assessments.filter(unit__township__code=township)
    if stage in order:
        assessments = assessments.filter(stage=stage)
    if q:
        assessments = assessments.filter(Q(unit__name__contains=q) | Q(unit__code__startswith=q))
    if overdue_only:
        late = [s for s in order if period.is_overdue(s)]
        assessments = assessments.filter(stage__in=late)
    # Progress and points of the current stage as subqueries rather than a join with GROUP BY:
    # PostgreSQL then works them out for the 50 rows of the page only (when the sort does not
    # need them), and the page count does not touch the scores at all.
    current = Score.objects.filter(assessment=OuterRef("pk"), stage=OuterRef("stage"))
    scored = current.filter(Q(value__isnull=False) | Q(vetoed__isnull=False))
    assessments = (
        assessments.select_related("unit__township")
        .annotate(
            progress=Coalesce(
                Subquery(
                    scored.values("assessment").annotate(n=Count("id")).values("n"),
                    output_field=IntegerField(),
                ),
                0,
            ),
            points=Subquery(current.values("assessment").annotate(t=Sum("value")).values("t")),
            stage_rank=Case(
                *[When(stage=s, then=Value(i)) for i, s in enumerate(order)],
                output_field=IntegerField(),
            ),
        )
        .order_by(*SORTS[sort])
    )
    page = Paginator(assessments, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page)
    totals = stage_totals(
        [a.id for a in rows],
        campaign,
        period.catalogue_version,
        stages=sorted({a.stage if a.stage != Stage.FINAL else Stage.COUNTY for a in rows}),
    )
    needed = indicator_counts(campaign, period.catalogue_version)
    dims = list(campaign.dimensions.order_by("order"))
    today = timezone.localdate()
    for a in rows:
        a.needed = needed[a.unit.kind]
        shown = a.stage if a.stage != Stage.FINAL else Stage.COUNTY
        results = totals.get(a.id, {}).get(shown, {})
        a.dimension_scores = [results.get(d.id) for d in dims]
        scores = [r.score for r in results.values()]
        a.average = sum(scores) / len(scores) if scores else None
        a.due = period.due_on(a.stage)
        a.overdue = period.is_overdue(a.stage, today)
        a.can_submit = may(user, Action.SUBMIT, state=a.stage, code=a.unit.code)
    context = {
        "period": period,
        "campaign": campaign,
        "page": page,
        "rows": rows,
        "dims": dims,
        "stages": [(s, Stage(s).label) for s in order],
        "townships": Region.objects.visible_to(user)
        .townships()
        .filter(code__startswith=campaign.region.prefix),
        "filters": {
            "township": township,
            "stage": stage,
            "overdue": overdue_only,
            "q": q,
            "sort": sort,
        },
        "progress_by_township": _progress_by_township(user, period)
        if user.is_superuser or user.role in (Role.COUNTY_STAFF, Role.LEADER, Role.DEPARTMENT)
        else None,
        "can_bulk_submit": any(a.can_submit for a in rows),
    }
    return render(request, "scoring/work_list.html", context)


def _progress_by_township(user, period: Period) -> list[dict]:
    """Per township: units at each stage and how many are overdue (one query)."""
    order = period.campaign.stage_order()
    rows = (
        Assessment.objects.visible_to(user)
        .filter(period=period)
        .values("unit__township__code", "unit__township__name", "stage")
        .annotate(n=Count("id"))
        .order_by("unit__township__code")
    )
    today = timezone.localdate()
    table: dict[str, dict] = {}
    for row in rows:
        entry = table.setdefault(
            row["unit__township__code"],
            {
                "name": row["unit__township__name"],
                "code": row["unit__township__code"],
                "stages": dict.fromkeys(order, 0),
                "total": 0,
                "overdue": 0,
            },
        )
        entry["stages"][row["stage"]] = row["n"]
        entry["total"] += row["n"]
        if period.is_overdue(row["stage"], today):
            entry["overdue"] += row["n"]
    for entry in table.values():
        entry["cells"] = [entry["stages"][s] for s in order]
        entry["final_share"] = (
            round(100 * entry["stages"][Stage.FINAL] / entry["total"]) if entry["total"] else 0
        )
    return list(table.values())


@login_required
@require_POST
def bulk_submit(request, slug: str, label: str):
    """Submit the ticked units; each is checked on its own and refusals are listed."""
    period = _period_or_404(request.user, slug, label)
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    visible = list(
        Assessment.objects.visible_to(request.user)
        .filter(period=period, id__in=ids)
        .values_list("id", flat=True)
    )
    if not visible:
        messages.error(request, _("Tick at least one unit to submit."))
    else:
        done, refused = assessments_submit(user=request.user, assessment_ids=visible)
        if done:
            messages.success(request, _("%(n)d submitted.") % {"n": len(done)})
        for _id, error in refused:
            messages.error(request, error.message)
    return redirect(safe_next(request, reverse("scoring:work_list", args=[slug, label])))


# --- score entry ----------------------------------------------------------------------------


def _entry_context(request, assessment: Assessment, stage: str, forms: dict | None = None):
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
            if forms and ind.id in forms:
                row.form = forms[ind.id]
            else:
                row.form = ScoreRowForm(
                    prefix=f"i{ind.id}",
                    initial=ScoreRowForm.initial_for(row.score),
                    indicator=ind,
                    assessment_id=assessment.id,
                )
    campaign = assessment.period.campaign
    order = campaign.stage_order()
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
        "can_submit": may(user, Action.SUBMIT, state=assessment.stage, code=assessment.unit.code)
        and assessment.stage != Stage.FINAL
        and assessment.period.status == "open",
        "can_return": may(user, Action.RETURN, state=assessment.stage, code=assessment.unit.code)
        and assessment.stage not in (Stage.FINAL, order[0]),
        "return_form": ReturnForm(initial={"version": assessment.version}),
        "due": assessment.period.due_on(assessment.stage),
        "overdue": assessment.period.is_overdue(assessment.stage),
        "is_final_stage_next": order[order.index(assessment.stage) + 1] == Stage.FINAL
        if assessment.stage != Stage.FINAL
        else False,
    }


def _default_stage(user, assessment: Assessment) -> str:
    if assessment.stage in ScoreStage.values:
        return assessment.stage
    return Stage.COUNTY


@login_required
def assessment_entry(request, pk: int):
    """The score-entry sheet of one assessment at one stage; POST saves every row at once."""
    assessment = _assessment_or_404(request.user, pk)
    stage = request.GET.get("stage") or _default_stage(request.user, assessment)
    if stage not in ScoreStage.values:
        messages.warning(request, _("Unknown stage in the address; showing the current one."))
        stage = _default_stage(request.user, assessment)
    if request.method == "POST":
        return _save_all(request, assessment, stage)
    return render(request, "scoring/entry.html", _entry_context(request, assessment, stage))


def _bound_forms(request, assessment: Assessment, stage: str, indicator_ids=None) -> dict:
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


def _apply_service_errors(forms: dict, exc: ScoringError) -> None:
    """Put what the service refused next to the fields it concerns."""
    if isinstance(exc, InputErrors):
        for (_a, indicator_id), errors in exc.errors.items():
            form = forms.get(indicator_id)
            for field, message in errors:
                if form is not None:
                    form.add_error(field if field in form.fields else None, message)
    elif isinstance(exc, StaleScores):
        for stale in exc.stale:
            form = forms.get(stale.indicator_id)
            if form is None:
                continue
            current = stale.current
            form.stale = current
            # The user has now seen the current value: saving again deliberately overwrites it.
            data = form.data.copy()
            data[f"{form.prefix}-version"] = str(current.version if current and current.pk else 0)
            form.data = data
            form.add_error(None, _("Changed by someone else meanwhile; see the current value."))


def _save_all(request, assessment: Assessment, stage: str):
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
            _apply_service_errors(forms, exc)
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
def score_row(request, pk: int, indicator_id: int):
    """Save one row (htmx); answer with the row re-rendered and the dimension total updated."""
    assessment = _assessment_or_404(request.user, pk)
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
            _apply_service_errors(forms, exc)
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


@login_required
@require_POST
def submit(request, pk: int):
    assessment = _assessment_or_404(request.user, pk)
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
def return_assessment(request, pk: int):
    assessment = _assessment_or_404(request.user, pk)
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


# --- history, evidence ----------------------------------------------------------------------


@login_required
def history(request, pk: int):
    """Every score change and stage transition of one assessment, newest first."""
    assessment = _assessment_or_404(request.user, pk)
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
def evidence_upload(request, pk: int, indicator_id: int):
    assessment = _assessment_or_404(request.user, pk)
    stage = request.POST.get("stage") or assessment.stage
    score = Score.objects.filter(
        assessment=assessment, indicator_id=indicator_id, stage=stage
    ).first()
    upload = request.FILES.get("file")
    if score is None:
        messages.error(request, _("Save a score for this indicator before attaching evidence."))
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
def evidence_list(request, pk: int, indicator_id: int):
    assessment = _assessment_or_404(request.user, pk)
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
        },
    )


@login_required
def evidence_download(request, evidence_id: int):
    item = get_object_or_404(
        Evidence.objects.filter(score__in=Score.objects.visible_to(request.user)), pk=evidence_id
    )
    return FileResponse(item.file.open("rb"), as_attachment=True, filename=item.original_name)


# --- gaps -----------------------------------------------------------------------------------


@login_required
def gaps(request, slug: str, label: str):
    """Self vs township vs county per unit and dimension, largest gap first."""
    period = _period_or_404(request.user, slug, label)
    campaign = period.campaign
    assessments = list(
        Assessment.objects.visible_to(request.user)
        .filter(period=period)
        .select_related("unit__township")
    )
    township = request.GET.get("township", "")
    if township:
        assessments = [a for a in assessments if a.unit.township.code == township]
    totals = stage_totals([a.id for a in assessments], campaign, period.catalogue_version)
    dims = {d.id: d for d in campaign.dimensions.all()}
    rows = []
    for a in assessments:
        by_stage = totals.get(a.id, {})
        for dim_id in set().union(*[set(v) for v in by_stage.values()]) if by_stage else ():
            values = {s: by_stage.get(s, {}).get(dim_id) for s in ScoreStage.values}
            present = [r.score for r in values.values() if r is not None]
            if len(present) < 2:
                continue
            rows.append(
                {
                    "assessment": a,
                    "dimension": dims[dim_id],
                    "self": values[ScoreStage.SELF],
                    "township": values[ScoreStage.TOWNSHIP],
                    "county": values[ScoreStage.COUNTY],
                    "gap": max(present) - min(present),
                }
            )
    rows.sort(key=lambda r: (-r["gap"], r["assessment"].unit.code))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "scoring/gaps.html",
        {
            "period": period,
            "campaign": campaign,
            "page": page,
            "township": township,
            "townships": Region.objects.visible_to(request.user)
            .townships()
            .filter(code__startswith=campaign.region.prefix),
        },
    )


# --- Excel score sheets ---------------------------------------------------------------------


def _sheet_stage(request) -> str | None:
    """The stage whose sheet a user fills in: asked for, or the one their role scores."""
    stage = request.GET.get("stage") or role_stage(request.user.role)
    if request.user.is_superuser and not stage:
        stage = Stage.COUNTY
    return stage if stage in ScoreStage.values else None


@login_required
def sheet_template(request, slug: str, label: str):
    """Download the score-sheet template of the user's units for this period and stage."""
    from scoring.excel.template import template_build

    period = _period_or_404(request.user, slug, label)
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
def sheet_upload(request, slug: str, label: str):
    """Upload a filled-in template: every error listed and nothing written, or all written."""
    from scoring.errors import ImportErrors
    from scoring.services.sheets import scores_import

    period = _period_or_404(request.user, slug, label)
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
