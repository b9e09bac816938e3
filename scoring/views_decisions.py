"""Decision and follow-up pages: adjustment (调旗), targets, rankings (赛马), rectification
(整改, 销号), dashboards, and the public showcase (展旗).

Everything is cut to the user's scope through `visible_to`; only the showcase is public, and it
shows unit names and levels, nothing personal.
"""

from __future__ import annotations

import os
from collections import Counter

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from campaigns.models import Campaign, CampaignStatus, LevelTarget
from campaigns.services import unit_targets_set
from scoring.errors import ScoringError
from scoring.models import (
    AdjustmentProposal,
    AdjustmentRun,
    Assessment,
    Period,
    ProposalAction,
    RectificationAction,
    RectificationEvent,
    RectificationItem,
    RectificationStatus,
    Stage,
    overdue_q,
)
from scoring.selectors import (
    effective_and_slow,
    level_distribution,
    rankings,
    targets_by_township,
)
from scoring.services import (
    adjustment_confirm,
    adjustment_override,
    adjustment_propose,
    rectification_allowed,
    rectification_step,
)
from scoring.views import safe_next
from villages.errors import Refused
from villages.models import Region, Role, Unit

PAGE_SIZE = 100


def _campaign_or_404(user, slug: str) -> Campaign:
    return get_object_or_404(Campaign.objects.visible_to(user).select_related("region"), slug=slug)


def _is_county(user) -> bool:
    return user.is_superuser or user.role == Role.COUNTY_STAFF


def _townships(user, campaign):
    return (
        Region.objects.visible_to(user)
        .townships()
        .filter(code__startswith=campaign.region.prefix)
        .order_by("code")
    )


# --- adjustment -----------------------------------------------------------------------------


@login_required
def adjustment_list(request, slug: str, label: str):
    """The adjustment runs of a period; county staff start a new one for chosen townships."""
    period = get_object_or_404(
        Period.objects.visible_to(request.user).select_related("campaign__region"),
        campaign__slug=slug,
        label=label,
    )
    if request.user.role not in (Role.COUNTY_STAFF, Role.LEADER) and not request.user.is_superuser:
        raise PermissionDenied
    if request.method == "POST":
        if not _is_county(request.user):
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
            "townships": _townships(request.user, period.campaign),
            "final_count": counts.get(Stage.FINAL, 0),
            "total_count": sum(counts.values()),
            "can_run": _is_county(request.user),
        },
    )


def _run_or_404(user, pk: int) -> AdjustmentRun:
    run = get_object_or_404(
        AdjustmentRun.objects.visible_to(user).select_related("campaign__region", "period"), pk=pk
    )
    if user.role not in (Role.COUNTY_STAFF, Role.LEADER) and not user.is_superuser:
        raise PermissionDenied
    return run


@login_required
def adjustment_detail(request, pk: int):
    """A run's proposals, filtered by township and decision; confirm all or some, override."""
    run = _run_or_404(request.user, pk)
    proposals = (
        AdjustmentProposal.objects.visible_to(request.user)
        .filter(run=run)
        .select_related("unit__township", "dimension", "overridden_by")
    )
    township = request.GET.get("township", "")
    action = request.GET.get("action", "changes")
    if township:
        proposals = proposals.filter(unit__township__code=township)
    if action == "changes":
        proposals = proposals.filter(
            Q(action__in=[ProposalAction.AWARD, ProposalAction.WITHDRAW]) | ~Q(override="")
        )
    elif action in ProposalAction.values:
        proposals = proposals.filter(Q(action=action, override="") | Q(override=action))
    proposals = proposals.order_by("unit__code", "dimension__order")
    summary = dict(run.proposals.values_list("action").annotate(n=Count("id")).order_by())
    page = Paginator(proposals, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "scoring/adjustment_detail.html",
        {
            "run": run,
            "campaign": run.campaign,
            "period": run.period,
            "page": page,
            "summary": summary,
            "townships": _townships(request.user, run.campaign),
            "township": township,
            "action": action,
            "actions": ProposalAction.choices,
            "can_decide": _is_county(request.user) and run.status == "proposed",
        },
    )


@login_required
@require_POST
def adjustment_confirm_view(request, pk: int):
    run = _run_or_404(request.user, pk)
    if not _is_county(request.user):
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
def adjustment_override_view(request, pk: int, proposal_id: int):
    run = _run_or_404(request.user, pk)
    if not _is_county(request.user):
        raise PermissionDenied
    proposal = get_object_or_404(
        AdjustmentProposal.objects.visible_to(request.user).select_related("unit", "dimension"),
        run=run,
        pk=proposal_id,
    )
    try:
        adjustment_override(
            user=request.user,
            proposal=proposal,
            action=request.POST.get("decision", ""),
            reason=request.POST.get("reason", ""),
        )
    except ScoringError as exc:
        messages.error(request, f"{proposal.unit.name} {proposal.dimension.name}: {exc.message}")
    else:
        messages.success(
            request,
            _("%(unit)s %(dim)s: decision recorded.")
            % {"unit": proposal.unit.name, "dim": proposal.dimension.name},
        )
    return redirect(safe_next(request, reverse("scoring:adjustment_detail", args=[run.pk])))


