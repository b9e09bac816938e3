"""Pages about campaigns; the home page (per-role dashboard skeleton) lives here."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render

from campaigns.selectors import campaigns_for_home
from scoring.models import Stage
from scoring.selectors import work_due
from villages.access import scope_for
from villages.models import Unit


@login_required
def home(request):
    """Show who the user acts for, their units at a glance and the campaigns they take part in."""
    user = request.user
    scope = scope_for(user)
    unit_counts = {
        row["kind"]: row["n"]
        for row in Unit.objects.visible_to(user).values("kind").annotate(n=Count("id"))
    }
    context = {
        "scope": scope,
        "place": user.scope_place,
        "unit_counts": unit_counts,
        "unit_total": sum(unit_counts.values()),
        "campaigns": campaigns_for_home(user=user),
        "stages": Stage.choices,
        "due": work_due(user),
    }
    return render(request, "campaigns/home.html", context)
