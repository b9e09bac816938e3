"""The access policy (villages/policy.py): its table, who may do what where, and its helpers.

The expected table below is written out by hand, role by role, rather than read from RULES:
a change to the policy has to be made here too, on purpose. Users come from tests/conftest.py
(township A is 城关镇 with the village secretary's 东街村, township B is 东庄镇 with 西庄村;
the stranger is B's township official).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser

from campaigns.stages import ScoreStage, Stage
from scoring.models import RECTIFICATION_TRANSITIONS, RectificationStatus
from scoring.services.rectification import STEP_ACTIONS
from tests import factories
from villages.errors import ErrorCode, Refused
from villages.models import Role
from villages.policy import RULES, Action, may, require, role_stage, stage_role

pytestmark = pytest.mark.django_db

A = Action
STAGE_ACTIONS = {A.SCORE, A.SUBMIT, A.RETURN}
ASSESSMENT_ACTIONS = {A.REOPEN, A.ACT_FOR_VILLAGE}  # on an assessment, outside the score flow
RECTIFY_ACTIONS = {
    A.RECTIFY_ASSIGN,
    A.RECTIFY_REPORT,
    A.RECTIFY_VERIFY,
    A.RECTIFY_CLOSE,
    A.RECTIFY_SEND_BACK,
}

# The five roles, by their names in the `users` fixture.
COUNTY, TOWNSHIP, VILLAGE, DEPT, LEADER = (
    "county_staff",
    "township_official",
    "village_secretary",
    "department",
    "leader",
)
ROLES = (COUNTY, TOWNSHIP, VILLAGE, DEPT, LEADER)

# (action, state) -> the roles that may, for a unit of township A (everyone's scope holds it).
EXPECTED: dict[tuple[str, str | None], set[str]] = {
    # Assessments, by stage: whoever scores a stage passes it on; the two later stages can
    # send it back; lead departments only score (their own indicators) at the county stage.
    (A.SCORE, "self"): {VILLAGE},
    (A.SCORE, "township"): {TOWNSHIP},
    (A.SCORE, "county"): {COUNTY, DEPT},
    (A.SUBMIT, "self"): {VILLAGE},
    (A.SUBMIT, "township"): {TOWNSHIP},
    (A.SUBMIT, "county"): {COUNTY},
    (A.RETURN, "township"): {TOWNSHIP},
    (A.RETURN, "county"): {COUNTY},
    # Reopening a final assessment (county staff), acting for a silent village (its township).
    (A.REOPEN, "final"): {COUNTY},
    (A.ACT_FOR_VILLAGE, "self"): {TOWNSHIP},
    # Campaign-wide.
    (A.OPEN_PERIOD, None): {COUNTY},
    (A.VIEW_PROGRESS, None): {COUNTY, LEADER, DEPT},
    (A.VIEW_DECISIONS, None): {COUNTY, LEADER},
    (A.VIEW_DASHBOARD, None): {COUNTY, LEADER, DEPT},
    (A.VIEW_OWN_INDICATORS, None): {DEPT},
    (A.ADJUST, None): {COUNTY},
    (A.RECOMMEND_TARGET, None): {TOWNSHIP},
    (A.DECIDE_TARGET, None): {COUNTY},
    (A.VIEW_REPORTS, None): {COUNTY, LEADER},
    (A.RUN_REPORT, None): {COUNTY},
    (A.SET_UP, None): set(),  # superusers only
    # Rectification items, by status.
    (A.RECTIFY_ASSIGN, "open"): {TOWNSHIP, COUNTY},
    (A.RECTIFY_REPORT, "open"): {VILLAGE, TOWNSHIP},
    (A.RECTIFY_VERIFY, "reported"): {TOWNSHIP},
    (A.RECTIFY_CLOSE, "verified"): {COUNTY},
    (A.RECTIFY_SEND_BACK, "reported"): {TOWNSHIP},
    (A.RECTIFY_SEND_BACK, "verified"): {COUNTY},
}

# Questions with no entry: nobody may, not even a superuser.
UNKEYED: list[tuple[str, str | None]] = [
    (A.SCORE, "final"),
    (A.SUBMIT, "final"),
    (A.REOPEN, "county"),
    (A.ACT_FOR_VILLAGE, "township"),
    (A.RETURN, "self"),
    (A.RETURN, "final"),
    (A.SCORE, None),  # a stage action asked without a stage
    (A.OPEN_PERIOD, "county"),  # a campaign-wide action asked with a state
    (A.RECTIFY_ASSIGN, "reported"),
    (A.RECTIFY_REPORT, "reported"),
    (A.RECTIFY_VERIFY, "open"),
    (A.RECTIFY_CLOSE, "reported"),
    (A.RECTIFY_CLOSE, "closed"),
    (A.RECTIFY_SEND_BACK, "open"),
    (A.RECTIFY_SEND_BACK, "closed"),
    ("no_such_action", None),
]

CASES = [*EXPECTED, *UNKEYED]


def case_id(case) -> str:
    action, state = case
    return f"{action}@{state}"


def allowed(role: str, case) -> bool:
    return role in EXPECTED.get(case, set())


# --- the table itself -----------------------------------------------------------------------


class TestTable:
    def test_the_expected_table_covers_every_rule(self):
        assert set(RULES) == set(EXPECTED)

    def test_every_rule_names_real_roles(self):
        superusers_only = {(A.SET_UP, None)}
        for key, roles in RULES.items():
            assert roles or key in superusers_only, key
            assert roles <= set(Role.values), key

    @pytest.mark.parametrize("key", list(RULES), ids=case_id)
    def test_every_state_is_a_real_value(self, key):
        action, state = key
        assert action in Action.values
        if action in STAGE_ACTIONS or action in ASSESSMENT_ACTIONS:
            assert state in Stage.values
        elif action in RECTIFY_ACTIONS:
            assert state in RectificationStatus.values
        else:
            assert state is None

    def test_the_stage_actions_use_the_stages_that_keep_scores(self):
        stages = {state for action, state in RULES if action in STAGE_ACTIONS}
        assert stages == set(ScoreStage.values)
        assert [key for key in RULES if key[1] == Stage.FINAL] == [(A.REOPEN, Stage.FINAL)]

    def test_the_rectification_keys_are_exactly_the_transitions(self):
        assert set(STEP_ACTIONS.values()) == RECTIFY_ACTIONS
        transitions = {(STEP_ACTIONS[step], status) for step, status in RECTIFICATION_TRANSITIONS}
        rules = {(action, state) for action, state in RULES if action in RECTIFY_ACTIONS}
        assert rules == transitions

    def test_every_step_leads_to_a_real_status(self):
        for (step, status), target in RECTIFICATION_TRANSITIONS.items():
            assert status in RectificationStatus.values, step
            assert target in RectificationStatus.values, step


# --- role × action × state ------------------------------------------------------------------


class TestMatrix:
    """Each case asks every role at once; a failure shows the whole row of the table."""

    @pytest.mark.parametrize("case", CASES, ids=case_id)
    def test_in_scope_by_code(self, users, unit_a, case):
        action, state = case
        got = {role: may(users[role], action, state=state, code=unit_a.code) for role in ROLES}
        assert got == {role: allowed(role, case) for role in ROLES}

    @pytest.mark.parametrize("case", CASES, ids=case_id)
    def test_by_role_only(self, users, case):
        action, state = case
        got = {role: may(users[role], action, state=state) for role in ROLES}
        assert got == {role: allowed(role, case) for role in ROLES}

    @pytest.mark.parametrize("case", CASES, ids=case_id)
    def test_from_an_object(self, users, unit_a, case):
        action, state = case
        obj = SimpleNamespace(scope_code=unit_a.code, policy_state=state)
        got = {role: may(users[role], action, obj) for role in ROLES}
        assert got == {role: allowed(role, case) for role in ROLES}

    @pytest.mark.parametrize("case", CASES, ids=case_id)
    def test_a_superuser_may_every_keyed_entry_and_nothing_else(self, superuser, unit_b, case):
        action, state = case
        assert may(superuser, action, state=state, code=unit_b.code) is (case in EXPECTED)
        # Even outside every county the base users know.
        assert may(superuser, action, state=state, code="130102001001") is (case in EXPECTED)

    @pytest.mark.parametrize("case", CASES, ids=case_id)
    def test_anonymous_none_and_no_role_may_nothing(self, no_role_user, unit_a, case):
        action, state = case
        for user in (AnonymousUser(), None, no_role_user):
            assert may(user, action, state=state) is False
            assert may(user, action, state=state, code=unit_a.code) is False

    @pytest.mark.parametrize("role", [*ROLES, "superuser"])
    def test_an_inactive_user_may_nothing(self, users, unit_a, role):
        user = users[role]
        user.is_active = False
        assert not [case for case in CASES if may(user, case[0], state=case[1])]
        assert not [case for case in CASES if may(user, case[0], state=case[1], code=unit_a.code)]

    def test_a_real_assessment_gives_its_stage_and_place(self, users, assessment_a):
        assert may(users[VILLAGE], A.SCORE, assessment_a) is True
        assert may(users[TOWNSHIP], A.SCORE, assessment_a) is False
        # `state` passed explicitly wins over the object's.
        assert may(users[TOWNSHIP], A.SCORE, assessment_a, state="township") is True

    def test_asking_costs_no_query_once_the_scope_is_known(
        self, users, assessment_a, django_assert_num_queries
    ):
        user = users[TOWNSHIP]
        may(user, A.SCORE, state="township", code=assessment_a.unit.code)
        with django_assert_num_queries(0):
            for action, state in CASES:
                may(user, action, assessment_a, state=state)


# --- scope ----------------------------------------------------------------------------------


def allowed_cases(user, code: str) -> list[tuple[str, str | None]]:
    """The cases of the table `user` may act on at the place with `code`."""
    return [case for case in CASES if may(user, case[0], state=case[1], code=code)]


class TestScope:
    def test_township_a_may_nothing_on_a_unit_of_township_b(self, users, unit_b):
        assert allowed_cases(users[TOWNSHIP], unit_b.code) == []

    def test_township_b_may_nothing_on_a_unit_of_township_a(self, users, unit_a, unit_b):
        stranger = users["stranger"]
        assert allowed_cases(stranger, unit_a.code) == []
        # ... and on its own unit what township A's official may on theirs.
        mine = [case for case in CASES if allowed(TOWNSHIP, case)]
        assert allowed_cases(stranger, unit_b.code) == mine
        assert allowed_cases(users[TOWNSHIP], unit_a.code) == mine

    def test_a_village_may_nothing_on_another_unit_of_its_township(self, users, township_a):
        neighbour = factories.UnitFactory(township=township_a, name="西街村")
        assert allowed_cases(users[VILLAGE], neighbour.code) == []

    @pytest.mark.parametrize("role", [COUNTY, LEADER, DEPT])
    def test_county_roles_may_nothing_in_another_county(self, users, role):
        other = factories.UnitFactory(
            township=factories.TownshipFactory(
                parent=factories.CountyFactory(code="410522000000", name="安阳县"),
                code="410522100000",
            )
        )
        assert allowed_cases(users[role], other.code) == []

    @pytest.mark.parametrize("role", [COUNTY, LEADER, DEPT])
    def test_county_roles_reach_both_townships(self, users, unit_a, unit_b, role):
        case = next(c for c in EXPECTED if role in EXPECTED[c])
        action, state = case
        assert may(users[role], action, state=state, code=unit_a.code) is True
        assert may(users[role], action, state=state, code=unit_b.code) is True

    def test_a_rectification_item_of_township_b_is_out_of_township_as_reach(
        self, users, unit_b, period
    ):
        item = factories.RectificationItemFactory(
            assessment__period=period, assessment__unit=unit_b
        )
        assert may(users[TOWNSHIP], A.RECTIFY_ASSIGN, item) is False
        assert may(users["stranger"], A.RECTIFY_ASSIGN, item) is True


# --- lead departments -----------------------------------------------------------------------


class TestLeadDepartment:
    def test_it_scores_its_own_indicators_at_the_county_stage(self, users, unit_a, department):
        dept = users[DEPT]
        kwargs = {"state": "county", "code": unit_a.code}
        assert may(dept, A.SCORE, department_id=department.id, **kwargs) is True
        # Without naming an indicator: whether some may be scored.
        assert may(dept, A.SCORE, **kwargs) is True

    def test_not_another_departments_nor_an_unled_indicator(self, users, unit_a, county):
        other = factories.DepartmentFactory(region=county, name="水利局")
        dept = users[DEPT]
        kwargs = {"state": "county", "code": unit_a.code}
        assert may(dept, A.SCORE, department_id=other.id, **kwargs) is False
        assert may(dept, A.SCORE, department_id=None, **kwargs) is False

    @pytest.mark.parametrize("stage", ["self", "township", "final"])
    def test_not_at_another_stage_even_its_own(self, users, unit_a, department, stage):
        dept = users[DEPT]
        assert (
            may(dept, A.SCORE, state=stage, code=unit_a.code, department_id=department.id) is False
        )

    @pytest.mark.parametrize("action", [A.SUBMIT, A.RETURN])
    def test_it_neither_submits_nor_returns(self, users, unit_a, action):
        assert may(users[DEPT], action, state="county", code=unit_a.code) is False

    def test_county_staff_score_every_indicator_whoever_leads_it(self, users, unit_a, department):
        kwargs = {"state": "county", "code": unit_a.code}
        for department_id in (department.id, None):
            assert may(users[COUNTY], A.SCORE, department_id=department_id, **kwargs) is True


# --- leaders --------------------------------------------------------------------------------


class TestLeaders:
    def test_leaders_only_look(self, users, unit_a):
        leader = users[LEADER]
        may_do = {
            action for action, state in CASES if may(leader, action, state=state, code=unit_a.code)
        }
        assert may_do == {A.VIEW_DECISIONS, A.VIEW_DASHBOARD, A.VIEW_REPORTS, A.VIEW_PROGRESS}


# --- require --------------------------------------------------------------------------------


class TestRequire:
    def test_it_passes_silently_when_allowed(self, users, unit_a):
        assert require(users[VILLAGE], A.SCORE, state="self", code=unit_a.code) is None
        assert require(users[COUNTY], A.ADJUST) is None

    @pytest.mark.parametrize(
        ("role", "action", "kwargs"),
        [
            (VILLAGE, A.SCORE, {"state": "township"}),
            (LEADER, A.ADJUST, {}),
            (TOWNSHIP, A.SCORE, {"state": "township", "code": "410527101001"}),
            (DEPT, A.SUBMIT, {"state": "county"}),
        ],
    )
    def test_it_refuses_with_forbidden(self, users, role, action, kwargs):
        with pytest.raises(Refused) as excinfo:
            require(users[role], action, **kwargs)
        assert excinfo.value.code == ErrorCode.FORBIDDEN

    def test_anonymous_is_forbidden(self):
        with pytest.raises(Refused) as excinfo:
            require(AnonymousUser(), A.VIEW_REPORTS)
        assert excinfo.value.code == ErrorCode.FORBIDDEN

    def test_the_message_can_be_given(self, users):
        with pytest.raises(Refused) as excinfo:
            require(users[LEADER], A.RUN_REPORT, message="不行")
        assert (excinfo.value.code, excinfo.value.message) == (ErrorCode.FORBIDDEN, "不行")

    def test_it_reads_the_object(self, users, assessment_a):
        require(users[VILLAGE], A.SUBMIT, assessment_a)
        with pytest.raises(Refused) as excinfo:
            require(users[TOWNSHIP], A.SUBMIT, assessment_a)
        assert excinfo.value.code == ErrorCode.FORBIDDEN


# --- stage_role / role_stage ----------------------------------------------------------------


class TestStageRole:
    @pytest.mark.parametrize(
        ("stage", "role"),
        [
            ("self", Role.VILLAGE_SECRETARY),
            ("township", Role.TOWNSHIP_OFFICIAL),
            ("county", Role.COUNTY_STAFF),
            ("final", None),
            ("nonsense", None),
        ],
    )
    def test_stage_role(self, stage, role):
        assert stage_role(stage) == role

    @pytest.mark.parametrize(
        ("role", "stage"),
        [
            (Role.VILLAGE_SECRETARY, "self"),
            (Role.TOWNSHIP_OFFICIAL, "township"),
            (Role.COUNTY_STAFF, "county"),
            (Role.DEPARTMENT, "county"),
            (Role.LEADER, None),
            ("", None),
        ],
    )
    def test_role_stage(self, role, stage):
        assert role_stage(role) == stage

    @pytest.mark.parametrize("stage", ScoreStage.values)
    def test_the_stage_role_enters_that_stage(self, stage):
        assert role_stage(stage_role(stage)) == stage
