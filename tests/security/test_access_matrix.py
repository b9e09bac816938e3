"""Every named route × every role × an object inside and outside the township-A users' scope.

The routes are read from the URL configuration, not listed by hand: a route added without an
entry in ROUTES fails `test_every_route_has_an_access_matrix_entry`. Each entry says how to
build the route's arguments for an object of a place (the security pair of tests/scenarios.py:
`A` is inside the township-A users' scope, `B` another township of the same county, `Y` another
county) and the exact answer each role gets there, for GET and, where the route takes a POST,
for POST.

Answers, one token per role in ROLES order (anonymous, secretary, official, county,
department, leader, superuser):
    L     302 to the login page            200 / 403 / 404 / 405   exactly that status
    302   a redirect elsewhere             a trailing +            the POST must change the
                                                                   database (permitted role);
                                                                   without it nothing may change
A POST never answers 500, and a POST by a role without + leaves every table of the project's
apps (and the media folder) exactly as it was. Each permitted POST is rolled back afterwards,
so every request sees the same world.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.helpers import celery_eager
from tests.scenarios import PDF, PLACES, ROLES, Place, SecurityWorld, security_world_build

SKIPPED_PREFIXES = ("admin/", "i18n/", "static/", "media/")
LOGIN = "/accounts/login/"
PROJECT_APPS = ("villages", "campaigns", "scoring")
# Signing in stamps the user; that is the session's business, not a change a POST made.
NOT_STATE = {"villages.User": {"last_login"}}

Kwargs = Callable[[SecurityWorld, Place, str], dict]


@dataclass(frozen=True)
class Entry:
    """How to call one route, and what each role gets per place ("-": a route without object)."""

    get: dict[str, str]
    kwargs: Kwargs | None = None
    post: dict[str, str] | None = None
    data: Kwargs | None = None


def same(tokens: str, *places: str) -> dict[str, str]:
    return dict.fromkeys(places, tokens)


NONE = ("-",)
ALL_IN = "L 200 200 200 200 200 200"
ONE_UNIT = {  # an object of one unit: township A's users find only their own
    "A": ALL_IN,
    "B": "L 404 404 200 200 200 200",
    "Y": "L 404 404 404 404 404 200",
}
CAMPAIGN_WIDE = {**same(ALL_IN, "A", "B"), "Y": "L 404 404 404 404 404 200"}
CAMPAIGN_REDIRECT = {
    **same("L 302 302 302 302 302 302", "A", "B"),
    "Y": "L 404 404 404 404 404 302",
}
POST_ONLY = same("L 405 405 405 405 405 405", *PLACES)
COUNTY_PAGES = {  # county staff and leaders; the object is looked up first
    **same("L 403 403 200 403 200 200", "A", "B"),
    "Y": "L 404 404 404 404 404 200",
}
COUNTY_PAGES_ROLE_FIRST = {  # the role is checked before the object is looked up
    **same("L 403 403 200 403 200 200", "A", "B"),
    "Y": "L 403 403 404 403 404 200",
}
COUNTY_WRITES = {
    **same("L 403 403 302+ 403 403 302+", "A", "B"),
    "Y": "L 404 404 404 404 404 302+",
}
# Writes of the township stage on one assessment: the official of A (and a superuser) only;
# everyone else who can see it is turned away with a message, and nothing changes.
TOWNSHIP_WRITES = {
    "A": "L 302 302+ 302 302 302 302+",
    "B": "L 404 404 302 302 302 302+",
    "Y": "L 404 404 404 404 404 302+",
}


def campaign(w, p, r):
    return {"slug": p.campaign.slug}


def current(w, p, r):
    return {"slug": p.campaign.slug, "label": p.current.label}


def past(w, p, r):
    return {"slug": p.campaign.slug, "label": p.past.label}


def assessment(w, p, r):
    return {"pk": p.assessment.pk}


def row(w, p, r):
    return {"pk": p.assessment.pk, "indicator_id": p.indicator.pk}


def job(w, p, r):
    """Inside: the user's own export; B: township B's official's; Y: county Y's staff's."""
    if p.key == "A":
        return {"pk": w.job_of(w.users[r] or w.users["county"]).pk}
    owner = p.official if p.key == "B" else p.county_staff
    return {"pk": w.job_of(owner).pk}


