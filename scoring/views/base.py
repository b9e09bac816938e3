"""What every scoring page starts with: the user logged in (htmx told where to log in), the
object asked for inside the user's scope, or 404."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required as django_login_required
from django.contrib.auth.views import redirect_to_login
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, resolve_url
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from campaigns.models import Campaign
from scoring.errors import InputErrors, ScoringError, StaleScores
from scoring.models import (
    Assessment,
    Period,
)
from villages.models import Region, User


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware (django-htmx's typing advice)."""

    htmx: HtmxDetails


View = Callable[..., HttpResponse]


def login_required(view: View) -> View:
    """Django's login_required, except for an htmx request of a logged-out user (an expired
    session while a row is saved or a status polled): a 302 to the login page would be
    followed by htmx and the login form swapped into the row. The answer is then an
    HX-Redirect, so the browser itself goes to the login page, with `next` the page it shows.
    Both answers vary with HX-Request.
    """
    protected = django_login_required(view)

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if request.htmx:
            # The page the browser shows (sent by htmx as HX-Current-URL), if on this site.
            shown = request.htmx.current_url_abs_path
            if shown is None and request.method == "GET":
                shown = request.get_full_path()
            login = redirect_to_login(shown).url if shown else resolve_url(settings.LOGIN_URL)
            response: HttpResponse = HttpResponseClientRedirect(login)
        else:
            response = protected(request, *args, **kwargs)
        patch_vary_headers(response, ("HX-Request",))
        return response

    return wrapper


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The `next` address posted with a form, if it stays on this site; else the fallback."""
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return fallback


def period_or_404(user: User, slug: str, label: str) -> Period:
    return get_object_or_404(
        Period.objects.visible_to(user).select_related("campaign__region"),
        campaign__slug=slug,
        label=label,
    )


def assessment_or_404(user: User, pk: int) -> Assessment:
    return get_object_or_404(
        Assessment.objects.visible_to(user).select_related(
            "unit__township", "period__campaign__region", "finalised_by", "returned_by"
        ),
        pk=pk,
    )


def campaign_or_404(user: User, slug: str) -> Campaign:
    return get_object_or_404(Campaign.objects.visible_to(user).select_related("region"), slug=slug)


def townships_of(user: User, campaign: Campaign) -> QuerySet[Region]:
    return (
        Region.objects.visible_to(user)
        .townships()
        .filter(code__startswith=campaign.region.prefix)
        .order_by("code")
    )


def apply_service_errors(forms: dict, exc: ScoringError, *, by: str) -> None:
    """Put what `scores_save` refused next to the row it concerns.

    `forms` are keyed by indicator id (one assessment's sheet) or by assessment id (one
    indicator across units), as `by` says. A stale score shows its current value and takes
    its version, so that saving again deliberately overwrites it.
    """

    def form_of(assessment_id: int, indicator_id: int) -> Any:
        return forms.get(indicator_id if by == "indicator" else assessment_id)

    if isinstance(exc, InputErrors):
        for (assessment_id, indicator_id), errors in exc.errors.items():
            form = form_of(assessment_id, indicator_id)
            for name, message in errors:
                if form is not None:
                    form.add_error(name if name in form.fields else None, message)
    elif isinstance(exc, StaleScores):
        for stale in exc.stale:
            form = form_of(stale.assessment_id, stale.indicator_id)
            if form is None:
                continue
            current = stale.current
            form.stale = current
            data = form.data.copy()
            data[f"{form.prefix}-version"] = str(current.version if current and current.pk else 0)
            form.data = data
            form.add_error(None, _("Changed by someone else meanwhile; see the current value."))
