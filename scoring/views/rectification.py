"""Rectification (整改): the ledger, one item's steps, its attachments, the printable notice."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from scoring.errors import ScoringError
from scoring.filters import RectificationFilter
from scoring.models import (
    ACTION_BUTTONS,
    SEND_BACK_DAYS,
    Assessment,
    RectificationAction,
    RectificationEvent,
    RectificationItem,
    RectificationStatus,
    overdue_q,
)
from scoring.services import (
    rectification_allowed,
    rectification_step,
)
from scoring.views.base import campaign_or_404, login_required, townships_of
from villages.access import PREFIX_LENGTH, scope_for

# --- rectification --------------------------------------------------------------------------


@login_required
def rectification_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The rectification ledger: filters, overdue marking, counts per township."""
    campaign = campaign_or_404(request.user, slug)
    periods = campaign.periods.order_by("starts_on")
    filters = RectificationFilter(
        request.GET,
        RectificationItem.objects.visible_to(request.user).filter(
            assessment__period__campaign=campaign
        ),
        townships=townships_of(request.user, campaign),
        periods=periods,
    )
    # A village sees its own items only: no summary per township for it.
    show_townships = len(scope_for(request.user).prefix) < PREFIX_LENGTH["unit"]
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
        if show_townships
        else []
    )
    today = timezone.localdate()
    page = Paginator(
        filters.qs.select_related(
            "assessment__unit__township", "assessment__period", "indicator"
        ).order_by("deadline", "id"),
        settings.PAGE_SIZE_LONG,
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
            "show_townships": show_townships,
            "statuses": RectificationStatus.choices,
            "filter": filters,
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

    def __init__(self, *args: Any, truncated: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.truncated = truncated  # the upload handler cut a file part off: never "saved"

    def clean_attachment(self) -> UploadedFile | None:
        upload = self.cleaned_data.get("attachment")
        if self.truncated or (upload and upload.size > settings.EVIDENCE_MAX_BYTES):
            raise forms.ValidationError(too_large_message())
        return upload


def too_large_message() -> str:
    """The one size limit of attachments, as users read it (the stream cut sits a bit above)."""
    return _("The file is larger than %(mb)d MB. Nothing was saved.") % {"mb": evidence_max_mb()}


def evidence_max_mb() -> int:
    return settings.EVIDENCE_MAX_BYTES // 2**20


@login_required
def rectification_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One item: what was lost, who is responsible, its steps, and the next step for this user."""
    item = get_object_or_404(
        RectificationItem.objects.visible_to(request.user).select_related(
            "assessment__unit__township", "assessment__period__campaign", "indicator__dimension"
        ),
        pk=pk,
    )
    form = None
    if request.method == "POST":
        form = RectificationStepForm(
            request.POST, request.FILES, truncated=getattr(request, "upload_truncated", False)
        )
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
        (value, ACTION_BUTTONS[value])
        for value in RectificationAction.values
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
            "proposed_deadline": timezone.localdate() + dt.timedelta(days=SEND_BACK_DAYS),
            "today": timezone.localdate(),
            "max_bytes": settings.EVIDENCE_MAX_BYTES,
            "max_mb": evidence_max_mb(),
        },
    )


@login_required
def rectification_attachment(request: HttpRequest, event_id: int) -> FileResponse:
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
def rectification_notice(request: HttpRequest, assessment_id: int) -> HttpResponse:
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