def score_form(w, p, r):
    prefix = f"i{p.indicator.pk}"
    return {f"{prefix}-value": "55", f"{prefix}-note": "台账缺两页", f"{prefix}-version": "1"}


def login_form(w, p, r):
    return {"username": w.users[r].username if w.users[r] else "nobody", "password": "wrong"}


ROUTES: dict[str, Entry] = {
    "home": Entry(get={"-": ALL_IN}),
    "login": Entry(
        get={"-": "200 200 200 200 200 200 200"},
        post={"-": "200 200 200 200 200 200 200"},
        data=login_form,
    ),
    "logout": Entry(
        get={"-": "405 405 405 405 405 405 405"},
        post={"-": "L L L L L L L"},
        data=lambda w, p, r: {},
    ),
    "showcase": Entry(  # public (展旗): names and levels only, for any non-draft campaign
        kwargs=campaign, get=same("200 200 200 200 200 200 200", *PLACES)
    ),
    "villages:unit_list": Entry(get={"-": ALL_IN}),
    "villages:unit_detail": Entry(kwargs=lambda w, p, r: {"pk": p.unit.pk}, get=ONE_UNIT),
    "scoring:period_list": Entry(
        kwargs=campaign,
        get=CAMPAIGN_WIDE,
        post=COUNTY_WRITES,
        data=lambda w, p, r: {
            "label": "2026Q4",
            "starts_on": "2026-10-01",
            "ends_on": "2026-12-31",
        },
    ),
    "scoring:work_list": Entry(kwargs=current, get=CAMPAIGN_WIDE),
    # The menu's links to a campaign's page of its default period: redirects (issue 12).
    "scoring:work_current": Entry(kwargs=campaign, get=CAMPAIGN_REDIRECT),
    "scoring:ranking_latest": Entry(kwargs=campaign, get=CAMPAIGN_REDIRECT),
    "scoring:adjustments_latest": Entry(
        kwargs=campaign,
        get={
            **same("L 403 403 302 403 302 302", "A", "B"),
            "Y": "L 403 403 404 403 404 302",
        },
    ),
    "scoring:bulk_submit": Entry(
        kwargs=current,
        get=POST_ONLY,
        post={
            "A": "L 302 302+ 302 302 302 302+",
            "B": "L 302 302 302 302 302 302+",  # B's unit is not among A's: nothing to submit
            "Y": "L 404 404 404 404 404 302+",
        },
        data=lambda w, p, r: {"ids": [str(p.assessment.pk)]},
    ),
    "scoring:gaps": Entry(kwargs=current, get=CAMPAIGN_WIDE),
    # A lead department's indicators across units (issue 12): the period is looked up first.
    # The POST scores the led indicator of the place's county-stage unit (the period is shared
    # by A and B, so B's unit is on the same page for county X's department).
    "scoring:department_indicators": Entry(
        kwargs=current,
        get={
            **same("L 403 403 403 200 403 200", "A", "B"),
            "Y": "L 404 404 404 404 404 200",
        },
        post={
            **same("L 403 403 403 302+ 403 302+", "A", "B"),
            "Y": "L 404 404 404 404 404 302+",
        },
        data=lambda w, p, r: {
            "indicator": str(p.led.pk),
            f"a{p.county_stage.pk}-value": "30",
            f"a{p.county_stage.pk}-note": "台账不全",
            f"a{p.county_stage.pk}-version": "0",
        },
    ),
    "scoring:department_current": Entry(  # the menu's link: the role is asked first
        kwargs=campaign,
        get={
            **same("L 403 403 403 302 403 302", "A", "B"),
            "Y": "L 403 403 403 404 403 302",
        },
    ),
    "scoring:sheet_template": Entry(
        kwargs=current,
        get={**same("L 200 200 200 200 403 200", "A", "B"), "Y": "L 404 404 404 404 404 200"},
    ),
    "scoring:sheet_upload": Entry(
        kwargs=current,
        get=CAMPAIGN_WIDE,
        # The file decides what is written; whoever may not write it gets the error list.
        post={
            "A": "L 200 200+ 200 200 200 200+",
            "B": "L 200 200 200 200 200 200+",
            "Y": "L 404 404 404 404 404 200+",
        },
        data=lambda w, p, r: {"file": SimpleUploadedFile("评分表.xlsx", p.template)},
    ),
    "scoring:entry": Entry(kwargs=assessment, get=ONE_UNIT, post=TOWNSHIP_WRITES, data=score_form),
    "scoring:score_row": Entry(
        kwargs=row,
        get=POST_ONLY,
        post={
            "A": "L 403 200+ 403 403 403 200+",
            "B": "L 404 404 403 403 403 200+",
            "Y": "L 404 404 404 404 404 200+",
        },
        data=score_form,
    ),
    "scoring:submit": Entry(
        kwargs=assessment, get=POST_ONLY, post=TOWNSHIP_WRITES, data=lambda w, p, r: {}
    ),
    "scoring:return": Entry(
        kwargs=assessment,
        get=POST_ONLY,
        post=TOWNSHIP_WRITES,
        data=lambda w, p, r: {"reason": "材料不全，请补充"},
    ),
    "scoring:reopen": Entry(  # the final one of 2026Q2: county staff only, with a reason
        kwargs=lambda w, p, r: {"pk": p.final.pk},
        get=POST_ONLY,
        post={
            "A": "L 302 302 302+ 302 302 302+",
            "B": "L 404 404 302+ 302 302 302+",
            "Y": "L 404 404 404 404 404 302+",
        },
        data=lambda w, p, r: {"reason": "复核发现计分错误，重新审评"},
    ),
    # 代村提交: the place's other unit, at the self stage with nothing scored.
    "scoring:submit_on_behalf": Entry(
        kwargs=lambda w, p, r: {"pk": p.silent.pk},
        get=POST_ONLY,
        post={
            "A": "L 404 302+ 302 302 302 302+",  # the secretary is another unit's
            "B": "L 404 404 302 302 302 302+",
            "Y": "L 404 404 404 404 404 302+",
        },
        data=lambda w, p, r: {"reason": "村里未按期自评"},
    ),
    "scoring:history": Entry(kwargs=assessment, get=ONE_UNIT),
    "scoring:evidence_upload": Entry(
        kwargs=row,
        get=POST_ONLY,
        post=TOWNSHIP_WRITES,
        data=lambda w, p, r: {"stage": "township", "file": SimpleUploadedFile("证明.pdf", PDF)},
    ),
    "scoring:evidence_list": Entry(kwargs=row, get=ONE_UNIT),
    "scoring:evidence_download": Entry(
        kwargs=lambda w, p, r: {"evidence_id": p.evidence.pk}, get=ONE_UNIT
    ),
    "scoring:adjustment_list": Entry(
        kwargs=past, get=COUNTY_PAGES, post=COUNTY_WRITES, data=lambda w, p, r: {}
    ),
    "scoring:adjustment_detail": Entry(kwargs=lambda w, p, r: {"pk": p.run.pk}, get=COUNTY_PAGES),
    "scoring:adjustment_confirm": Entry(
        kwargs=lambda w, p, r: {"pk": p.run.pk},
        get=POST_ONLY,
        post=COUNTY_WRITES,
        data=lambda w, p, r: {"scope": "all"},
    ),
    "scoring:adjustment_override": Entry(
        kwargs=lambda w, p, r: {"pk": p.run.pk, "proposal_id": p.proposal.pk},
        get=POST_ONLY,
        post=COUNTY_WRITES,
        data=lambda w, p, r: {"decision": "keep", "reason": "复核后维持"},
    ),
    "scoring:targets": Entry(kwargs=campaign, get=CAMPAIGN_WIDE),
    "scoring:unit_targets": Entry(
        kwargs=campaign,
        get=CAMPAIGN_WIDE,
        # The form saves the user's whole page: the township's own units (recommended level),
        # the county's (decided level). B's unit is not on township A's page, so the official's
        # post for it writes nothing (blank rows are not stored).
        post={
            "A": "L 403 302+ 302+ 403 403 302+",
            "B": "L 403 302 302+ 403 403 302+",
            "Y": "L 404 404 404 404 404 302+",
        },
        data=lambda w, p, r: {f"level-{p.unit.pk}": "1"},
    ),
    "scoring:ranking": Entry(kwargs=past, get=CAMPAIGN_WIDE),
    "scoring:rectification_list": Entry(kwargs=campaign, get=CAMPAIGN_WIDE),
    "scoring:rectification_detail": Entry(
        kwargs=lambda w, p, r: {"pk": p.item.pk},
        get=ONE_UNIT,
        # Assigning is for the township and the county; others get the form back with the error.
        post={
            "A": "L 200 302+ 302+ 200 200 302+",
            "B": "L 404 404 302+ 200 200 302+",
            "Y": "L 404 404 404 404 404 302+",
        },
        data=lambda w, p, r: {
            "action": "assign",
            "responsible_person": "王主任",
            "measure": "补齐会议记录",
            "deadline": "2026-12-31",
        },
    ),
    "scoring:rectification_attachment": Entry(
        kwargs=lambda w, p, r: {"event_id": p.event.pk}, get=ONE_UNIT
    ),
    "scoring:rectification_notice": Entry(
        kwargs=lambda w, p, r: {"assessment_id": p.final.pk}, get=ONE_UNIT
    ),
    # Lead departments read the dashboard (issue 12), but not the adjustments.
    "scoring:dashboard": Entry(
        kwargs=campaign,
        get={
            **same("L 403 403 200 200 200 200", "A", "B"),
            "Y": "L 403 403 404 404 404 200",
        },
    ),
    "scoring:report_list": Entry(
        kwargs=campaign,
        get=COUNTY_PAGES,
        post=COUNTY_WRITES,
        data=lambda w, p, r: {"month": "2026-09"},
    ),
    "scoring:report_detail": Entry(
        kwargs=lambda w, p, r: {"pk": p.report.pk}, get=COUNTY_PAGES_ROLE_FIRST
    ),
    "scoring:report_download": Entry(
        kwargs=lambda w, p, r: {"pk": p.report.pk}, get=COUNTY_PAGES_ROLE_FIRST
    ),
    "scoring:export_start": Entry(
        kwargs=campaign,
        get=POST_ONLY,
        # Anyone may export what they can see; the file is cut to their scope.
        post={
            **same("L 302+ 302+ 302+ 302+ 302+ 302+", "A", "B"),
            "Y": "L 404 404 404 404 404 302+",
        },
        data=lambda w, p, r: {"kind": "roster", "background": "1"},
    ),
    "scoring:export_detail": Entry(
        kwargs=job, get={"A": ALL_IN, **same("L 404 404 404 404 404 404", "B", "Y")}
    ),
    "scoring:export_download": Entry(
        kwargs=job, get={"A": ALL_IN, **same("L 404 404 404 404 404 404", "B", "Y")}
    ),
    "scoring:downloads": Entry(get={"-": ALL_IN}),
}


