"""Period pages: a campaign's periods, the work list with bulk submit, and gaps between stages."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
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
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns.models import Campaign
from scoring.errors import ScoringError
from scoring.forms import PeriodOpenForm
from scoring.models import (
    Assessment,
    Period,
    Score,
    ScoreStage,
    Stage,
)
from scoring.selectors import (
    indicator_counts,
    stage_totals,
)
from scoring.services import (
    assessments_submit,
    period_open,
)
from scoring.views.base import period_or_404, safe_next
from villages.models import Region
from villages.policy import Action, may

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
    period = period_or_404(user, slug, label)
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
    page = Paginator(assessments, settings.PAGE_SIZE).get_page(request.GET.get("page"))
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
        if may(user, Action.VIEW_PROGRESS)
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
    period = period_or_404(request.user, slug, label)
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


# --- gaps -----------------------------------------------------------------------------------


@login_required
def gaps(request, slug: str, label: str):
    """Self vs township vs county per unit and dimension, largest gap first."""
    period = period_or_404(request.user, slug, label)
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
    page = Paginator(rows, settings.PAGE_SIZE).get_page(request.GET.get("page"))
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