# --- targets and rankings -------------------------------------------------------------------


@login_required
def targets(request, slug: str):
    """County targets per level against the units holding each level now, and per township."""
    campaign = _campaign_or_404(request.user, slug)
    distribution = level_distribution(campaign, request.user)
    county_targets = dict(
        LevelTarget.objects.filter(campaign=campaign, region=campaign.region).values_list(
            "level", "count"
        )
    )
    top = max([*distribution, *county_targets, 5])
    levels = [
        (level, distribution.get(level, 0), county_targets.get(level))
        for level in range(top, -1, -1)
    ]
    rows = targets_by_township(campaign, request.user)
    for row in rows:
        row["pairs"] = list(zip(row["actual"][::-1], row["target"][::-1], strict=True))
    return render(
        request,
        "scoring/targets.html",
        {
            "campaign": campaign,
            "levels": levels,
            "rows": rows,
            "level_headers": list(range(len(rows[0]["actual"]) - 1, -1, -1)) if rows else [],
        },
    )


@login_required
def unit_targets(request, slug: str):
    """Each unit's target level (荐旗): townships recommend, the county decides."""
    from campaigns.models import UnitTarget

    campaign = _campaign_or_404(request.user, slug)
    user = request.user
    field = (
        "decided"
        if (user.is_superuser or user.role == Role.COUNTY_STAFF)
        else "recommended"
        if user.role == Role.TOWNSHIP_OFFICIAL
        else None
    )
    units = (
        Unit.objects.visible_to(user)
        .active()
        .filter(code__startswith=campaign.region.prefix)
        .select_related("township")
        .order_by("code")
    )
    township = request.GET.get("township", "")
    if township:
        units = units.filter(township__code=township)
    page = Paginator(units, PAGE_SIZE).get_page(request.GET.get("page"))
    if request.method == "POST":
        if field is None:
            raise PermissionDenied
        levels, bad = {}, False
        for unit in page:
            raw = request.POST.get(f"level-{unit.pk}", "")
            if raw == "":
                levels[unit.pk] = None
            elif raw.isdigit():
                levels[unit.pk] = int(raw)
            else:
                bad = True
        if bad:
            messages.error(request, _("A target level is a whole number."))
        else:
            try:
                n = unit_targets_set(user=user, campaign=campaign, levels=levels, field=field)
            except Refused as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Saved: %(n)d targets changed.") % {"n": n})
                return redirect(request.get_full_path())
    targets = {
        t.unit_id: t
        for t in UnitTarget.objects.filter(campaign=campaign, unit__in=list(page)).select_related(
            "recommended_by", "decided_by"
        )
    }
    from scoring.selectors import unit_levels

    levels_now = unit_levels(campaign, user)
    rows = [(u, targets.get(u.pk), levels_now.get(u.pk, 0)) for u in page]
    top = campaign.dimensions.count() or 5
    return render(
        request,
        "scoring/unit_targets.html",
        {
            "campaign": campaign,
            "rows": rows,
            "page": page,
            "field": field,
            "choices": list(range(top, -1, -1)),
            "townships": _townships(user, campaign),
            "township": township,
        },
    )


@login_required
def ranking(request, slug: str, label: str):
    """Townships by average final score and by levels held (赛马); units within a township;
    the period's effective and slow units."""
    period = get_object_or_404(
        Period.objects.visible_to(request.user).select_related("campaign__region"),
        campaign__slug=slug,
        label=label,
    )
    township_rows, unit_rows = rankings(period, request.user)
    effective, slow = effective_and_slow(period.campaign, unit_rows)
    township = request.GET.get("township", "")
    shown_units = [r for r in unit_rows if not township or r.unit.township.code == township]
    return render(
        request,
        "scoring/ranking.html",
        {
            "period": period,
            "campaign": period.campaign,
            "township_rows": township_rows,
            "by_held": sorted(
                township_rows, key=lambda t: (-t.held / max(t.units, 1), t.township.code)
            ),
            "unit_page": Paginator(shown_units, PAGE_SIZE).get_page(request.GET.get("page")),
            "township": township,
            "townships": _townships(request.user, period.campaign),
            "effective": effective,
            "slow": slow,
            "periods": period.campaign.periods.order_by("starts_on"),
        },
    )