# --- walking the URL configuration ----------------------------------------------------------


def named_routes() -> dict[str, str]:
    """Every named route of the project as {namespaced name: pattern}, without the skipped ones."""
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if text.startswith(SKIPPED_PREFIXES):
                continue
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, text, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                found[namespace + pattern.name] = text

    walk(get_resolver().url_patterns, "", "")
    return found


def placements(entry: Entry) -> tuple[str, ...]:
    return PLACES if entry.kwargs else NONE


def url_for(name: str, entry: Entry, world: SecurityWorld, place: str, role: str) -> str:
    if entry.kwargs is None:
        return reverse(name)
    return reverse(name, kwargs=entry.kwargs(world, world.places[place], role))


# --- checking one answer --------------------------------------------------------------------


def fingerprint(media: Path) -> str:
    """A digest of every row of the project's tables and of the media folder's file names."""
    digest = hashlib.sha256()
    for app in PROJECT_APPS:
        for model in apps.get_app_config(app).get_models():
            label = model._meta.label
            skip = NOT_STATE.get(label, set())
            fields = [f.attname for f in model._meta.concrete_fields if f.name not in skip]
            digest.update(label.encode())
            for values in model.objects.order_by("pk").values_list(*fields):
                digest.update(repr(values).encode())
    for root, _dirs, files in os.walk(media):
        for name in sorted(files):
            digest.update(os.path.join(root, name).encode())
    return digest.hexdigest()


