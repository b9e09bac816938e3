"""Who may act on an assessment at which stage: pure functions of role, stage and scope.

Views and services both ask these; the database is never consulted here (the user's scope is
cached on the user object by villages.access.scope_for).
"""

from __future__ import annotations

from scoring.models import Stage
from villages.access import scope_for
from villages.models import Role

# The role that enters scores at each stage (lead departments also score their own indicators
# at the county stage).
STAGE_ROLE = {
    Stage.SELF: Role.VILLAGE_SECRETARY,
    Stage.TOWNSHIP: Role.TOWNSHIP_OFFICIAL,
    Stage.COUNTY: Role.COUNTY_STAFF,
}


def in_scope(user, unit_code: str) -> bool:
    return scope_for(user).contains(unit_code)


# "No indicator named": distinct from None, which is an indicator that no department leads.
ANY_INDICATOR = object()


def can_score(user, stage: str, unit_code: str, lead_department_id=ANY_INDICATOR) -> bool:
    """May the user enter this stage's score for an indicator of this unit?

    Pass `lead_department_id` (None for an indicator without a lead department) to ask about
    one indicator; without it the question is whether the user may score at least some
    indicators at this stage.
    """
    if not user.is_authenticated or not in_scope(user, unit_code):
        return False
    if user.is_superuser:
        return stage in STAGE_ROLE
    if user.role == STAGE_ROLE.get(stage):
        return True
    if stage == Stage.COUNTY and user.role == Role.DEPARTMENT:
        return lead_department_id is ANY_INDICATOR or lead_department_id == user.department_id
    return False


def can_submit(user, stage: str, unit_code: str) -> bool:
    """May the user pass the assessment on from this stage (county: finalise)?"""
    if not user.is_authenticated or not in_scope(user, unit_code):
        return False
    if user.is_superuser:
        return stage in STAGE_ROLE
    return user.role == STAGE_ROLE.get(stage)


def can_return(user, stage: str, unit_code: str) -> bool:
    """May the user send the assessment back to the stage before this one?"""
    return stage != Stage.SELF and can_submit(user, stage, unit_code)


def can_open_period(user) -> bool:
    return user.is_authenticated and (user.is_superuser or user.role == Role.COUNTY_STAFF)
