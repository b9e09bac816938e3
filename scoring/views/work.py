"""Period pages: a campaign's periods, the work list with bulk submit, and gaps between stages."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least, Round
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns.models import Campaign, Indicator, IndicatorKind
from scoring.errors import ScoringError
from scoring.filters import SORTS, GapsFilter, WorkListFilter
from scoring.forms import PeriodOpenForm
from scoring.models import (
    Assessment,
    Period,
    Score,
    ScoreStage,
    Stage,
)
from scoring.rules import HUNDRED
from scoring.selectors import (
    indicator_counts,
    stage_totals,
)
from scoring.services import (
    assessments_submit,
    period_open,
)
from scoring.views.base import login_required, period_or_404, safe_next, townships_of
from villages.models import User
from villages.policy import Action, may

# --- periods --------------------------------------------------------------------------------


@login_required
def period_list(request: HttpRequest, slug: str) -> HttpResponse:
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


@login_required
def work_list(request: HttpRequest, slug: str, label: str) -> HttpResponse:
    """All units of a period in the user's scope: stage, progress, totals, due date, overdue.

    A fixed number of queries whatever the number of units (the page is cut at 50).
    """
    user = request.user
    period = period_or_404(user, slug, label)
    campaign = period.campaign
    order = campaign.stage_order()
    # Progress and points of the current stage as subqueries rather than a join with GROUP BY:
    # PostgreSQL then works them out for the 50 rows of the page only (when the sort does not
    # need them), and the page count does not touch the scores at all.
    current = Score.objects.filter(assessment=OuterRef("pk"), stage=OuterRef("stage"))
    scored = current.filter(Q(value__isnull=False) | Q(vetoed__isnull=False))
    assessments = (
        Assessment.objects.visible_to(user)
        .filter(period=period)
        .select_related("unit__township")
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
        .order_by(*SORTS["code"])
    )
    today = timezone.localdate()
    # Township officials see first the villages that let the self-assessment slip (nothing
    # scored, past its due date): they may pass those on for the village (代村提交).
    silent_first = may(user, Action.ACT_FOR_VILLAGE, state=Stage.SELF)
    if silent_first:
        late = Q(due_on__lt=today)
        if period.is_overdue(Stage.SELF, today):
            late |= Q(due_on__isnull=True)
        assessments = assessments.annotate(
            silent=Case(
                When(Q(stage=Stage.SELF, progress=0) & late, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
    filters = WorkListFilter(
        request.GET, assessments, period=period, townships=townships_of(user, campaign)
    )
    listed = filters.qs
    if silent_first and request.GET.get("sort", "code") == "code":
        listed = listed.order_by("-silent", *listed.query.order_by)
    page = Paginator(listed, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page)
    totals = stage_totals(
        [a.id for a in rows],
        campaign,
        period.catalogue_version,
        stages=sorted({a.stage if a.stage != Stage.FINAL else Stage.COUNTY for a in rows}),
    )
    needed = indicator_counts(campaign, period.catalogue_version)
    dims = list(campaign.dimensions.order_by("order"))
    for a in rows:
        a.period = period  # no query per row for its due date
        a.needed = needed[a.unit.kind]
        shown = a.stage if a.stage != Stage.FINAL else Stage.COUNTY
        results = totals.get(a.id, {}).get(shown, {})
        a.dimension_scores = [results.get(d.id) for d in dims]
        scores = [r.score for r in results.values()]
        a.average = sum(scores) / len(scores) if scores else None
        a.overdue = a.is_overdue(today)  # `a.due`: a returned one's own date, else the period's
        a.can_submit = may(user, Action.SUBMIT, state=a.stage, code=a.unit.code)
        a.finalises = a.can_submit and campaign.next_stage(a.stage) == Stage.FINAL
    context = {
        "period": period,
        "campaign": campaign,
        "page": page,
        "rows": rows,
        "dims": dims,
        "stages": [(s, Stage(s).label) for s in order],
        "filter": filters,
        "township": filters.value("township") or "",
        "progress_by_township": _progress_by_township(user, period)
        if may(user, Action.VIEW_PROGRESS)
        else None,
        "can_bulk_submit": any(a.can_submit for a in rows),
        "bulk_finalises": any(a.finalises for a in rows),
    }
    return render(request, "scoring/work_list.html", context)


def _progress_by_township(user: User, period: Period) -> list[dict]:
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
def bulk_submit(request: HttpRequest, slug: str, label: str) -> HttpResponse:
    """Submit the ticked units; each is checked on its own and refusals are listed.

    Those the submit would finalise (the county stage) are locked for good: the user first
    gets a page naming them, and finalises only by ticking that they checked (`confirm`).
    """
    user = request.user
    period = period_or_404(user, slug, label)
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    visible = list(
        Assessment.objects.visible_to(user)
        .filter(period=period, id__in=ids)
        .select_related("unit")
        .order_by("unit__code")
    )
    back = safe_next(request, reverse("scoring:work_list", args=[slug, label]))
    if not visible:
        messages.error(request, _("Tick at least one unit to submit."))
        return redirect(back)
    finalising = [
        a
        for a in visible
        if period.campaign.next_stage(a.stage) == Stage.FINAL and may(user, Action.SUBMIT, a)
    ]
    if finalising and request.POST.get("confirm") != "1":
        return render(
            request,
            "scoring/bulk_confirm.html",
            {
                "period": period,
                "campaign": period.campaign,
                "assessments": visible,
                "finalising": finalising,
                "back": back,
                "unconfirmed": "confirm_shown" in request.POST,
            },
        )
    done, refused = assessments_submit(user=user, assessment_ids=[a.id for a in visible])
    final = sum(1 for a in done if a.stage == Stage.FINAL)
    if final:
        messages.success(request, _("%(n)d finalised and locked.") % {"n": final})
    if len(done) - final:
        messages.success(request, _("%(n)d submitted.") % {"n": len(done) - final})
    for _id, error in refused:
        messages.error(request, error.message)
    return redirect(back)


# --- gaps -----------------------------------------------------------------------------------


@login_required
def gaps(request: HttpRequest, slug: str, label: str) -> HttpResponse:
    """Self vs township vs county per unit and dimension, largest gap first.

    The township filter, the dimension scores, the gaps, their order and the page are worked
    out in SQL (`_gap_pairs`): only the rows of the page come back, with their scores.
    """
    period = period_or_404(request.user, slug, label)
    campaign = period.campaign
    filters = GapsFilter(
        request.GET,
        Assessment.objects.visible_to(request.user).filter(period=period),
        townships=townships_of(request.user, campaign),
    )
    dims = {d.id: d for d in campaign.dimensions.all()}
    page = Paginator(_gap_pairs(filters.qs, period, dims), settings.PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    pairs = list(page)
    assessments = Assessment.objects.select_related("unit__township").in_bulk(
        [p["assessment_id"] for p in pairs]
    )
    rows = []
    for pair in pairs:
        scores = {s: pair[f"score_{s}"] for s in ScoreStage.values}
        present = [score for score in scores.values() if score is not None]
        rows.append(
            {
                "assessment": assessments[pair["assessment_id"]],
                "dimension": dims[pair["indicator__dimension_id"]],
                "self": scores[ScoreStage.SELF],
                "township": scores[ScoreStage.TOWNSHIP],
                "county": scores[ScoreStage.COUNTY],
                "gap": max(present) - min(present),
            }
        )
    page.object_list = rows
    return render(
        request,
        "scoring/gaps.html",
        {"period": period, "campaign": campaign, "page": page, "filter": filters},
    )


def _gap_pairs(assessments: QuerySet[Assessment], period: Period, dims: dict) -> QuerySet:
    """(assessment, dimension) pairs scored at two stages or more with their score at each
    stage (`score_self`, … or None), largest gap first, then by unit code: one grouped query
    over the scores, which the paginator counts and cuts.

    Each stage's dimension score is `scoring.rules.dimension_score` written in SQL, exactly as
    `stage_totals` feeds it: points capped per indicator, their sum capped at the catalogue's
    maximum and scaled to 100, plus bonus up to the dimension's cap, at most 100, rounded to
    cents. The per-dimension numbers (maximum, scale, bonus cap) are constants of the query.
    tests/scoring/test_filters.py checks it against stage_totals on random sheets.
    """
    possible = dict(
        Indicator.objects.for_version(period.catalogue_version)
        .filter(dimension__campaign=period.campaign, kind=IndicatorKind.POINTS)
        .values_list("dimension_id")
        .annotate(total=Sum("max_points"))
        .order_by()
    )
    money = DecimalField(max_digits=12, decimal_places=6)
    cents = DecimalField(max_digits=5, decimal_places=2)

    def per_dimension(values: dict[int, Decimal]) -> Case:
        return Case(
            *[When(indicator__dimension_id=d, then=Value(v)) for d, v in values.items()],
            default=Value(Decimal(0)),
            output_field=money,
        )

    cap_of = per_dimension({d: dim.bonus_cap for d, dim in dims.items()})
    most = per_dimension({d: possible.get(d, Decimal(0)) for d in dims})
    # Multiplying by 100/max rather than dividing by max: SQLite would divide integers.
    scale = per_dimension(
        {d: HUNDRED / possible[d] if possible.get(d) else Decimal(0) for d in dims}
    )
    capped = Case(
        When(value__gt=F("indicator__max_points"), then=F("indicator__max_points")),
        default=F("value"),
    )
    aggregates, scores = {}, {}
    for stage in ScoreStage.values:
        at = Q(stage=stage)
        aggregates[f"n_{stage}"] = Count("id", filter=at)
        points = Coalesce(
            Sum(capped, filter=at & Q(indicator__kind=IndicatorKind.POINTS)), Value(Decimal(0))
        )
        bonus = Coalesce(
            Sum(capped, filter=at & Q(indicator__kind=IndicatorKind.BONUS)), Value(Decimal(0))
        )
        score = Round(
            Least(Least(points, most) * scale + Least(bonus, cap_of), Value(HUNDRED)),
            precision=2,
            output_field=cents,
        )
        scored = {f"n_{stage}__gt": 0}
        scores[f"score_{stage}"] = Case(When(**scored, then=score), output_field=cents)
    # GREATEST and LEAST skip NULLs on PostgreSQL but not on SQLite: each missing score is
    # replaced by a present one, which changes neither the largest nor the smallest.
    every = list(scores.values())
    filled = [Coalesce(s, *[o for o in every if o is not s], output_field=cents) for s in every]
    present = sum(
        (Case(When(**{f"n_{s}__gt": 0}, then=1), default=0) for s in ScoreStage.values),
        Value(0),
    )
    return (
        Score.objects.filter(assessment__in=assessments, stage__in=ScoreStage.values)
        .values("assessment_id", "indicator__dimension_id")
        .annotate(**aggregates)
        .annotate(
            **scores,
            stages=present,
            gap=Round(Greatest(*filled) - Least(*filled), precision=2, output_field=cents),
        )
        .filter(stages__gte=2)
        .order_by("-gap", "assessment__unit__code", "indicator__dimension_id")
    )
