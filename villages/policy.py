"""The one access policy: which role may do what, at which stage or status, where.

Every permission question in services, views and templates goes through `may` (or `require`,
which raises). It answers from one table, `RULES`, keyed by (action, state): the state is an
assessment's stage or a rectification item's status for the actions that depend on one, and
None for those that do not. Scope (another township's unit) is checked from the object's
division code, so a user outside it is refused whatever their role; views make such objects
404 before asking (querysets are cut with `visible_to`), services ask again.

Pure: no query beyond the user's place (cached per request by `scope_for`). Stage and status
keys are the values of campaigns.stages.Stage and scoring's RectificationStatus, spelled as
strings here because this app sits below both (tests/villages/test_policy.py checks them).
"""

from __future__ import annotations

from typing import Any, Protocol

from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.utils.translation import gettext as _

from villages.access import scope_for
from villages.errors import ErrorCode, Refused
from villages.models import Role, User


class Action(models.TextChoices):
    """Something a user may be allowed to do."""

    SCORE = "score", "enter scores at a stage"
    SUBMIT = "submit", "pass an assessment on from a stage (county: finalise)"
    RETURN = "return", "send an assessment back to the stage before"
    REOPEN = "reopen", "reopen a final assessment at the county stage, with a reason"
    ACT_FOR_VILLAGE = "act_for_village", "submit a silent village's self-assessment (代村提交)"
    OPEN_PERIOD = "open_period", "open a period of a campaign"
    VIEW_PROGRESS = "view_progress", "see progress by township"
    VIEW_DECISIONS = "view_decisions", "see adjustments (调旗)"
    VIEW_DASHBOARD = "view_dashboard", "read the dashboard"
    VIEW_OWN_INDICATORS = "view_own_indicators", "a lead department's indicators across units"
    ADJUST = "adjust", "run, override and confirm adjustments (调旗)"
    RECOMMEND_TARGET = "recommend_target", "recommend units' target levels (荐旗)"
    DECIDE_TARGET = "decide_target", "decide units' target levels"
    VIEW_REPORTS = "view_reports", "read monthly reports"
    RUN_REPORT = "run_report", "produce a monthly report by hand"
    RECTIFY_ASSIGN = "rectify_assign", "assign a rectification item"
    RECTIFY_REPORT = "rectify_report", "report a rectification item done"
    RECTIFY_VERIFY = "rectify_verify", "verify a rectification item"
    RECTIFY_CLOSE = "rectify_close", "close out (销号) a rectification item"
    RECTIFY_SEND_BACK = "rectify_send_back", "send a rectification item back"
    SET_UP = "set_up", "set up regions, units, users and campaigns (admin)"


COUNTY = Role.COUNTY_STAFF
TOWNSHIP = Role.TOWNSHIP_OFFICIAL
VILLAGE = Role.VILLAGE_SECRETARY
DEPARTMENT = Role.DEPARTMENT
LEADER = Role.LEADER

