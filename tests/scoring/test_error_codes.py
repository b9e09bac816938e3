"""Every refusal of the services carries a stable code (villages.errors.ErrorCode).

Views pick a status or a form field from the code and tests assert it, never the translated
sentence.

Users and the small catalogue come from tests/conftest.py: the village secretary's 东街村 is
in township A (城关镇), 西庄村 in township B (东庄镇).
"""

from __future__ import annotations

import datetime as dt
import io
import os
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from campaigns.models import CampaignStatus
from campaigns.services import unit_targets_set
from scoring import services, tasks
from scoring.errors import (
    ImportErrors,
    InputErrors,
    LockedError,
    QueueError,
    ScoringError,
    StaleScores,
)
from scoring.excel.template import template_build
from scoring.inputs import ScoreInput
from scoring.models import (
    ExportKind,
    JobStatus,
    PeriodStatus,
    ProposalAction,
    RectificationAction,
    RectificationStatus,
    ReportRun,
    ScoreStage,
    Stage,
)
from tests import factories, scenarios
from tests.helpers import broker_down
from villages.errors import ErrorCode, Refused

pytestmark = pytest.mark.django_db


def one(assessment, indicator, value=None, **kwargs) -> ScoreInput:
    """An input for one points item: full marks unless `value` says otherwise."""
    value = indicator.max_points if value is None else Decimal(value)
    return ScoreInput(assessment_id=assessment.id, indicator_id=indicator.id, value=value, **kwargs)


def save(user, stage, *inputs):
    return services.scores_save(user=user, stage=stage, inputs=list(inputs))


def at_stage(period, unit, stage) -> object:
    fields = {"finalised_at": timezone.now()} if stage == Stage.FINAL else {}
    return factories.AssessmentFactory(period=period, unit=unit, stage=stage, **fields)