def answer(response) -> str:
    """The response as a token: L, 302, or the status code."""
    if getattr(response, "streaming", False):
        # Reading to the end closes the file (the test client's wrapper closes the response).
        b"".join(response.streaming_content)
    if response.status_code == 302:
        return "L" if response["Location"].startswith(LOGIN) else "302"
    return str(response.status_code)


def call(client: Client, method: str, url: str, data: dict | None) -> str:
    try:
        response = client.get(url) if method == "GET" else client.post(url, data or {})
    except Exception as exc:  # the test client re-raises what a view raised: that is a 500
        return f"500 ({type(exc).__name__}: {exc})"
    return answer(response)


def logged_in(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@dataclass
class Tally:
    gets: int = 0
    posts: int = 0
    posts_refused: int = 0
    mismatches: list[str] = None

    def __post_init__(self):
        self.mismatches = []


def check_gets(world: SecurityWorld, tally: Tally) -> None:
    clients = {role: logged_in(world.users[role]) for role in ROLES}
    for name, entry in ROUTES.items():
        for place in placements(entry):
            expected = entry.get[place].split()
            for role, want in zip(ROLES, expected, strict=True):
                url = url_for(name, entry, world, place, role)
                got = call(clients[role], "GET", url, None)
                tally.gets += 1
                if got != want:
                    tally.mismatches.append(f"GET  {name} [{place}] {role}: {got}, want {want}")


def check_posts(world: SecurityWorld, media: Path, tally: Tally) -> None:
    for name, entry in ROUTES.items():
        if entry.post is None:
            continue
        for place in placements(entry):
            expected = entry.post[place].split()
            for role, want in zip(ROLES, expected, strict=True):
                must_change = want.endswith("+")
                want = want.rstrip("+")
                url = url_for(name, entry, world, place, role)
                data = entry.data(world, world.places.get(place), role)
                with transaction.atomic():
                    before = fingerprint(media)
                    got = call(logged_in(world.users[role]), "POST", url, data)
                    changed = fingerprint(media) != before
                    transaction.set_rollback(True)
                tally.posts += 1
                tally.posts_refused += not must_change
                where = f"POST {name} [{place}] {role}"
                if got != want:
                    tally.mismatches.append(f"{where}: {got}, want {want}")
                elif changed and not must_change:
                    tally.mismatches.append(f"{where}: {got} but the database changed")
                elif must_change and not changed:
                    tally.mismatches.append(f"{where}: {got} but nothing was written")


# --- tests ----------------------------------------------------------------------------------


def test_every_route_has_an_access_matrix_entry():
    routes = named_routes()
    missing = [
        f"new route {name} ({pattern}) has no access-matrix entry"
        for name, pattern in routes.items()
        if name not in ROUTES
    ]
    stale = [f"matrix entry {name} names no route" for name in ROUTES if name not in routes]
    assert not missing + stale, "\n".join(missing + stale)


def test_every_entry_is_complete():
    for name, entry in ROUTES.items():
        wanted = set(placements(entry))
        assert set(entry.get) == wanted, name
        assert (entry.post is None) == (entry.data is None), name
        for table in filter(None, (entry.get, entry.post)):
            assert set(table) == wanted, name
            assert all(len(t.split()) == len(ROLES) for t in table.values()), name


@pytest.mark.django_db
def test_every_role_gets_exactly_the_matrix_answer(media):
    world = security_world_build()
    tally = Tally()
    with celery_eager():
        state = fingerprint(media)
        check_gets(world, tally)
        if fingerprint(media) != state:
            tally.mismatches.append("a GET changed the database or the media folder")
        check_posts(world, media, tally)
    routes = len(ROUTES)
    with_objects = sum(1 for e in ROUTES.values() if e.kwargs)
    print(
        f"\naccess matrix: {routes} routes ({with_objects} with an object in A, B and Y) × "
        f"{len(ROLES)} roles: {tally.gets} GET answers, {tally.posts} POST answers "
        f"({tally.posts_refused} refused, each checked to change nothing)"
    )
    assert not tally.mismatches, "\n".join(tally.mismatches)
