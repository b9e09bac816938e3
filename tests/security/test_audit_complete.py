"""Every state-changing view leaves an audit entry naming the user who made the change.

"State-changing" is read from the access matrix: every route that takes a POST there. Each is
mapped here to the rows it must write (model, field naming the user); a POST route without a
mapping fails `test_every_post_route_has_an_audit_mapping`. Each is then called once, by a role
the matrix marks as permitted (+) in township A, with the matrix's valid data, and each mapped
table must gain a row (or a field) naming that user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.db import transaction
from django.test import Client

from tests.factories import PASSWORD
from tests.helpers import celery_eager
from tests.scenarios import SecurityWorld, security_world_build
from tests.security.test_access_matrix import ROLES, ROUTES, logged_in, url_for

USERNAME = object()  # the field holds the username, not a foreign key


@dataclass(frozen=True)
class Audit:
    """Who makes the change, and where it must be recorded: [(model label, field)]."""

    role: str
    writes: tuple[tuple[str, str], ...]
    data: Callable[[SecurityWorld, object, str], dict] | None = None  # instead of the matrix's data
    by_username: bool = False
    signs_in: bool = False  # the POST is made by an anonymous client (login)


AUDIT: dict[str, Audit] = {
    # Sign-in and sign-out are recorded by django-axes (AccessLog: username, time, address).
    "login": Audit(
        "official",
        (("axes.AccessLog", "username"),),
        data=lambda w, p, r: {"username": w.users[r].username, "password": PASSWORD},
        by_username=True,
        signs_in=True,
    ),
    "logout": Audit("official", (("axes.AccessLog", "logout_time"),), by_username=True),
    "scoring:period_list": Audit("county", (("scoring.Period", "opened_by"),)),
    "scoring:bulk_submit": Audit("official", (("scoring.AssessmentEvent", "actor"),)),
    "scoring:sheet_upload": Audit("official", (("scoring.ScoreChange", "changed_by"),)),
    "scoring:entry": Audit("official", (("scoring.ScoreChange", "changed_by"),)),
    "scoring:score_row": Audit("official", (("scoring.ScoreChange", "changed_by"),)),
    "scoring:department_indicators": Audit("department", (("scoring.ScoreChange", "changed_by"),)),
    "scoring:submit": Audit("official", (("scoring.AssessmentEvent", "actor"),)),
    "scoring:return": Audit("official", (("scoring.AssessmentEvent", "actor"),)),
    "scoring:reopen": Audit("county", (("scoring.AssessmentEvent", "actor"),)),
    "scoring:submit_on_behalf": Audit("official", (("scoring.AssessmentEvent", "actor"),)),
    "scoring:evidence_upload": Audit("official", (("scoring.Evidence", "uploaded_by"),)),
    "scoring:adjustment_list": Audit("county", (("scoring.AdjustmentRun", "created_by"),)),
    "scoring:adjustment_confirm": Audit(
        "county",
        (("scoring.AdjustmentRun", "confirmed_by"), ("scoring.HoldingChange", "decided_by")),
    ),
    "scoring:adjustment_override": Audit(
        "county", (("scoring.AdjustmentProposal", "overridden_by"),)
    ),
    "scoring:unit_targets": Audit("official", (("campaigns.UnitTarget", "recommended_by"),)),
    "scoring:rectification_detail": Audit("official", (("scoring.RectificationEvent", "actor"),)),
    "scoring:report_list": Audit("county", (("scoring.ReportRun", "requested_by"),)),
    "scoring:export_start": Audit("secretary", (("scoring.ExportJob", "requested_by"),)),
}
# A second permitted role for the writes whose audit field depends on the role.
EXTRA = {"scoring:unit_targets": Audit("county", (("campaigns.UnitTarget", "decided_by"),))}


def post_routes() -> list[str]:
    return [name for name, entry in ROUTES.items() if entry.post is not None]


def test_every_post_route_has_an_audit_mapping():
    missing = [
        f"POST route {name} has no audit mapping (which table names the user?)"
        for name in post_routes()
        if name not in AUDIT
    ]
    stale = [f"audit mapping {name} names no POST route" for name in AUDIT if name not in ROUTES]
    assert not missing + stale, "\n".join(missing + stale)


def test_each_mapped_role_is_permitted_by_the_matrix():
    for name, audit in [*AUDIT.items(), *EXTRA.items()]:
        place = "-" if ROUTES[name].kwargs is None else "A"
        token = ROUTES[name].post[place].split()[ROLES.index(audit.role)]
        if audit.signs_in:
            continue  # made by an anonymous client; the matrix row is about signed-in users
        assert token.endswith("+") or name == "logout", (name, audit.role, token)
        for label, field in audit.writes:
            apps.get_model(label)._meta.get_field(field)


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    from axes.handlers.proxy import AxesProxyHandler

    AxesProxyHandler.implementation = None
    yield
    AxesProxyHandler.implementation = None


def naming(audit: Audit, label: str, field: str, user) -> int:
    """Rows of the model naming the user in the field (by username: rows of that user with the
    field filled in)."""
    if audit.by_username:
        lookup = {"username": user.username}
        if field != "username":
            lookup[f"{field}__isnull"] = False
    else:
        lookup = {field: user}
    return apps.get_model(label).objects.filter(**lookup).count()


def client_for(name: str, audit: Audit, user) -> Client:
    if audit.signs_in:
        return Client()
    if name == "logout":  # sign in through the login view, so that axes logs the session
        client = Client()
        assert client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
        return client
    return logged_in(user)


@pytest.mark.django_db
def test_every_state_changing_view_records_who_did_it(media, axes_on):
    world = security_world_build()
    problems, checked = [], 0
    with celery_eager():
        for name, audit in [*AUDIT.items(), *EXTRA.items()]:
            entry = ROUTES[name]
            user = world.users[audit.role]
            place = "-" if entry.kwargs is None else "A"
            url = url_for(name, entry, world, place, audit.role)
            data = (audit.data or entry.data)(world, world.places.get(place), audit.role)
            with transaction.atomic():
                client = client_for(name, audit, user)
                before = {w: naming(audit, *w, user) for w in audit.writes}
                response = client.post(url, data)
                if getattr(response, "streaming", False):
                    b"".join(response.streaming_content)
                for write in audit.writes:
                    checked += 1
                    if naming(audit, *write, user) <= before[write]:
                        problems.append(
                            f"{name} by {audit.role} ({response.status_code}): no "
                            f"{write[0]} row names the user in {write[1]}"
                        )
                transaction.set_rollback(True)
    print(f"\naudit: {len(AUDIT)} POST routes, {checked} audit entries checked")
    assert not problems, "\n".join(problems)
