"""Constraints of periods, assessments, scores, holdings and rectification items."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from scoring.models import (
    AssessmentEventKind,
    HoldingChangeKind,
    Period,
    RectificationStatus,
    ScoreStage,
    Stage,
)
from tests import factories
from tests.helpers import violates

pytestmark = pytest.mark.django_db


class TestPeriod:
    def test_factory_label_sets_the_quarter(self):
        period = factories.PeriodFactory(label="2026Q3")
        assert period.starts_on == datetime.date(2026, 7, 1)
        assert period.ends_on == datetime.date(2026, 9, 30)

    @pytest.mark.parametrize("label", ["2026Q5", "2026Q0", "26Q1", "2026-3", "2026q3", "Q32026"])
    def test_label_format(self, label):
        campaign = factories.CampaignFactory()
        with violates("period_label_format"):
            Period.objects.create(
                campaign=campaign,
                label=label,
                starts_on=datetime.date(2026, 7, 1),
                ends_on=datetime.date(2026, 9, 30),
            )

    def test_label_validator_matches_the_constraint(self):
        day = datetime.date(2026, 7, 1)
        factories.PeriodFactory.build(label="2026Q3").full_clean(exclude=["campaign"])
        period = factories.PeriodFactory.build(label="2026Q5", starts_on=day, ends_on=day)
        with pytest.raises(ValidationError) as excinfo:
            period.full_clean(exclude=["campaign"])
        assert "label" in excinfo.value.message_dict

    def test_label_unique_per_campaign(self):
        period = factories.PeriodFactory(label="2026Q1")
        factories.PeriodFactory(label="2026Q1")  # another campaign
        with violates("period_unique_label", unique=True):
            factories.PeriodFactory(campaign=period.campaign, label="2026Q1")

    def test_dates_ordered(self):
        campaign = factories.CampaignFactory()
        with violates("period_dates_ordered"):
            factories.PeriodFactory(
                campaign=campaign,
                label="2026Q3",
                starts_on=datetime.date(2026, 9, 30),
                ends_on=datetime.date(2026, 7, 1),
            )

    def test_one_day_period_is_allowed(self):
        day = datetime.date(2026, 7, 1)
        factories.PeriodFactory(label="2026Q3", starts_on=day, ends_on=day)

    def test_status_is_a_known_one(self):
        campaign = factories.CampaignFactory()
        with violates("period_status_valid"):
            factories.PeriodFactory(campaign=campaign, status="paused")


class TestAssessment:
    def test_unique_per_unit_and_period(self, unit_a):
        assessment = factories.AssessmentFactory(unit=unit_a)
        factories.AssessmentFactory(unit=unit_a)  # another period
        with violates("assessment_unique_unit", unique=True):
            factories.AssessmentFactory(unit=unit_a, period=assessment.period)

    def test_final_needs_a_time(self, unit_a):
        period = factories.PeriodFactory()
        with violates("assessment_final_has_time"):
            factories.AssessmentFactory(unit=unit_a, period=period, stage=Stage.FINAL)

    def test_final_with_a_time(self, unit_a):
        assessment = factories.AssessmentFactory(
            unit=unit_a, stage=Stage.FINAL, finalised_at=timezone.now()
        )
        assert assessment.is_locked

    @pytest.mark.parametrize("stage", [Stage.SELF, Stage.TOWNSHIP, Stage.COUNTY])
    def test_earlier_stages_need_no_time(self, unit_a, stage):
        assessment = factories.AssessmentFactory(unit=unit_a, stage=stage)
        assert not assessment.is_locked

    def test_stage_is_a_known_one(self, unit_a):
        period = factories.PeriodFactory()
        with violates("assessment_stage_valid"):
            factories.AssessmentFactory(unit=unit_a, period=period, stage="mayor")


class TestAssessmentEvent:
    def test_return_needs_a_reason(self, unit_a):
        assessment = factories.AssessmentFactory(unit=unit_a, stage=Stage.TOWNSHIP)
        with violates("assessment_event_return_has_reason"):
            factories.AssessmentEventFactory(
                assessment=assessment,
                kind=AssessmentEventKind.RETURN,
                from_stage=Stage.TOWNSHIP,
                to_stage=Stage.SELF,
                reason="",
            )

    def test_return_with_a_reason(self, unit_a):
        factories.AssessmentEventFactory(
            assessment__unit=unit_a,
            kind=AssessmentEventKind.RETURN,
            from_stage=Stage.TOWNSHIP,
            to_stage=Stage.SELF,
            reason="台账照片缺失",
        )

    def test_submit_needs_no_reason(self, unit_a):
        factories.AssessmentEventFactory(assessment__unit=unit_a, reason="")

    def test_kind_is_a_known_one(self, unit_a):
        assessment = factories.AssessmentFactory(unit=unit_a)
        with violates("assessment_event_kind_valid"):
            factories.AssessmentEventFactory(assessment=assessment, kind="skip")


class TestScore:
    def test_unique_per_stage(self, unit_a):
        score = factories.ScoreFactory(assessment__unit=unit_a, stage=ScoreStage.SELF)
        factories.ScoreFactory(
            assessment=score.assessment, indicator=score.indicator, stage=ScoreStage.TOWNSHIP
        )
        with violates("score_unique_per_stage", unique=True):
            factories.ScoreFactory(
                assessment=score.assessment, indicator=score.indicator, stage=ScoreStage.SELF
            )

    def test_value_not_negative(self, unit_a):
        assessment = factories.AssessmentFactory(unit=unit_a)
        with violates("score_value_not_negative"):
            factories.ScoreFactory(assessment=assessment, value=Decimal("-0.5"))

    @pytest.mark.parametrize("value", [None, Decimal("0")])
    def test_empty_or_zero_value(self, unit_a, value):
        factories.ScoreFactory(assessment__unit=unit_a, value=value)

    def test_final_is_not_a_score_stage(self, unit_a):
        assessment = factories.AssessmentFactory(unit=unit_a)
        with violates("score_stage_valid"):
            factories.ScoreFactory(assessment=assessment, stage=Stage.FINAL)

    def test_factory_keeps_the_indicator_in_the_assessments_campaign(self, unit_a):
        score = factories.ScoreFactory(assessment__unit=unit_a)
        assert score.indicator.dimension.campaign == score.assessment.period.campaign


class TestHolding:
    def test_unique_per_unit_and_dimension(self, unit_a, unit_b):
        holding = factories.HoldingFactory(unit=unit_a)
        factories.HoldingFactory(unit=unit_b, dimension=holding.dimension)
        with violates("holding_unique", unique=True):
            factories.HoldingFactory(unit=unit_a, dimension=holding.dimension)

    def test_change_once_per_period(self, unit_a):
        change = factories.HoldingChangeFactory(unit=unit_a, kind=HoldingChangeKind.AWARD)
        factories.HoldingChangeFactory(
            unit=unit_a,
            dimension=change.dimension,
            period=factories.PeriodFactory(campaign=change.period.campaign),
            kind=HoldingChangeKind.WITHDRAW,
        )
        with violates("holding_change_once_per_period", unique=True):
            factories.HoldingChangeFactory(
                unit=unit_a,
                dimension=change.dimension,
                period=change.period,
                kind=HoldingChangeKind.WITHDRAW,
            )

    def test_change_kind_is_a_known_one(self, unit_a):
        period = factories.PeriodFactory()
        with violates("holding_change_kind_valid"):
            factories.HoldingChangeFactory(unit=unit_a, period=period, kind="keep")


class TestRectificationItem:
    def test_closed_needs_a_time(self, unit_a):
        assessment = factories.AssessmentFactory(
            unit=unit_a, stage=Stage.FINAL, finalised_at=timezone.now()
        )
        with violates("rectification_closed_has_time"):
            factories.RectificationItemFactory(
                assessment=assessment, status=RectificationStatus.CLOSED
            )

    def test_closed_with_a_time(self, unit_a):
        item = factories.RectificationItemFactory(
            assessment__unit=unit_a, status=RectificationStatus.CLOSED, closed_at=timezone.now()
        )
        assert not type(item).objects.open().exists()

    def test_open_items(self, unit_a):
        item = factories.RectificationItemFactory(assessment__unit=unit_a)
        assert list(type(item).objects.open()) == [item]

    def test_unique_per_indicator(self, unit_a):
        item = factories.RectificationItemFactory(assessment__unit=unit_a)
        with violates("rectification_unique_per_indicator", unique=True):
            factories.RectificationItemFactory(assessment=item.assessment, indicator=item.indicator)

    def test_points_lost_not_negative(self, unit_a):
        assessment = factories.AssessmentFactory(
            unit=unit_a, stage=Stage.FINAL, finalised_at=timezone.now()
        )
        with violates("rectification_points_not_negative"):
            factories.RectificationItemFactory(assessment=assessment, points_lost=Decimal("-1"))