# (action, stage or status or None) -> roles that may. Superusers may whatever has an entry.
RULES: dict[tuple[str, str | None], frozenset[str]] = {
    # Assessments, by the stage they are at. Lead departments score only the indicators they
    # lead (`department_id` below); they neither submit nor return.
    (Action.SCORE, "self"): frozenset({VILLAGE}),
    (Action.SCORE, "township"): frozenset({TOWNSHIP}),
    (Action.SCORE, "county"): frozenset({COUNTY, DEPARTMENT}),
    (Action.SUBMIT, "self"): frozenset({VILLAGE}),
    (Action.SUBMIT, "township"): frozenset({TOWNSHIP}),
    (Action.SUBMIT, "county"): frozenset({COUNTY}),
    (Action.RETURN, "township"): frozenset({TOWNSHIP}),
    (Action.RETURN, "county"): frozenset({COUNTY}),
    # A finalised assessment goes back to the county stage only by county staff, with a reason.
    (Action.REOPEN, "final"): frozenset({COUNTY}),
    # A village that never self-assesses: its township passes it on, with a reason (代村提交).
    (Action.ACT_FOR_VILLAGE, "self"): frozenset({TOWNSHIP}),
    # Campaign-wide work.
    (Action.OPEN_PERIOD, None): frozenset({COUNTY}),
    (Action.VIEW_PROGRESS, None): frozenset({COUNTY, LEADER, DEPARTMENT}),
    (Action.VIEW_DECISIONS, None): frozenset({COUNTY, LEADER}),
    # The dashboard is read-only: lead departments read it, but not the adjustments.
    (Action.VIEW_DASHBOARD, None): frozenset({COUNTY, LEADER, DEPARTMENT}),
    # A lead department's page of its own indicators across every unit of a period.
    (Action.VIEW_OWN_INDICATORS, None): frozenset({DEPARTMENT}),
    (Action.ADJUST, None): frozenset({COUNTY}),
    (Action.RECOMMEND_TARGET, None): frozenset({TOWNSHIP}),
    (Action.DECIDE_TARGET, None): frozenset({COUNTY}),
    (Action.VIEW_REPORTS, None): frozenset({COUNTY, LEADER}),
    (Action.RUN_REPORT, None): frozenset({COUNTY}),
    # Set-up (the admin): superusers only, who may whatever has an entry.
    (Action.SET_UP, None): frozenset(),
    # Rectification items, by their status (the step's target status is scoring's
    # RECTIFICATION_TRANSITIONS, keyed the same way).
    (Action.RECTIFY_ASSIGN, "open"): frozenset({TOWNSHIP, COUNTY}),
    (Action.RECTIFY_REPORT, "open"): frozenset({VILLAGE, TOWNSHIP}),
    (Action.RECTIFY_VERIFY, "reported"): frozenset({TOWNSHIP}),
    (Action.RECTIFY_CLOSE, "verified"): frozenset({COUNTY}),
    (Action.RECTIFY_SEND_BACK, "reported"): frozenset({TOWNSHIP}),
    (Action.RECTIFY_SEND_BACK, "verified"): frozenset({COUNTY}),
}

# "No indicator named": distinct from None, which is an indicator that no department leads.
ANY_INDICATOR: Any = object()
_UNSET: Any = object()


class PolicyObject(Protocol):
    """What `may` reads from an object: the division code of its place (`scope_code`), and its
    state (`policy_state`) where it has one (assessments, rectification items)."""

    @property
    def scope_code(self) -> str: ...


def stage_role(stage: str) -> str | None:
    """The role that enters (and submits) the scores of a stage."""
    roles = RULES.get((Action.SUBMIT, stage))
    return next(iter(roles)) if roles else None


def role_stage(role: str) -> str | None:
    """The stage whose scores a role enters (lead departments: county), or None."""
    for stage in ("self", "township", "county"):
        if role in RULES[(Action.SCORE, stage)]:
            return stage
    return None


def may(
    user: User | AnonymousUser | None,
    action: str,
    obj: PolicyObject | None = None,
    *,
    state: str | None = _UNSET,
    code: str | None = None,
    department_id: int | None = ANY_INDICATOR,
) -> bool:
    """May `user` do `action` (to `obj`, at `state`)?

    `obj` gives the place (`scope_code`) and state (`policy_state`: an assessment's stage, an
    item's status) unless `code` or `state` are passed. Without a place the question is about
    the role only. For SCORE at the county stage, `department_id` names the lead department of
    one indicator (None: led by none); without it, whether some indicators may be scored.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if state is _UNSET:
        state = getattr(obj, "policy_state", None)
    roles = RULES.get((action, state))
    if roles is None:
        return False
    if code is None and obj is not None:
        code = obj.scope_code
    if code is not None and not scope_for(user).contains(code):
        return False
    if user.is_superuser:
        return True
    if user.role not in roles:
        return False
    if user.role == DEPARTMENT and action == Action.SCORE and department_id is not ANY_INDICATOR:
        return department_id == user.department_id
    return True


def require(
    user: User | AnonymousUser | None,
    action: str,
    obj: PolicyObject | None = None,
    *,
    message: str | None = None,
    **kwargs: str | int | None,
) -> None:
    """Raise Refused (code FORBIDDEN) unless `may(user, action, obj, **kwargs)`."""
    if not may(user, action, obj, **kwargs):
        raise Refused(message or _("You may not do this."), code=ErrorCode.FORBIDDEN)