def png(name="photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"\x89PNG\r\n\x1a\n" + b"\0" * 64)


# --- scores_save ----------------------------------------------------------------------------


class TestScoresSave:
    def test_a_final_assessment_is_locked(self, county_staff, catalogue, period, unit_a):
        assessment = at_stage(period, unit_a, Stage.FINAL)
        with pytest.raises(LockedError) as excinfo:
            save(county_staff, Stage.COUNTY, one(assessment, catalogue.shared_points[0]))
        assert excinfo.value.code == ErrorCode.LOCKED

    def test_a_closed_period_is_locked(self, village_secretary, catalogue, period, assessment_a):
        period.status = PeriodStatus.CLOSED
        period.save()
        with pytest.raises(LockedError) as excinfo:
            save(village_secretary, Stage.SELF, one(assessment_a, catalogue.shared_points[0]))
        assert excinfo.value.code == ErrorCode.LOCKED

    def test_a_stale_input_is_stale(self, village_secretary, catalogue, assessment_a):
        indicator = catalogue.shared_points[0]
        save(village_secretary, Stage.SELF, one(assessment_a, indicator, expected_version=0))
        with pytest.raises(StaleScores) as excinfo:
            save(village_secretary, Stage.SELF, one(assessment_a, indicator, expected_version=0))
        assert excinfo.value.code == ErrorCode.STALE

    @pytest.mark.parametrize("value", ["-1", "41", "1.234"])
    def test_a_bad_value_is_invalid(self, village_secretary, catalogue, assessment_a, value):
        with pytest.raises(InputErrors) as excinfo:
            save(
                village_secretary, Stage.SELF, one(assessment_a, catalogue.shared_points[0], value)
            )
        assert excinfo.value.code == ErrorCode.INVALID
        assert excinfo.value.errors

    def test_an_indicator_of_another_department_is_an_input_error(
        self, department_user, catalogue, period, unit_a
    ):
        assessment = at_stage(period, unit_a, Stage.COUNTY)
        with pytest.raises(InputErrors) as excinfo:
            save(department_user, Stage.COUNTY, one(assessment, catalogue.shared_points[0]))
        assert excinfo.value.code == ErrorCode.INVALID

    @pytest.mark.parametrize("role", ["township_official", "leader", "county_staff"])
    def test_a_wrong_role_is_forbidden(self, users, catalogue, assessment_a, role):
        with pytest.raises(ScoringError) as excinfo:
            save(users[role], Stage.SELF, one(assessment_a, catalogue.shared_points[0]))
        assert excinfo.value.code == ErrorCode.FORBIDDEN

    def test_another_townships_unit_is_forbidden(self, stranger, catalogue, period, unit_a):
        assessment = at_stage(period, unit_a, Stage.TOWNSHIP)
        with pytest.raises(ScoringError) as excinfo:
            save(stranger, Stage.TOWNSHIP, one(assessment, catalogue.shared_points[0]))
        assert excinfo.value.code == ErrorCode.FORBIDDEN

    def test_scores_of_another_stage_are_the_wrong_stage(
        self, township_official, catalogue, assessment_a
    ):
        with pytest.raises(ScoringError) as excinfo:
            save(township_official, Stage.TOWNSHIP, one(assessment_a, catalogue.shared_points[0]))
        assert excinfo.value.code == ErrorCode.WRONG_STAGE

    def test_an_unknown_assessment_is_not_found(self, village_secretary, catalogue, db):
        missing = ScoreInput(assessment_id=987654, indicator_id=catalogue.shared_points[0].id)
        with pytest.raises(ScoringError) as excinfo:
            save(village_secretary, Stage.SELF, missing)
        assert excinfo.value.code == ErrorCode.NOT_FOUND


# --- evidence -------------------------------------------------------------------------------


class TestEvidence:
    def score_of(self, assessment, indicator, stage):
        return factories.ScoreFactory(
            assessment=assessment, indicator=indicator, stage=stage, value=Decimal("1")
        )

    def test_a_final_assessment_is_locked(self, media, county_staff, catalogue, period, unit_a):
        assessment = at_stage(period, unit_a, Stage.FINAL)
        score = self.score_of(assessment, catalogue.shared_points[0], ScoreStage.COUNTY)
        with pytest.raises(LockedError) as excinfo:
            services.evidence_attach(user=county_staff, score_id=score.id, upload=png())
        assert excinfo.value.code == ErrorCode.LOCKED

    @pytest.mark.parametrize(
        "upload",
        [
            SimpleUploadedFile("run.exe", b"MZ" + b"\0" * 64),
            SimpleUploadedFile("photo.png", b"not a png at all"),
        ],
        ids=["type", "content"],
    )
    def test_a_refused_file_is_a_file_error(
        self, media, village_secretary, catalogue, assessment_a, upload
    ):
        score = self.score_of(assessment_a, catalogue.shared_points[0], ScoreStage.SELF)
        with pytest.raises(ScoringError) as excinfo:
            services.evidence_attach(user=village_secretary, score_id=score.id, upload=upload)
        assert excinfo.value.code == ErrorCode.FILE

    def test_another_departments_indicator_is_forbidden(
        self, media, department_user, catalogue, period, unit_a
    ):
        assessment = at_stage(period, unit_a, Stage.COUNTY)
        score = self.score_of(assessment, catalogue.shared_points[0], ScoreStage.COUNTY)
        with pytest.raises(ScoringError) as excinfo:
            services.evidence_attach(user=department_user, score_id=score.id, upload=png())
        assert excinfo.value.code == ErrorCode.FORBIDDEN

    def test_a_missing_score_is_not_found(self, media, village_secretary):
        with pytest.raises(ScoringError) as excinfo:
            services.evidence_attach(user=village_secretary, score_id=999_999, upload=png())
        assert excinfo.value.code == ErrorCode.NOT_FOUND


# --- submit and return ----------------------------------------------------------------------


class TestSubmit:
    @pytest.mark.parametrize("role", ["township_official", "county_staff", "leader", "department"])
    def test_a_wrong_role_is_forbidden(self, users, catalogue, assessment_a, role):
        factories.scores_fill(assessment_a, Stage.SELF, catalogue.for_kind(assessment_a.unit.kind))
        done, refused = services.assessments_submit(
            user=users[role], assessment_ids=[assessment_a.id]
        )
        assert done == []
        assert [(i, e.code) for i, e in refused] == [(assessment_a.id, ErrorCode.FORBIDDEN)]
        with pytest.raises(ScoringError) as excinfo:
            services.assessment_submit(user=users[role], assessment_id=assessment_a.id)
        assert excinfo.value.code == ErrorCode.FORBIDDEN

    def test_another_townships_unit_is_forbidden(self, stranger, catalogue, period, unit_a):
        assessment = at_stage(period, unit_a, Stage.TOWNSHIP)
        with pytest.raises(ScoringError) as excinfo:
            services.assessment_submit(user=stranger, assessment_id=assessment.id)
        assert excinfo.value.code == ErrorCode.FORBIDDEN

    def test_an_incomplete_sheet_is_required(self, village_secretary, catalogue, assessment_a):
        indicators = catalogue.for_kind(assessment_a.unit.kind)
        factories.scores_fill(assessment_a, Stage.SELF, indicators[:-1])
        with pytest.raises(ScoringError) as excinfo:
            services.assessment_submit(user=village_secretary, assessment_id=assessment_a.id)
        assert excinfo.value.code == ErrorCode.REQUIRED

    def test_a_final_assessment_is_locked(self, county_staff, catalogue, period, unit_a):
        assessment = at_stage(period, unit_a, Stage.FINAL)
        with pytest.raises(LockedError) as excinfo:
            services.assessment_submit(user=county_staff, assessment_id=assessment.id)
        assert excinfo.value.code == ErrorCode.LOCKED

    def test_a_closed_period_is_locked(self, village_secretary, catalogue, period, assessment_a):
        period.status = PeriodStatus.CLOSED
        period.save()
        with pytest.raises(LockedError) as excinfo:
            services.assessment_submit(user=village_secretary, assessment_id=assessment_a.id)
        assert excinfo.value.code == ErrorCode.LOCKED

    def test_a_page_out_of_date_is_stale(self, village_secretary, catalogue, assessment_a):
        factories.scores_fill(assessment_a, Stage.SELF, catalogue.for_kind(assessment_a.unit.kind))
        with pytest.raises(ScoringError) as excinfo:
            services.assessment_submit(
                user=village_secretary,
                assessment_id=assessment_a.id,
                expected_version=assessment_a.version + 5,
            )
        assert excinfo.value.code == ErrorCode.STALE

    def test_an_unknown_assessment_is_not_found(self, village_secretary, db):
        with pytest.raises(ScoringError) as excinfo:
            services.assessment_submit(user=village_secretary, assessment_id=987654)
        assert excinfo.value.code == ErrorCode.NOT_FOUND


class TestReturn:
    @pytest.mark.parametrize("reason", ["", "   "])
    def test_no_reason_is_required(self, township_official, catalogue, period, unit_a, reason):
        assessment = at_stage(period, unit_a, Stage.TOWNSHIP)
        with pytest.raises(ScoringError) as excinfo:
            services.assessment_return(
                user=township_official, assessment_id=assessment.id, reason=reason
            )
        assert (excinfo.value.code, excinfo.value.field) == (ErrorCode.REQUIRED, "reason")

    @pytest.mark.parametrize(
        ("role", "stage"),
        [
            ("village_secretary", Stage.TOWNSHIP),
            ("county_staff", Stage.TOWNSHIP),
            ("township_official", Stage.COUNTY),
            ("department", Stage.COUNTY),
            ("leader", Stage.COUNTY),
        ],
    )
    def test_a_wrong_role_is_forbidden(self, users, catalogue, period, unit_a, role, stage):
        assessment = at_stage(period, unit_a, stage)
        with pytest.raises(ScoringError) as excinfo:
            services.assessment_return(user=users[role], assessment_id=assessment.id, reason="补")
        assert excinfo.value.code == ErrorCode.FORBIDDEN

    def test_at_the_first_stage_nobody_may_return(self, users, catalogue, assessment_a):
        # (RETURN, "self") has no entry in the policy, so it is refused before the stage check.
        for role in ("village_secretary", "township_official", "county_staff"):
            with pytest.raises(ScoringError) as excinfo:
                services.assessment_return(
                    user=users[role], assessment_id=assessment_a.id, reason="补"
                )
            assert excinfo.value.code == ErrorCode.FORBIDDEN

    def test_the_first_stage_of_a_campaign_has_nothing_before_it(
        self, township_official, catalogue, period, unit_a
    ):
        catalogue.campaign.use_self_stage = False
        catalogue.campaign.save()
        assessment = at_stage(period, unit_a, Stage.TOWNSHIP)
        with pytest.raises(ScoringError) as excinfo:
            services.assessment_return(
                user=township_official, assessment_id=assessment.id, reason="补"
            )
        assert excinfo.value.code == ErrorCode.WRONG_STAGE

    @pytest.mark.parametrize("role", ["township_official", "county_staff"])
    def test_an_unknown_assessment_is_not_found(self, users, db, role):
        with pytest.raises(ScoringError) as excinfo:
            services.assessment_return(user=users[role], assessment_id=987654, reason="补")
        assert excinfo.value.code == ErrorCode.NOT_FOUND

    def test_a_final_assessment_is_locked(self, county_staff, catalogue, period, unit_a):
        assessment = at_stage(period, unit_a, Stage.FINAL)
        with pytest.raises(LockedError) as excinfo:
            services.assessment_return(user=county_staff, assessment_id=assessment.id, reason="补")
        assert excinfo.value.code == ErrorCode.LOCKED

    def test_a_page_out_of_date_is_stale(self, township_official, catalogue, period, unit_a):
        assessment = at_stage(period, unit_a, Stage.TOWNSHIP)
        with pytest.raises(ScoringError) as excinfo:
            services.assessment_return(
                user=township_official,
                assessment_id=assessment.id,
                reason="补",
                expected_version=assessment.version + 5,
            )
        assert excinfo.value.code == ErrorCode.STALE


# --- periods --------------------------------------------------------------------------------


class TestPeriodOpen:
    def open(self, user, campaign, label="2027Q1"):
        return services.period_open(
            user=user,
            campaign=campaign,
            label=label,
            starts_on=dt.date(2027, 1, 1),
            ends_on=dt.date(2027, 3, 31),
        )

    @pytest.mark.parametrize("role", ["township_official", "leader", "village_secretary"])
    def test_only_county_staff_may(self, users, catalogue, role):
        with pytest.raises(ScoringError) as excinfo:
            self.open(users[role], catalogue.campaign)
        assert excinfo.value.code == ErrorCode.FORBIDDEN

    def test_an_end_before_the_start_is_a_conflict(self, county_staff, catalogue):
        with pytest.raises(ScoringError) as excinfo:
            services.period_open(
                user=county_staff,
                campaign=catalogue.campaign,
                label="2027Q1",
                starts_on=dt.date(2027, 3, 31),
                ends_on=dt.date(2027, 1, 1),
            )
        assert (excinfo.value.code, excinfo.value.field) == (ErrorCode.INVALID, "ends_on")

    @pytest.mark.parametrize("status", [CampaignStatus.DRAFT, CampaignStatus.CLOSED])
    def test_a_campaign_not_active_is_a_conflict(self, county_staff, catalogue, status):
        catalogue.campaign.status = status
        catalogue.campaign.save()
        with pytest.raises(ScoringError) as excinfo:
            self.open(county_staff, catalogue.campaign)
        assert excinfo.value.code == ErrorCode.CONFLICT

    def test_a_period_already_open_is_a_conflict(self, county_staff, catalogue, period):
        with pytest.raises(ScoringError) as excinfo:
            self.open(county_staff, catalogue.campaign, label=period.label)
        assert excinfo.value.code == ErrorCode.CONFLICT


# --- adjustment -----------------------------------------------------------------------------


@pytest.fixture
def run(county, unit_a, unit_b, county_staff):
    """A proposed adjustment of a final period with one unit in each township; 西庄村 holds the
    flag, 东街村 does not."""
    built = scenarios.campaign_build(region=county, slug="tiaoqi", specs=scenarios.ONE_ITEM)
    period = scenarios.period_build(built, "2026Q3")
    scenarios.final_assessment(built, period, unit_a, {"1.1": "95"})
    scenarios.final_assessment(built, period, unit_b, {"1.1": "50"})
    scenarios.holdings(built, unit_b, "zonghe")
    run, _proposals, _summary = services.adjustment_propose(user=county_staff, period=period)
    return run


def proposal_to_change(run):
    """A proposal and a decision other than its own that the rules allow (not held: award or
    keep)."""
    proposal = run.proposals.select_related("unit").get(unit__name="东街村")
    assert not proposal.held
    other = ProposalAction.KEEP if proposal.action == ProposalAction.AWARD else "award"
    return proposal, other


NOT_COUNTY = ["township_official", "village_secretary", "department", "leader", "no_role"]


class TestAdjustment:
    @pytest.mark.parametrize("role", NOT_COUNTY)
    def test_propose_by_others_is_forbidden(self, users, run, role):
        with pytest.raises(ScoringError) as excinfo:
            services.adjustment_propose(user=users[role], period=run.period)
        assert excinfo.value.code == ErrorCode.FORBIDDEN

    @pytest.mark.parametrize("role", NOT_COUNTY)
    def test_override_by_others_is_forbidden(self, users, run, role):
        proposal, other = proposal_to_change(run)
        with pytest.raises(ScoringError) as excinfo:
            services.adjustment_override(
                user=users[role], proposal=proposal, action=other, reason="会议决定"
            )
        assert excinfo.value.code == ErrorCode.FORBIDDEN

    @pytest.mark.parametrize("role", NOT_COUNTY)
    def test_confirm_by_others_is_forbidden(self, users, run, role):
        with pytest.raises(ScoringError) as excinfo:
            services.adjustment_confirm(user=users[role], run=run)
        assert excinfo.value.code == ErrorCode.FORBIDDEN

    def test_an_unknown_township_is_not_found(self, county_staff, run):
        with pytest.raises(ScoringError) as excinfo:
            services.adjustment_propose(
                user=county_staff, period=run.period, township_codes=["410527999000"]
            )
        assert excinfo.value.code == ErrorCode.NOT_FOUND

    def test_a_period_not_final_is_a_conflict(self, county_staff, run, unit_a):
        period = factories.PeriodFactory(campaign=run.campaign, label="2026Q4")
        factories.AssessmentFactory(period=period, unit=unit_a, stage=Stage.COUNTY)
        with pytest.raises(ScoringError) as excinfo:
            services.adjustment_propose(user=county_staff, period=period)
        assert excinfo.value.code == ErrorCode.CONFLICT

    def test_a_period_without_assessments_is_a_conflict(self, county_staff, run):
        period = factories.PeriodFactory(campaign=run.campaign, label="2026Q4")
        with pytest.raises(ScoringError) as excinfo:
            services.adjustment_propose(user=county_staff, period=period)
        assert excinfo.value.code == ErrorCode.CONFLICT

    def test_awarding_what_is_held_is_a_conflict(self, county_staff, run):
        held = run.proposals.get(held=True)
        with pytest.raises(ScoringError) as excinfo:
            services.adjustment_override(
                user=county_staff, proposal=held, action=ProposalAction.AWARD, reason="会议决定"
            )
        assert (excinfo.value.code, excinfo.value.field) == (ErrorCode.CONFLICT, "action")

    def test_withdrawing_what_is_not_held_is_a_conflict(self, county_staff, run):
        # The mirror of the award above, which is CONFLICT already.
        proposal, _other = proposal_to_change(run)
        with pytest.raises(ScoringError) as excinfo:
            services.adjustment_override(
                user=county_staff,
                proposal=proposal,
                action=ProposalAction.WITHDRAW,
                reason="会议决定",
            )
        assert (excinfo.value.code, excinfo.value.field) == (ErrorCode.CONFLICT, "action")

    def test_an_unknown_decision_is_invalid(self, county_staff, run):
        proposal, _other = proposal_to_change(run)
        with pytest.raises(ScoringError) as excinfo:
            services.adjustment_override(
                user=county_staff, proposal=proposal, action="promote", reason="x"
            )
        assert (excinfo.value.code, excinfo.value.field) == (ErrorCode.INVALID, "action")

    def test_an_override_without_a_reason_is_required(self, county_staff, run):
        proposal, other = proposal_to_change(run)
        with pytest.raises(ScoringError) as excinfo:
            services.adjustment_override(
                user=county_staff, proposal=proposal, action=other, reason="  "
            )
        assert (excinfo.value.code, excinfo.value.field) == (ErrorCode.REQUIRED, "reason")

    def test_overriding_a_confirmed_proposal_is_a_conflict(self, county_staff, run):
        services.adjustment_confirm(user=county_staff, run=run)
        proposal, other = proposal_to_change(run)
        with pytest.raises(ScoringError) as excinfo:
            services.adjustment_override(
                user=county_staff, proposal=proposal, action=other, reason="会议决定"
            )
        assert excinfo.value.code == ErrorCode.CONFLICT


# --- rectification --------------------------------------------------------------------------


@pytest.fixture
def item(period, unit_a):
    """An item of 东街村 (township A), assigned: person, measure and deadline set."""
    return factories.RectificationItemFactory(
        assessment__period=period, assessment__unit=unit_a, deadline=dt.date(2026, 12, 31)
    )


def step(user, item, action, **kwargs):
    return services.rectification_step(user=user, item_id=item.pk, action=action, **kwargs)


def with_status(item, status):
    item.status = status
    item.save()
    return item


class TestRectification:
    def test_a_missing_item_is_not_found(self, county_staff):
        with pytest.raises(ScoringError) as excinfo:
            services.rectification_step(
                user=county_staff, item_id=999_999, action=RectificationAction.CLOSE
            )
        assert excinfo.value.code == ErrorCode.NOT_FOUND

    @pytest.mark.parametrize(
        ("status", "action", "roles"),
        [
            (
                RectificationStatus.OPEN,
                RectificationAction.ASSIGN,
                ["village_secretary", "department", "leader", "stranger"],
            ),
            (
                RectificationStatus.OPEN,
                RectificationAction.REPORT,
                ["county_staff", "department", "leader", "stranger"],
            ),
            (
                RectificationStatus.REPORTED,
                RectificationAction.VERIFY,
                ["village_secretary", "county_staff", "leader", "stranger"],
            ),
            (
                RectificationStatus.VERIFIED,
                RectificationAction.CLOSE,
                ["village_secretary", "township_official", "leader"],
            ),
            (
                RectificationStatus.REPORTED,
                RectificationAction.SEND_BACK,
                ["village_secretary", "county_staff", "stranger"],
            ),
        ],
    )
    def test_a_wrong_role_is_forbidden(self, users, item, status, action, roles):
        with_status(item, status)
        for role in roles:
            with pytest.raises(ScoringError) as excinfo:
                step(users[role], item, action, note="已整改")
            assert excinfo.value.code == ErrorCode.FORBIDDEN, role

    def test_a_step_not_open_from_the_status_is_forbidden(self, county_staff, item):
        # Closing an item still open: no (close, open) entry, so the policy refuses it.
        with pytest.raises(ScoringError) as excinfo:
            step(county_staff, item, RectificationAction.CLOSE)
        assert excinfo.value.code == ErrorCode.FORBIDDEN

    @pytest.mark.parametrize("note", ["", "  "])
    def test_a_report_without_a_note_is_required(self, village_secretary, item, note):
        with pytest.raises(ScoringError) as excinfo:
            step(village_secretary, item, RectificationAction.REPORT, note=note)
        assert (excinfo.value.code, excinfo.value.field) == (ErrorCode.REQUIRED, "note")

    def test_sending_back_without_a_reason_is_required(self, township_official, item):
        with_status(item, RectificationStatus.REPORTED)
        with pytest.raises(ScoringError) as excinfo:
            step(township_official, item, RectificationAction.SEND_BACK, note="")
        assert (excinfo.value.code, excinfo.value.field) == (ErrorCode.REQUIRED, "note")

    @pytest.mark.parametrize(
        ("missing", "field"),
        [
            ({"responsible_person": ""}, "responsible_person"),
            ({"measure": " "}, "measure"),
            ({"deadline": None}, "deadline"),
        ],
    )
    def test_an_assignment_without_its_parts_is_required(
        self, township_official, item, missing, field
    ):
        fields = {
            "responsible_person": "王五",
            "measure": "补齐台账",
            "deadline": dt.date(2026, 12, 1),
            **missing,
        }
        with pytest.raises(ScoringError) as excinfo:
            step(township_official, item, RectificationAction.ASSIGN, **fields)
        assert (excinfo.value.code, excinfo.value.field) == (ErrorCode.REQUIRED, field)

    def test_an_unknown_step_is_invalid(self, township_official, item):
        with pytest.raises(ScoringError) as excinfo:
            step(township_official, item, "escalate")
        assert excinfo.value.code == ErrorCode.INVALID

    def test_reporting_before_the_assignment_is_a_conflict(self, village_secretary, item):
        item.deadline = None
        item.save()
        with pytest.raises(ScoringError) as excinfo:
            step(village_secretary, item, RectificationAction.REPORT, note="已整改")
        assert excinfo.value.code == ErrorCode.CONFLICT

    def test_a_refused_attachment_is_a_file_error(self, village_secretary, item):
        upload = SimpleUploadedFile("report.exe", b"MZ" + b"\0" * 64)
        with pytest.raises(ScoringError) as excinfo:
            step(
                village_secretary,
                item,
                RectificationAction.REPORT,
                note="已整改",
                attachment=upload,
            )
        assert excinfo.value.code == ErrorCode.FILE


# --- unit targets (campaigns) ---------------------------------------------------------------


class TestUnitTargets:
    @pytest.mark.parametrize(
        ("role", "field"),
        [
            ("village_secretary", "recommended"),
            ("village_secretary", "decided"),
            ("leader", "decided"),
            ("township_official", "decided"),
            ("county_staff", "recommended"),
        ],
    )
    def test_a_wrong_role_is_forbidden(self, users, catalogue, unit_a, role, field):
        with pytest.raises(Refused) as excinfo:
            unit_targets_set(
                user=users[role], campaign=catalogue.campaign, levels={unit_a.id: 1}, field=field
            )
        assert excinfo.value.code == ErrorCode.FORBIDDEN

    def test_a_unit_out_of_scope_is_not_found(self, township_official, catalogue, unit_a, unit_b):
        with pytest.raises(Refused) as excinfo:
            unit_targets_set(
                user=township_official,
                campaign=catalogue.campaign,
                levels={unit_a.id: 1, unit_b.id: 1},
                field="recommended",
            )
        assert excinfo.value.code == ErrorCode.NOT_FOUND

    def test_a_level_out_of_range_is_invalid(self, county_staff, catalogue, unit_a):
        with pytest.raises(Refused) as excinfo:
            unit_targets_set(
                user=county_staff,
                campaign=catalogue.campaign,
                levels={unit_a.id: 9},
                field="decided",
            )
        assert excinfo.value.code == ErrorCode.INVALID


# --- Excel ----------------------------------------------------------------------------------


class TestExcel:
    @pytest.mark.parametrize(
        "content",
        [os.urandom(4000), b"PK\x03\x04 truncated", "单位,分数\n东街村,90\n".encode()],
        ids=["random", "broken-zip", "csv"],
    )
    def test_a_file_that_is_not_xlsx_is_an_import_error(self, township_official, content):
        upload = SimpleUploadedFile("scores.xlsx", content)
        with pytest.raises(ImportErrors) as excinfo:
            services.scores_import(user=township_official, file=upload)
        assert excinfo.value.code == ErrorCode.IMPORT
        assert [e.code for e in excinfo.value.errors] == ["not_xlsx"]

    def test_an_old_xls_is_an_import_error(self, township_official, db):
        ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512
        with pytest.raises(ImportErrors) as excinfo:
            services.scores_import(user=township_official, file=io.BytesIO(ole))
        assert excinfo.value.code == ErrorCode.IMPORT
        assert [e.code for e in excinfo.value.errors] == ["legacy_xls"]

    def test_a_template_for_a_stage_the_campaign_does_not_use_is_the_wrong_stage(
        self, village_secretary, catalogue, period
    ):
        catalogue.campaign.use_self_stage = False
        catalogue.campaign.save()
        with pytest.raises(ScoringError) as excinfo:
            template_build(user=village_secretary, period=period, stage=Stage.SELF)
        assert excinfo.value.code == ErrorCode.WRONG_STAGE

    def test_a_template_for_a_stage_the_user_does_not_score_is_forbidden(
        self, leader, catalogue, period
    ):
        with pytest.raises(ScoringError) as excinfo:
            template_build(user=leader, period=period, stage=Stage.COUNTY)
        assert excinfo.value.code == ErrorCode.FORBIDDEN


# --- jobs -----------------------------------------------------------------------------------


class TestJobs:
    def test_a_broker_that_is_down_is_a_queue_error(self, county_staff, catalogue):
        with broker_down(), pytest.raises(QueueError) as excinfo:
            tasks.export_job_queue(
                user=county_staff, kind=ExportKind.ROSTER, campaign=catalogue.campaign
            )
        assert excinfo.value.code == ErrorCode.QUEUE

    def test_an_unknown_export_is_invalid(self, county_staff, catalogue):
        with pytest.raises(ScoringError) as excinfo:
            services.export_job_start(user=county_staff, kind="zip", campaign=catalogue.campaign)
        assert excinfo.value.code == ErrorCode.INVALID

    @pytest.mark.parametrize("kind", [ExportKind.SCORES, ExportKind.RANKING])
    def test_a_period_export_without_a_period_is_required(self, catalogue, tmp_path, kind):
        with pytest.raises(ScoringError) as excinfo:
            services.export_write(tmp_path / "x.xlsx", kind=kind, campaign=catalogue.campaign)
        assert excinfo.value.code == ErrorCode.REQUIRED

    def test_a_report_being_produced_is_a_conflict(self, catalogue):
        ReportRun.objects.create(
            campaign=catalogue.campaign,
            month=dt.date(2026, 10, 1),
            status=JobStatus.RUNNING,
            started_at=timezone.now(),
        )
        with pytest.raises(ScoringError) as excinfo:
            services.report_run_start(campaign=catalogue.campaign, month=dt.date(2026, 10, 15))
        assert excinfo.value.code == ErrorCode.CONFLICT