# --- rectification --------------------------------------------------------------------------


@login_required
def rectification_list(request, slug: str):
    """The rectification ledger: filters, overdue marking, counts per township."""
    campaign = _campaign_or_404(request.user, slug)
    items = RectificationItem.objects.visible_to(request.user).filter(
        assessment__period__campaign=campaign
    )
    status = request.GET.get("status", "active")
    township = request.GET.get("township", "")
    label = request.GET.get("period", "")
    overdue_only = request.GET.get("overdue") == "1"
    if status == "active":
        items = items.exclude(status=RectificationStatus.CLOSED)
    elif status in RectificationStatus.values:
        items = items.filter(status=status)
    if township:
        items = items.filter(assessment__unit__township__code=township)
    if label:
        items = items.filter(assessment__period__label=label)
    if overdue_only:
        items = items.filter(overdue_q())
    per_township = (
        RectificationItem.objects.visible_to(request.user)
        .filter(assessment__period__campaign=campaign)
        .values("assessment__unit__township__name", "assessment__unit__township__code")
        .annotate(
            open=Count("id", filter=Q(status=RectificationStatus.OPEN)),
            reported=Count("id", filter=Q(status=RectificationStatus.REPORTED)),
            verified=Count("id", filter=Q(status=RectificationStatus.VERIFIED)),
            closed=Count("id", filter=Q(status=RectificationStatus.CLOSED)),
            overdue=Count("id", filter=overdue_q()),
        )
        .order_by("assessment__unit__township__code")
    )
    today = timezone.localdate()
    page = Paginator(
        items.select_related(
            "assessment__unit__township", "assessment__period", "indicator"
        ).order_by("deadline", "id"),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    for item in page:
        item.overdue = item.is_overdue(today)
    return render(
        request,
        "scoring/rectification_list.html",
        {
            "campaign": campaign,
            "page": page,
            "per_township": per_township,
            "statuses": RectificationStatus.choices,
            "filters": {
                "status": status,
                "township": township,
                "period": label,
                "overdue": overdue_only,
            },
            "townships": _townships(request.user, campaign),
            "periods": campaign.periods.order_by("starts_on"),
        },
    )


class RectificationStepForm(forms.Form):
    action = forms.ChoiceField(choices=RectificationAction.choices, widget=forms.HiddenInput)
    responsible_person = forms.CharField(
        label=gettext_lazy("responsible person"), max_length=64, required=False
    )
    measure = forms.CharField(
        label=gettext_lazy("measure"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    deadline = forms.DateField(
        label=gettext_lazy("deadline"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    note = forms.CharField(
        label=gettext_lazy("note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    attachment = forms.FileField(label=gettext_lazy("attachment"), required=False)

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        if upload and upload.size > 10 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 10 MB."))
        return upload


@login_required
def rectification_detail(request, pk: int):
    """One item: what was lost, who is responsible, its steps, and the next step for this user."""
    item = get_object_or_404(
        RectificationItem.objects.visible_to(request.user).select_related(
            "assessment__unit__township", "assessment__period__campaign", "indicator__dimension"
        ),
        pk=pk,
    )
    form = None
    if request.method == "POST":
        form = RectificationStepForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                rectification_step(
                    user=request.user,
                    item_id=item.pk,
                    action=data["action"],
                    note=data["note"],
                    responsible_person=data["responsible_person"],
                    measure=data["measure"],
                    deadline=data["deadline"],
                    attachment=data.get("attachment"),
                )
            except ScoringError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Saved."))
                return redirect("scoring:rectification_detail", pk=item.pk)
    allowed = [
        (value, label)
        for value, label in RectificationAction.choices
        if rectification_allowed(request.user, item, value)
    ]
    item.overdue = item.is_overdue()
    return render(
        request,
        "scoring/rectification_detail.html",
        {
            "item": item,
            "events": item.events.select_related("actor").order_by("at", "id"),
            "allowed": allowed,
            "form": form,
            "posted_action": form.data.get("action") if form else "",
        },
    )


@login_required
def rectification_attachment(request, event_id: int):
    """Download a file reported with a rectification step, for users who can see the item."""
    event = get_object_or_404(
        RectificationEvent.objects.filter(
            item__in=RectificationItem.objects.visible_to(request.user)
        ).exclude(attachment=""),
        pk=event_id,
    )
    return FileResponse(
        event.attachment.open("rb"),
        as_attachment=True,
        filename=os.path.basename(event.attachment.name),
    )


@login_required
def rectification_notice(request, assessment_id: int):
    """A printable rectification notice (整改通知单) for one unit and period."""
    assessment = get_object_or_404(
        Assessment.objects.visible_to(request.user).select_related(
            "unit__township__parent", "period__campaign"
        ),
        pk=assessment_id,
    )
    items = (
        RectificationItem.objects.filter(assessment=assessment)
        .exclude(status=RectificationStatus.CLOSED)
        .select_related("indicator__dimension")
        .order_by("indicator__dimension__order", "indicator__order")
    )
    return render(
        request,
        "scoring/rectification_notice.html",
        {"assessment": assessment, "items": items, "today": timezone.localdate()},
    )


# --- dashboard and showcase -----------------------------------------------------------------


@login_required
def dashboard(request, slug: str):
    """County staff and leaders: levels against targets, progress by stage, rankings,
    rectification status, with charts."""
    if not (request.user.is_superuser or request.user.role in (Role.COUNTY_STAFF, Role.LEADER)):
        raise PermissionDenied
    campaign = _campaign_or_404(request.user, slug)
    period = campaign.periods.order_by("-starts_on").first()
    final_period = (
        campaign.periods.filter(assessments__stage=Stage.FINAL)
        .distinct()
        .order_by("-starts_on")
        .first()
    )
    distribution = level_distribution(campaign, request.user)
    county_targets = dict(
        LevelTarget.objects.filter(campaign=campaign, region=campaign.region).values_list(
            "level", "count"
        )
    )
    top = max([*distribution, *county_targets, 5])
    level_axis = list(range(top, -1, -1))
    stage_counts = {}
    if period:
        stage_counts = dict(
            Assessment.objects.visible_to(request.user)
            .filter(period=period)
            .values_list("stage")
            .annotate(n=Count("id"))
            .order_by()
        )
    township_rows, unit_rows = rankings(final_period, request.user) if final_period else ([], [])
    rect = dict(
        RectificationItem.objects.visible_to(request.user)
        .filter(assessment__period__campaign=campaign)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    overdue = (
        RectificationItem.objects.visible_to(request.user)
        .filter(assessment__period__campaign=campaign)
        .filter(overdue_q())
        .count()
    )
    word = _("flags") if campaign.scheme == "flag" else _("stars")
    charts = {
        "levels": {
            "categories": [f"{n}" for n in level_axis],
            "actual": [distribution.get(n, 0) for n in level_axis],
            "target": [county_targets.get(n) for n in level_axis],
            "labels": {"actual": _("Now"), "target": _("Target"), "axis": word},
        },
        "stages": [
            {"name": str(Stage(s).label), "value": stage_counts.get(s, 0)}
            for s in campaign.stage_order()
        ],
        "townships": {
            "names": [t.township.name for t in township_rows],
            "averages": [
                float(t.average) if t.average is not None else None for t in township_rows
            ],
            "label": _("Average final score"),
        },
        "rectification": [
            {"name": str(RectificationStatus(s).label), "value": rect.get(s, 0)}
            for s in RectificationStatus.values
        ],
    }
    return render(
        request,
        "scoring/dashboard.html",
        {
            "campaign": campaign,
            "period": period,
            "final_period": final_period,
            "charts": charts,
            "levels": [(n, distribution.get(n, 0), county_targets.get(n)) for n in level_axis],
            "stage_counts": [
                (str(Stage(s).label), stage_counts.get(s, 0)) for s in campaign.stage_order()
            ],
            "top_townships": township_rows[:5],
            "bottom_units": [r for r in unit_rows if r.total is not None][-10:][::-1],
            "rect": [
                (str(RectificationStatus(s).label), rect.get(s, 0))
                for s in RectificationStatus.values
            ],
            "overdue": overdue,
        },
    )


def showcase(request, slug: str):
    """Public, read-only (展旗): the units at each level per township. No personal data."""
    campaign = get_object_or_404(
        Campaign.objects.exclude(status=CampaignStatus.DRAFT).select_related("region"), slug=slug
    )
    from scoring.selectors import unit_levels

    levels = unit_levels(campaign)
    units = (
        Unit.objects.active()
        .filter(code__startswith=campaign.region.prefix)
        .select_related("township")
        .only("name", "kind", "township__name", "township__code")
        .order_by("township__code", "name")
    )
    held = {}
    for u in units:
        level = levels.get(u.id, 0)
        if level:
            held.setdefault(u.township, {}).setdefault(level, []).append(u.name)
    top = max(levels.values(), default=0)
    rows = [
        {"township": t.name, "levels": [(lvl, by_level.get(lvl, [])) for lvl in range(top, 0, -1)]}
        for t, by_level in held.items()
    ]
    totals = Counter(levels.values())
    return render(
        request,
        "scoring/showcase.html",
        {
            "campaign": campaign,
            "rows": rows,
            "totals": [(lvl, totals.get(lvl, 0)) for lvl in range(top, 0, -1)],
            "updated": timezone.localdate(),
        },
    )
