"""Adjustment runs (调旗): propose, look through, override with a reason, confirm."""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Count, F, Q, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from scoring.errors import ScoringError
from scoring.filters import ProposalFilter
from scoring.models import (
    AdjustmentProposal,
    AdjustmentRun,
    Assessment,
    Period,
    ProposalAction,
    Stage,
)
from scoring.services import (
    adjustment_confirm,
    adjustment_override,
    adjustment_propose,
)
from scoring.views.base import login_required, safe_next, townships_of
from villages.models import User
from villages.policy import Action, may

# --- adjustment -----------------------------------------------------------------------------


@login_required
def adjustment_list(request: HttpRequest, slug: str, label: str) -> HttpResponse:
    """The adjustment runs of a period; county staff start a new one for chosen townships."""
    period = get_object_or_404(
        Period.objects.visible_to(request.user).select_related("campaign__region"),
        campaign__slug=slug,
        label=label,
    )
    if not may(request.user, Action.VIEW_DECISIONS):
        raise PermissionDenied
    if request.method == "POST":
        if not may(request.user, Action.ADJUST):
            raise PermissionDenied
        codes = [c for c in request.POST.getlist("townships") if c]
        try:
            run, _proposals, summary = adjustment_propose(
                user=request.user, period=period, township_codes=codes
            )
        except ScoringError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("Proposed for %(u)d units: %(a)d awards, %(w)d withdrawals, %(k)d unchanged.")
                % {
                    "u": summary.units,
                    "a": summary.award,
                    "w": summary.withdraw,
                    "k": summary.keep,
                },
            )
            return redirect("scoring:adjustment_detail", pk=run.pk)
    runs = (
        AdjustmentRun.objects.visible_to(request.user)
        .filter(period=period)
        .select_related("created_by", "confirmed_by")
        .prefetch_related("townships")
        .annotate(
            n=Count("proposals"),
            awards=Count("proposals", filter=Q(proposals__action=ProposalAction.AWARD)),
            withdrawals=Count("proposals", filter=Q(proposals__action=ProposalAction.WITHDRAW)),
        )
    )
    final = Assessment.objects.visible_to(request.user).filter(period=period)
    counts = Counter(final.values_list("stage", flat=True))
    return render(
        request,
        "scoring/adjustment_list.html",
        {
            "period": period,
            "campaign": period.campaign,
            "runs": runs,
            "townships": townships_of(request.user, period.campaign),
            "final_count": counts.get(Stage.FINAL, 0),
            "total_count": sum(counts.values()),
            "can_run": may(request.user, Action.ADJUST),
        },
    )


def _run_or_404(user: User, pk: int) -> AdjustmentRun:
    run = get_object_or_404(
        AdjustmentRun.objects.visible_to(user).select_related("campaign__region", "period"), pk=pk
    )
    if not may(user, Action.VIEW_DECISIONS):
        raise PermissionDenied
    return run


def _decision_counts(run: AdjustmentRun) -> dict[str, int]:
    """{award|keep|withdraw: n} of the run's decisions (the override where there is one)."""
    decided = Case(When(override="", then=F("action")), default=F("override"))
    return dict(
        run.proposals.annotate(decided=decided)
        .values_list("decided")
        .annotate(n=Count("id"))
        .order_by()
    )


@login_required
def adjustment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A run's proposals, filtered by township and decision; confirm all or some, override."""
    run = _run_or_404(request.user, pk)
    proposals = (
        AdjustmentProposal.objects.visible_to(request.user)
        .filter(run=run)
        .select_related("unit__township", "dimension", "overridden_by")
        .order_by("unit__code", "dimension__order")
    )
    filters = ProposalFilter(
        request.GET, proposals, townships=townships_of(request.user, run.campaign)
    )
    summary = _decision_counts(run)
    page = Paginator(filters.qs, settings.PAGE_SIZE_LONG).get_page(request.GET.get("page"))
    return render(
        request,
        "scoring/adjustment_detail.html",
        {
            "run": run,
            "campaign": run.campaign,
            "period": run.period,
            "page": page,
            "summary": summary,
            "back": request.get_full_path(),
            "filter": filters,
            "actions": ProposalAction.choices,
            "can_decide": may(request.user, Action.ADJUST) and run.status == "proposed",
        },
    )


@login_required
@require_POST
def adjustment_confirm_view(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_or_404(request.user, pk)
    if not may(request.user, Action.ADJUST):
        raise PermissionDenied
    ids = None
    if request.POST.get("scope") != "all":
        ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
        if not ids:
            messages.error(request, _("Tick the proposals to confirm, or confirm all."))
            return redirect("scoring:adjustment_detail", pk=run.pk)
    try:
        summary = adjustment_confirm(user=request.user, run=run, proposal_ids=ids)
    except ScoringError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Confirmed: %(a)d awarded, %(w)d withdrawn, %(k)d unchanged.")
            % {"a": summary.award, "w": summary.withdraw, "k": summary.keep},
        )
    return redirect("scoring:adjustment_detail", pk=run.pk)


@login_required
@require_POST
@vary_on_headers("HX-Request")
def adjustment_override_view(request: HttpRequest, pk: int, proposal_id: int) -> HttpResponse:
    """Record one row's decision. With htmx the answer is the row (the error at it, what was
    typed kept) and the summary out of band; without, a redirect back with a message."""
    run = _run_or_404(request.user, pk)
    if not may(request.user, Action.ADJUST):
        raise PermissionDenied
    proposal = get_object_or_404(
        AdjustmentProposal.objects.visible_to(request.user).select_related(
            "unit__township", "dimension", "overridden_by"
        ),
        run=run,
        pk=proposal_id,
    )
    decision = request.POST.get("decision", "")
    reason = request.POST.get("reason", "")
    back = safe_next(request, reverse("scoring:adjustment_detail", args=[run.pk]))
    error = None
    try:
        adjustment_override(user=request.user, proposal=proposal, action=decision, reason=reason)
    except ScoringError as exc:
        error = {"field": exc.field, "message": exc.message}
    if request.htmx:
        return render(
            request,
            "scoring/_proposal_row_response.html",
            {
                "run": run,
                "p": proposal,
                "summary": _decision_counts(run),
                "actions": ProposalAction.choices,
                "can_decide": run.status == "proposed",
                "back": back,
                "error": error,
                "typed": {"decision": decision, "reason": reason} if error else None,
                "saved": error is None,
            },
        )
    if error:
        where = f"{proposal.unit.name} {proposal.dimension.name}"
        messages.error(request, f"{where}: {error['message']}")
    else:
        messages.success(
            request,
            _("%(unit)s %(dim)s: decision recorded.")
            % {"unit": proposal.unit.name, "dim": proposal.dimension.name},
        )
    return redirect(back)
