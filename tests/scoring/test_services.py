"""Scoring services: input validation, audited and versioned score saves, stage transitions by
role and stage, set-based submission, carry-over, events and period opening.

The catalogue is the small one from tests.factories.Catalogue (9 indicators for a village, 5 for
a community). Messages are compared with the catalogue's translation of the same msgid, so the
tests hold whichever language the project's catalogue gives.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext

from campaigns.models import CampaignStatus, Indicator, IndicatorKind
from scoring import services
from scoring.errors import InputErrors, LockedError, ScoringError, StaleScores
from scoring.inputs import ScoreInput, parse_points, validate_input
from scoring.models import (
    Assessment,
    AssessmentEvent,
    AssessmentEventKind,
    ChangeSource,
    PeriodStatus,
    Score,
    ScoreChange,
    Stage,
)
from tests import factories
from tests.scenarios import assessment_at
from villages.access import scope_for
from villages.models import UnitKind

UTC = dt.UTC


def msg(msgid: str, **params) -> str:
    """The message as the services word it in the active language."""
    text = gettext(msgid)
    return text % params if params else text


def one(assessment, indicator, value=None, **kwargs) -> ScoreInput:
    return ScoreInput(
        assessment_id=assessment.id,
        indicator_id=indicator.id,
        value=None if value is None else Decimal(value),
        **kwargs,
    )


def save(user, stage, *inputs, **kwargs):
    return services.scores_save(user=user, stage=stage, inputs=list(inputs), **kwargs)


def freeze(monkeypatch, when: dt.datetime) -> dt.datetime:
    monkeypatch.setattr(timezone, "now", lambda: when)
    return when


def reload(assessment) -> Assessment:
    return Assessment.objects.get(pk=assessment.pk)


# --- validation (no database) ---------------------------------------------------------------


class TestParsePoints:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("7", Decimal("7")),
            (" 6.5 ", Decimal("6.5")),
            ("6,5", Decimal("6.5")),
            ("6。5", Decimal("6.5")),
            ("0", Decimal("0")),
            ("", None),
            ("   ", None),
            (None, None),
        ],
    )
    def test_it_reads_what_people_type(self, raw, expected):
        assert parse_points(raw) == expected

    @pytest.mark.parametrize("raw", ["abc", "7分", "6,5,1", "1e", "NaN", "Infinity", "-inf"])
    def test_it_refuses_what_is_not_a_number(self, raw):
        with pytest.raises(ValueError):
            parse_points(raw)


def points(max_points="10", kind=IndicatorKind.POINTS) -> Indicator:
    return Indicator(kind=kind, max_points=Decimal(max_points))


class TestValidateInput:
    def check(self, indicator, value=None, note="", vetoed=None):
        item = ScoreInput(
            assessment_id=1,
            indicator_id=1,
            value=None if value is None else Decimal(value),
            note=note,
            vetoed=vetoed,
        )
        return validate_input(item, indicator)

    def test_full_marks_need_no_note(self):
        assert self.check(points(), "10") == []

    def test_a_deduction_with_a_note_is_valid(self):
        assert self.check(points(), "6.5", note="台账不全") == []

    def test_no_value_is_valid(self):
        assert self.check(points()) == []

    def test_it_refuses_negative_points(self):
        assert self.check(points(), "-1", note="x") == [
            ("value", msg("Points cannot be negative."))
        ]

    def test_it_refuses_points_above_the_max(self):
        assert self.check(points("10"), "10.01") == [
            ("value", msg("At most %(max)s points for this indicator.", max=Decimal("10")))
        ]

    def test_it_refuses_more_than_two_decimals(self):
        assert self.check(points(), "6.555", note="x") == [
            ("value", msg("Use at most two decimal places."))
        ]

    def test_trailing_zeros_are_not_extra_decimals(self):
        assert self.check(points(), "6.500", note="x") == []

    @pytest.mark.parametrize("note", ["", "   "])
    def test_a_deduction_needs_a_note(self, note):
        assert self.check(points(), "6", note=note) == [
            ("note", msg("Say why points were deducted."))
        ]

    def test_bonus_below_its_max_needs_no_note(self):
        assert self.check(points("5", IndicatorKind.BONUS), "2") == []

    def test_bonus_above_its_max_is_refused(self):
        assert self.check(points("5", IndicatorKind.BONUS), "6") == [
            ("value", msg("At most %(max)s points for this indicator.", max=Decimal("5")))
        ]

    @pytest.mark.parametrize("value", ["-5", "1000", "0.001", None])
    def test_veto_ignores_the_value(self, value):
        assert self.check(points("0", IndicatorKind.VETO), value, vetoed=True) == []


# --- scores_save ----------------------------------------------------------------------------


@pytest.mark.django_db
class TestScoresSave:
    def test_it_audits_each_change(self, monkeypatch, village_secretary, catalogue, assessment_a):
        first = freeze(monkeypatch, dt.datetime(2026, 9, 1, 2, 0, tzinfo=UTC))
        item = catalogue.shared_points[0]
        result = save(
            village_secretary,
            Stage.SELF,
            one(assessment_a, item, "35", note="  台账不全 ", expected_version=0),
        )
        [change] = result.changes
        change = ScoreChange.objects.get(pk=change.pk)
        score = Score.objects.get(assessment=assessment_a, indicator=item, stage=Stage.SELF)
        assert change.score == score
        assert (change.assessment, change.indicator, change.stage) == (
            assessment_a,
            item,
            Stage.SELF,
        )
        assert (change.old_value, change.new_value) == (None, Decimal("35"))
        assert change.note == "台账不全"
        assert change.source == ChangeSource.WEB
        assert change.after_submission is False
        assert (change.changed_by, change.changed_at) == (village_secretary, first)
        assert (score.value, score.note, score.version) == (Decimal("35"), "台账不全", 1)
        assert (score.updated_by, score.updated_at) == (village_secretary, first)
        assert reload(assessment_a).updated_at == first

        second = freeze(monkeypatch, dt.datetime(2026, 9, 2, 3, 0, tzinfo=UTC))
        save(
            village_secretary,
            Stage.SELF,
            one(assessment_a, item, "38", note="已补", expected_version=1),
            source=ChangeSource.UPLOAD,
        )
        latest = ScoreChange.objects.filter(score=score).order_by("-id").first()
        assert (latest.old_value, latest.new_value, latest.note) == (
            Decimal("35"),
            Decimal("38"),
            "已补",
        )
        assert (latest.source, latest.changed_at) == (ChangeSource.UPLOAD, second)
        score.refresh_from_db()
        assert (score.value, score.version) == (Decimal("38"), 2)
        assert ScoreChange.objects.filter(score=score).count() == 2

    def test_it_audits_a_veto_without_points(self, village_secretary, catalogue, assessment_a):
        veto = catalogue.shared_veto
        save(village_secretary, Stage.SELF, one(assessment_a, veto, "5", vetoed=True))
        change = ScoreChange.objects.get(indicator=veto)
        assert (change.old_vetoed, change.new_vetoed) == (None, True)
        assert (change.old_value, change.new_value) == (None, None)
        assert Score.objects.get(indicator=veto).value is None

    def test_it_marks_edits_after_a_return(
        self, village_secretary, township_official, catalogue, assessment_a
    ):
        indicators = catalogue.for_kind(UnitKind.VILLAGE)
        save(
            village_secretary,
            Stage.SELF,
            *[
                one(
                    assessment_a,
                    ind,
                    factories.full_marks(ind)["value"],
                    vetoed=factories.full_marks(ind)["vetoed"],
                )
                for ind in indicators
            ],
        )
        assert not ScoreChange.objects.filter(after_submission=True).exists()
        services.assessment_submit(user=village_secretary, assessment_id=assessment_a.id)
        # The township edits its own stage before submitting: not after a submission.
        item = catalogue.shared_points[0]
        save(township_official, Stage.TOWNSHIP, one(assessment_a, item, "30", note="扣10分"))
        assert not ScoreChange.objects.filter(after_submission=True).exists()

        services.assessment_return(
            user=township_official, assessment_id=assessment_a.id, reason="请补充台账"
        )
        save(village_secretary, Stage.SELF, one(assessment_a, item, "36", note="补充后"))
        [late] = ScoreChange.objects.filter(after_submission=True)
        assert (late.stage, late.old_value, late.new_value) == (
            Stage.SELF,
            Decimal("40"),
            Decimal("36"),
        )
        assert late.changed_by == village_secretary

    def test_unchanged_inputs_write_nothing(self, village_secretary, catalogue, assessment_a):
        item = catalogue.shared_points[0]
        save(village_secretary, Stage.SELF, one(assessment_a, item, "35", note="台账不全"))
        score = Score.objects.get(indicator=item)
        result = save(
            village_secretary,
            Stage.SELF,
            one(assessment_a, item, "35.00", note=" 台账不全 ", expected_version=1),
            # An empty row that was never scored creates nothing either.
            one(assessment_a, catalogue.shared_points[1], expected_version=0),
        )
        assert result.changes == []
        assert ScoreChange.objects.count() == 1
        assert Score.objects.count() == 1
        fresh = Score.objects.get(pk=score.pk)
        assert (fresh.version, fresh.updated_at) == (1, score.updated_at)

    def test_the_same_score_twice_in_one_call_is_refused(
        self, village_secretary, catalogue, assessment_a
    ):
        """A caller (a script, a sheet with a repeated row) may send one score twice: that is
        a refusal the user can act on, not a crash half-way through the writes."""
        item = catalogue.shared_points[0]
        with pytest.raises(ScoringError):
            save(
                village_secretary,
                Stage.SELF,
                one(assessment_a, item, "40"),
                one(assessment_a, item, "35", note="重复"),
            )
        assert not Score.objects.exists()
        assert not ScoreChange.objects.exists()

    def test_it_refuses_a_stale_version_and_writes_nothing(
        self, village_secretary, superuser, catalogue, assessment_a
    ):
        item, other = catalogue.shared_points[:2]
        save(village_secretary, Stage.SELF, one(assessment_a, item, "35", note="台账不全"))
        # Someone else saves the same score after the secretary loaded version 1.
        save(superuser, Stage.SELF, one(assessment_a, item, "30", note="复核", expected_version=1))
        with pytest.raises(StaleScores) as excinfo:
            save(
                village_secretary,
                Stage.SELF,
                one(assessment_a, item, "40", expected_version=1),
                one(assessment_a, other, "30", expected_version=0),
            )
        [stale] = excinfo.value.stale
        assert (stale.assessment_id, stale.indicator_id) == (assessment_a.id, item.id)
        assert (stale.current.value, stale.current.version) == (Decimal("30"), 2)
        assert stale.current.updated_by == superuser
        assert excinfo.value.message == msg(
            "Someone else saved %(n)d of these scores after you opened the page. "
            "Nothing was saved; the current values are shown. Check them and save again.",
            n=1,
        )
        assert ScoreChange.objects.count() == 2
        assert not Score.objects.filter(indicator=other).exists()
        assert Score.objects.get(indicator=item).value == Decimal("30")

    def test_it_refuses_a_score_created_meanwhile(
        self, village_secretary, superuser, catalogue, assessment_a
    ):
        item = catalogue.shared_points[0]
        save(superuser, Stage.SELF, one(assessment_a, item, "30", note="复核", expected_version=0))
        with pytest.raises(StaleScores) as excinfo:
            save(village_secretary, Stage.SELF, one(assessment_a, item, "40", expected_version=0))
        assert excinfo.value.stale[0].current.version == 1
        assert ScoreChange.objects.count() == 1
        assert Score.objects.get(indicator=item).value == Decimal("30")

    def test_no_expected_version_skips_the_check(
        self, village_secretary, superuser, catalogue, assessment_a
    ):
        item = catalogue.shared_points[0]
        save(superuser, Stage.SELF, one(assessment_a, item, "30", note="复核"))
        save(village_secretary, Stage.SELF, one(assessment_a, item, "40"))
        assert Score.objects.get(indicator=item).version == 2

    def test_changed_since_refuses_only_others_later_saves(
        self, village_secretary, superuser, catalogue, assessment_a
    ):
        """Excel uploads: a score saved by someone else after the sheet was made is stale."""
        mine, theirs_before, theirs_after = catalogue.shared_points
        downloaded = dt.datetime(2026, 9, 10, 8, 0, tzinfo=UTC)
        save(village_secretary, Stage.SELF, one(assessment_a, mine, "30", note="a"))
        save(superuser, Stage.SELF, one(assessment_a, theirs_before, "20", note="b"))
        save(superuser, Stage.SELF, one(assessment_a, theirs_after, "20", note="c"))
        Score.objects.filter(indicator__in=[mine, theirs_after]).update(
            updated_at=downloaded + dt.timedelta(minutes=5)
        )
        Score.objects.filter(indicator=theirs_before).update(
            updated_at=downloaded - dt.timedelta(minutes=5)
        )
        with pytest.raises(StaleScores) as excinfo:
            save(
                village_secretary,
                Stage.SELF,
                # expected_version is ignored when changed_since is given
                one(assessment_a, mine, "31", note="a", expected_version=99),
                one(assessment_a, theirs_before, "21", note="b"),
                one(assessment_a, theirs_after, "21", note="c"),
                changed_since=downloaded,
            )
        assert [s.indicator_id for s in excinfo.value.stale] == [theirs_after.id]

        result = save(
            village_secretary,
            Stage.SELF,
            one(assessment_a, mine, "31", note="a", expected_version=99),
            one(assessment_a, theirs_before, "21", note="b"),
            changed_since=downloaded,
        )
        assert len(result.changes) == 2

    def test_it_refuses_an_indicator_that_does_not_apply(
        self, superuser, catalogue, period, township_a
    ):
        community = factories.UnitFactory(township=township_a, kind=UnitKind.COMMUNITY)
        assessment = factories.AssessmentFactory(period=period, unit=community)
        foreign = factories.IndicatorFactory()  # another campaign's catalogue
        shared, village_only = catalogue.shared_points[0], catalogue.village_points[0]
        with pytest.raises(InputErrors) as excinfo:
            save(
                superuser,
                Stage.SELF,
                one(assessment, shared, "40"),
                one(assessment, village_only, "60"),
                one(assessment, foreign, "10"),
            )
        refused = [("value", msg("This indicator does not apply to this unit."))]
        assert excinfo.value.errors == {
            (assessment.id, village_only.id): refused,
            (assessment.id, foreign.id): refused,
        }
        assert not Score.objects.exists()
        assert not ScoreChange.objects.exists()

    def test_a_department_scores_only_its_indicators(
        self, department_user, catalogue, period, unit_a
    ):
        assessment = factories.AssessmentFactory(period=period, unit=unit_a, stage=Stage.COUNTY)
        theirs, not_theirs = catalogue.lead, catalogue.shared_points[0]
        with pytest.raises(InputErrors) as excinfo:
            save(
                department_user,
                Stage.COUNTY,
                one(assessment, theirs, "30"),
                one(assessment, not_theirs, "40"),
            )
        assert excinfo.value.errors == {
            (assessment.id, not_theirs.id): [
                ("value", msg("Only the lead department of this indicator may score it."))
            ]
        }
        assert not Score.objects.exists()

        save(department_user, Stage.COUNTY, one(assessment, theirs, "25", note="缺台账"))
        assert Score.objects.get(indicator=theirs).updated_by == department_user

    def test_a_final_assessment_is_locked_naming_who_and_when(
        self, village_secretary, county_staff, catalogue, period, unit_a
    ):
        county_staff.first_name, county_staff.last_name = "王科长", ""
        county_staff.save()
        assessment = factories.AssessmentFactory(
            period=period,
            unit=unit_a,
            stage=Stage.FINAL,
            finalised_by=county_staff,
            # 16:05 UTC is five past midnight the next day in Asia/Shanghai
            finalised_at=dt.datetime(2026, 9, 30, 16, 5, tzinfo=UTC),
        )
        for user, stage in ((county_staff, Stage.COUNTY), (village_secretary, Stage.SELF)):
            with pytest.raises(LockedError) as excinfo:
                save(user, stage, one(assessment, catalogue.shared_points[0], "40"))
            assert excinfo.value.message == msg(
                "This assessment was finalised by %(who)s on %(when)s and is locked.",
                who="王科长",
                when="2026-10-01 00:05",
            )
        assert not Score.objects.exists()

    def test_it_refuses_a_stage_the_assessment_is_not_at(
        self, village_secretary, township_official, catalogue, period, unit_a
    ):
        assessment = factories.AssessmentFactory(period=period, unit=unit_a, stage=Stage.TOWNSHIP)
        item = catalogue.shared_points[0]
        with pytest.raises(ScoringError) as excinfo:
            save(village_secretary, Stage.SELF, one(assessment, item, "40"))
        assert not isinstance(excinfo.value, LockedError)
        assert excinfo.value.message == msg(
            "%(unit)s is at the stage “%(now)s”; scores of “%(stage)s” cannot be changed now.",
            unit="东街村",
            now=Stage.TOWNSHIP.label,
            stage=Stage.SELF.label,
        )
        with pytest.raises(ScoringError):
            save(township_official, Stage.COUNTY, one(assessment, item, "40"))
        assert not Score.objects.exists()

    def test_a_closed_period_is_locked(self, village_secretary, catalogue, period, assessment_a):
        period.status = PeriodStatus.CLOSED
        period.save()
        with pytest.raises(LockedError) as excinfo:
            save(village_secretary, Stage.SELF, one(assessment_a, catalogue.shared_points[0], "40"))
        assert excinfo.value.message == msg("The period %(p)s is closed.", p="2026Q3")
        with pytest.raises(LockedError):
            services.assessment_submit(user=village_secretary, assessment_id=assessment_a.id)
        assert not Score.objects.exists()


# --- who may do what at which stage ---------------------------------------------------------

ROLES = [
    "village_secretary",
    "township_official",
    "county_staff",
    "department",
    "leader",
    "stranger",
    "superuser",
]
ALLOWED = {
    ("save", Stage.SELF): {"village_secretary", "superuser"},
    ("save", Stage.TOWNSHIP): {"township_official", "superuser"},
    ("save", Stage.COUNTY): {"county_staff", "department", "superuser"},
    ("save", Stage.FINAL): set(),
    ("submit", Stage.SELF): {"village_secretary", "superuser"},
    ("submit", Stage.TOWNSHIP): {"township_official", "superuser"},
    ("submit", Stage.COUNTY): {"county_staff", "superuser"},  # departments cannot submit
    ("submit", Stage.FINAL): set(),
    ("return", Stage.SELF): set(),  # nothing before the first stage
    ("return", Stage.TOWNSHIP): {"township_official", "superuser"},
    ("return", Stage.COUNTY): {"county_staff", "superuser"},
    ("return", Stage.FINAL): set(),
}
NEXT = {Stage.SELF: Stage.TOWNSHIP, Stage.TOWNSHIP: Stage.COUNTY, Stage.COUNTY: Stage.FINAL}
PREVIOUS = {Stage.TOWNSHIP: Stage.SELF, Stage.COUNTY: Stage.TOWNSHIP}
MATRIX = [
    pytest.param(
        action, stage, role, role in ALLOWED[(action, stage)], id=f"{action}-{stage}-{role}"
    )
    for action in ("save", "submit", "return")
    for stage in (Stage.SELF, Stage.TOWNSHIP, Stage.COUNTY, Stage.FINAL)
    for role in ROLES
]


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "stage", "role", "allowed"), MATRIX)
def test_transition_matrix(users, catalogue, period, unit_a, action, stage, role, allowed):
    user = users[role]
    assessment = assessment_at(period, unit_a, stage, catalogue, finaliser=users["county_staff"])
    score_stage = Stage.COUNTY if stage == Stage.FINAL else stage
    lead = Score.objects.get(assessment=assessment, indicator=catalogue.lead, stage=score_stage)

    def act():
        if action == "save":
            item = one(assessment, catalogue.lead, "25", note="缺一项台账", expected_version=1)
            save(user, score_stage, item)
        elif action == "submit":
            services.assessment_submit(user=user, assessment_id=assessment.id)
        else:
            services.assessment_return(user=user, assessment_id=assessment.id, reason="请核实")

    if not allowed:
        with pytest.raises(LockedError if stage == Stage.FINAL else ScoringError):
            act()
        after = reload(assessment)
        assert (after.stage, after.version) == (stage, assessment.version)
        assert not AssessmentEvent.objects.exists()
        assert not ScoreChange.objects.exists()
        assert Score.objects.get(pk=lead.pk).value == lead.value
        return

    act()
    after = reload(assessment)
    if action == "save":
        assert Score.objects.get(pk=lead.pk).value == Decimal("25")
        assert ScoreChange.objects.get().changed_by == user
        assert after.stage == stage
    elif action == "submit":
        assert after.stage == NEXT[stage]
    else:
        assert after.stage == PREVIOUS[stage]
    if action != "save":
        event = AssessmentEvent.objects.get()
        assert (event.from_stage, event.to_stage, event.actor) == (stage, after.stage, user)


STAGE_SETS = [
    pytest.param(True, True, [Stage.SELF, Stage.TOWNSHIP, Stage.COUNTY, Stage.FINAL], id="all"),
    pytest.param(False, True, [Stage.TOWNSHIP, Stage.COUNTY, Stage.FINAL], id="no-self"),
    pytest.param(True, False, [Stage.SELF, Stage.COUNTY, Stage.FINAL], id="no-township"),
    pytest.param(False, False, [Stage.COUNTY, Stage.FINAL], id="county-only"),
]
# Where a return sends an assessment at each scoring stage after the first (None: refused).
RETURNS = [
    pytest.param(True, True, {Stage.TOWNSHIP: Stage.SELF, Stage.COUNTY: Stage.TOWNSHIP}, id="all"),
    pytest.param(False, True, {Stage.COUNTY: Stage.TOWNSHIP}, id="no-self"),
    pytest.param(True, False, {Stage.COUNTY: Stage.SELF}, id="no-township"),
    pytest.param(False, False, {Stage.COUNTY: None}, id="county-only"),
]


@pytest.mark.django_db
class TestStageSwitches:
    @pytest.fixture
    def campaign(self, catalogue, use_self, use_township):
        campaign = catalogue.campaign
        campaign.use_self_stage, campaign.use_township_stage = use_self, use_township
        campaign.save()
        return campaign

    @pytest.mark.parametrize(("use_self", "use_township", "order"), STAGE_SETS)
    def test_a_period_starts_at_the_first_stage(
        self, county_staff, campaign, unit_a, use_self, use_township, order
    ):
        period = services.period_open(
            user=county_staff,
            campaign=campaign,
            label="2026Q4",
            starts_on=dt.date(2026, 10, 1),
            ends_on=dt.date(2026, 12, 31),
        )
        assert period.assessments.get(unit=unit_a).stage == order[0]

    @pytest.mark.parametrize(("use_self", "use_township", "order"), STAGE_SETS)
    def test_submitting_walks_the_campaign_stages(
        self, superuser, catalogue, campaign, period, unit_a, use_self, use_township, order
    ):
        assessment = assessment_at(period, unit_a, order[0], catalogue)
        visited = []
        while assessment.stage != Stage.FINAL:
            assessment = services.assessment_submit(user=superuser, assessment_id=assessment.id)
            visited.append(assessment.stage)
        assert visited == order[1:]
        # Every later scoring stage starts from the first stage's scores, skipped stages aside.
        carried = set(
            ScoreChange.objects.filter(source=ChangeSource.CARRIED).values_list("stage", flat=True)
        )
        assert carried == set(order[1:-1])
        assert Score.objects.filter(stage__in=order[1:-1]).count() == 9 * len(order[1:-1])

    @pytest.mark.parametrize(("use_self", "use_township", "returns"), RETURNS)
    def test_a_return_goes_back_one_stage(
        self, superuser, catalogue, campaign, period, unit_a, use_self, use_township, returns
    ):
        """Every scoring stage the campaign uses goes back to the one before it, skipped stages
        aside; with the county stage alone there is nothing before it and the return is refused."""
        for stage, back in returns.items():
            assessment = assessment_at(
                period, factories.UnitFactory(township=unit_a.township), stage, catalogue
            )
            if back is None:
                with pytest.raises(ScoringError) as excinfo:
                    services.assessment_return(
                        user=superuser, assessment_id=assessment.id, reason="重评"
                    )
                assert excinfo.value.message == msg("There is no earlier stage to return it to.")
                assert reload(assessment).stage == stage
                assert not AssessmentEvent.objects.filter(assessment=assessment).exists()
                continue
            services.assessment_return(user=superuser, assessment_id=assessment.id, reason="重评")
            assert reload(assessment).stage == back
            event = AssessmentEvent.objects.get(assessment=assessment)
            assert (event.kind, event.from_stage, event.to_stage) == (
                AssessmentEventKind.RETURN,
                stage,
                back,
            )

    @pytest.mark.parametrize(("use_self", "use_township", "order"), STAGE_SETS)
    def test_there_is_no_return_from_the_first_stage(
        self, superuser, catalogue, campaign, period, unit_a, use_self, use_township, order
    ):
        assessment = assessment_at(period, unit_a, order[0], catalogue)
        with pytest.raises(ScoringError) as excinfo:
            services.assessment_return(user=superuser, assessment_id=assessment.id, reason="重评")
        if order[0] != Stage.SELF:
            assert excinfo.value.message == msg("There is no earlier stage to return it to.")
        assert reload(assessment).stage == order[0]
        assert not AssessmentEvent.objects.exists()


# --- submit, return, finalise ---------------------------------------------------------------


@pytest.mark.django_db
class TestSubmit:
    def test_it_refuses_an_incomplete_sheet_with_the_count(
        self, village_secretary, catalogue, assessment_a
    ):
        indicators = catalogue.for_kind(UnitKind.VILLAGE)
        skipped = [catalogue.shared_veto, catalogue.village_bonus, catalogue.village_points[0]]
        factories.scores_fill(assessment_a, Stage.SELF, [i for i in indicators if i not in skipped])
        # A note without points does not score an indicator.
        Score.objects.create(
            assessment=assessment_a, indicator=skipped[0], stage=Stage.SELF, note="待核实"
        )
        with pytest.raises(ScoringError) as excinfo:
            services.assessment_submit(user=village_secretary, assessment_id=assessment_a.id)
        assert excinfo.value.message == msg(
            "%(unit)s: %(n)d indicators are not scored yet; score them first.", unit="东街村", n=3
        )
        assert reload(assessment_a).stage == Stage.SELF

    def test_a_community_needs_only_the_shared_indicators(
        self, superuser, catalogue, period, township_a
    ):
        community = factories.UnitFactory(township=township_a, kind=UnitKind.COMMUNITY)
        assessment = assessment_at(period, community, Stage.SELF, catalogue)
        assert Score.objects.filter(assessment=assessment).count() == 5
        services.assessment_submit(user=superuser, assessment_id=assessment.id)
        assert reload(assessment).stage == Stage.TOWNSHIP

    def test_it_refuses_a_stale_assessment_version(
        self, village_secretary, catalogue, assessment_a
    ):
        factories.scores_fill(assessment_a, Stage.SELF, catalogue.for_kind(UnitKind.VILLAGE))
        Assessment.objects.filter(pk=assessment_a.pk).update(version=2)
        with pytest.raises(ScoringError):
            services.assessment_submit(
                user=village_secretary, assessment_id=assessment_a.id, expected_version=1
            )
        assert reload(assessment_a).stage == Stage.SELF

    def test_many_at_once_submits_some_and_refuses_others(
        self, township_official, catalogue, period, township_a, unit_a, unit_b
    ):
        ready = assessment_at(period, unit_a, Stage.TOWNSHIP, catalogue)
        incomplete = factories.AssessmentFactory(
            period=period,
            unit=factories.UnitFactory(township=township_a, name="南关村"),
            stage=Stage.TOWNSHIP,
        )
        too_early = assessment_at(
            period, factories.UnitFactory(township=township_a, name="北关村"), Stage.SELF, catalogue
        )
        elsewhere = assessment_at(period, unit_b, Stage.TOWNSHIP, catalogue)
        missing = 999_999
        done, refused = services.assessments_submit(
            user=township_official,
            assessment_ids=[ready.id, incomplete.id, too_early.id, elsewhere.id, missing],
        )
        assert [a.id for a in done] == [ready.id]
        reasons = {assessment_id: error.message for assessment_id, error in refused}
        assert reasons == {
            incomplete.id: msg(
                "%(unit)s: %(n)d indicators are not scored yet; score them first.",
                unit="南关村",
                n=9,
            ),
            too_early.id: msg("You may not do this at the stage “%(s)s”.", s=Stage.SELF.label),
            elsewhere.id: msg("You may not do this at the stage “%(s)s”.", s=Stage.TOWNSHIP.label),
            missing: msg("An assessment was not found."),
        }
        stages = dict(Assessment.objects.values_list("id", "stage"))
        assert stages == {
            ready.id: Stage.COUNTY,
            incomplete.id: Stage.TOWNSHIP,
            too_early.id: Stage.SELF,
            elsewhere.id: Stage.TOWNSHIP,
        }
        assert list(AssessmentEvent.objects.values_list("assessment_id", flat=True)) == [ready.id]

    def test_many_at_once_is_one_transaction(
        self, monkeypatch, township_official, catalogue, period, township_a
    ):
        units = factories.UnitFactory.create_batch(3, township=township_a)
        assessments = [assessment_at(period, u, Stage.TOWNSHIP, catalogue) for u in units]

        def fail(*args, **kwargs):
            raise RuntimeError("database went away")

        monkeypatch.setattr(AssessmentEvent.objects, "bulk_create", fail)
        with pytest.raises(RuntimeError):
            services.assessments_submit(
                user=township_official, assessment_ids=[a.id for a in assessments]
            )
        assert set(Assessment.objects.values_list("stage", flat=True)) == {Stage.TOWNSHIP}
        assert not Score.objects.filter(stage=Stage.COUNTY).exists()
        assert not ScoreChange.objects.exists()

    def test_many_at_once_costs_the_same_queries_for_1_and_10(
        self, django_assert_num_queries, township_official, catalogue, period, township_a
    ):
        # Community units (5 indicators): the carried rows of ten stay within one insert even
        # on SQLite, which splits an insert at 999 parameters (about 76 audit rows).
        units = factories.UnitFactory.create_batch(11, township=township_a, kind=UnitKind.COMMUNITY)
        assessments = [assessment_at(period, u, Stage.TOWNSHIP, catalogue) for u in units]
        scope_for(township_official)  # the scope is looked up once per request, not here
        # savepoint, lock assessments, indicator counts, scored counts, scores to carry,
        # insert carried scores, insert their audit, update assessments, insert events, release
        with django_assert_num_queries(10):
            done, refused = services.assessments_submit(
                user=township_official, assessment_ids=[assessments[0].id]
            )
        assert (len(done), refused) == (1, [])
        with django_assert_num_queries(10):
            done, refused = services.assessments_submit(
                user=township_official, assessment_ids=[a.id for a in assessments[1:]]
            )
        assert (len(done), refused) == (10, [])
        assert set(Assessment.objects.values_list("stage", flat=True)) == {Stage.COUNTY}
        assert ScoreChange.objects.filter(source=ChangeSource.CARRIED).count() == 55

    def test_it_carries_scores_into_the_next_stage(
        self, village_secretary, catalogue, assessment_a
    ):
        factories.scores_fill(assessment_a, Stage.SELF, catalogue.for_kind(UnitKind.VILLAGE))
        Score.objects.filter(indicator=catalogue.shared_points[0]).update(
            value=Decimal("35"), note="台账不全"
        )
        services.assessment_submit(user=village_secretary, assessment_id=assessment_a.id)
        carried = Score.objects.get(indicator=catalogue.shared_points[0], stage=Stage.TOWNSHIP)
        assert (carried.value, carried.note, carried.version) == (Decimal("35"), "台账不全", 1)
        changes = ScoreChange.objects.filter(source=ChangeSource.CARRIED)
        assert changes.count() == 9
        change = changes.get(indicator=catalogue.shared_points[0])
        assert (change.stage, change.old_value, change.new_value) == (
            Stage.TOWNSHIP,
            None,
            Decimal("35"),
        )
        assert change.changed_by == village_secretary
        assert change.score == carried

    def test_carrying_keeps_what_the_next_stage_already_has(
        self, village_secretary, township_official, catalogue, assessment_a
    ):
        item = catalogue.shared_points[0]
        factories.scores_fill(assessment_a, Stage.SELF, catalogue.for_kind(UnitKind.VILLAGE))
        services.assessment_submit(user=village_secretary, assessment_id=assessment_a.id)
        save(
            township_official,
            Stage.TOWNSHIP,
            one(assessment_a, item, "30", note="实地核查扣分", expected_version=1),
        )
        services.assessment_return(
            user=township_official, assessment_id=assessment_a.id, reason="请核实1.1"
        )
        save(village_secretary, Stage.SELF, one(assessment_a, item, "20", note="自查扣分"))
        services.assessment_submit(user=village_secretary, assessment_id=assessment_a.id)

        township = Score.objects.get(indicator=item, stage=Stage.TOWNSHIP)
        assert (township.value, township.note, township.version) == (
            Decimal("30"),
            "实地核查扣分",
            2,
        )
        assert ScoreChange.objects.filter(source=ChangeSource.CARRIED).count() == 9
        assert reload(assessment_a).stage == Stage.TOWNSHIP

    def test_finalising_records_who_when_and_raises_the_version(
        self, monkeypatch, county_staff, catalogue, period, unit_a
    ):
        assessment = assessment_at(period, unit_a, Stage.COUNTY, catalogue)
        when = freeze(monkeypatch, dt.datetime(2026, 10, 20, 1, 30, tzinfo=UTC))
        done = services.assessment_submit(user=county_staff, assessment_id=assessment.id)
        after = reload(assessment)
        assert done.stage == after.stage == Stage.FINAL
        assert (after.finalised_by, after.finalised_at) == (county_staff, when)
        assert after.version == assessment.version + 1
        event = AssessmentEvent.objects.get()
        assert (event.kind, event.from_stage, event.to_stage, event.actor, event.at) == (
            AssessmentEventKind.FINALISE,
            Stage.COUNTY,
            Stage.FINAL,
            county_staff,
            when,
        )
        # Nothing is carried into final: it keeps the county's scores.
        assert not ScoreChange.objects.filter(source=ChangeSource.CARRIED).exists()

    def test_every_transition_is_an_event_with_the_reason_on_returns(
        self, village_secretary, township_official, county_staff, catalogue, assessment_a
    ):
        factories.scores_fill(assessment_a, Stage.SELF, catalogue.for_kind(UnitKind.VILLAGE))
        aid = assessment_a.id
        services.assessment_submit(user=village_secretary, assessment_id=aid)
        services.assessment_return(user=township_official, assessment_id=aid, reason=" 补材料 ")
        returned = reload(assessment_a)
        assert (returned.returned_reason, returned.returned_by) == ("补材料", township_official)
        services.assessment_submit(user=village_secretary, assessment_id=aid)
        assert reload(assessment_a).returned_reason == ""
        services.assessment_submit(user=township_official, assessment_id=aid)
        services.assessment_return(user=county_staff, assessment_id=aid, reason="分数偏高")
        services.assessment_submit(user=township_official, assessment_id=aid)
        services.assessment_submit(user=county_staff, assessment_id=aid)

        events = list(
            AssessmentEvent.objects.filter(assessment=assessment_a)
            .order_by("at", "id")
            .values_list("kind", "from_stage", "to_stage", "reason", "actor__username")
        )
        assert events == [
            ("submit", "self", "township", "", "dongjie"),
            ("return", "township", "self", "补材料", "chengguan"),
            ("submit", "self", "township", "", "dongjie"),
            ("submit", "township", "county", "", "chengguan"),
            ("return", "county", "township", "分数偏高", "zuzhibu"),
            ("submit", "township", "county", "", "chengguan"),
            ("finalise", "county", "final", "", "zuzhibu"),
        ]
        assert reload(assessment_a).version == 1 + len(events)

    @pytest.mark.parametrize("reason", ["", "   "])
    def test_a_return_needs_a_reason(self, township_official, catalogue, period, unit_a, reason):
        assessment = assessment_at(period, unit_a, Stage.TOWNSHIP, catalogue)
        with pytest.raises(ScoringError) as excinfo:
            services.assessment_return(
                user=township_official, assessment_id=assessment.id, reason=reason
            )
        assert (excinfo.value.message, excinfo.value.field) == (
            msg("Give a reason for returning it."),
            "reason",
        )
        assert reload(assessment).stage == Stage.TOWNSHIP


# --- opening periods ------------------------------------------------------------------------


@pytest.mark.django_db
class TestPeriodOpen:
    def open(self, user, campaign, label="2026Q4"):
        return services.period_open(
            user=user,
            campaign=campaign,
            label=label,
            starts_on=dt.date(2026, 10, 1),
            ends_on=dt.date(2026, 12, 31),
            self_due=dt.date(2026, 12, 10),
        )

    def test_it_creates_one_assessment_per_active_unit_of_the_region(
        self, county_staff, catalogue, unit_a, unit_b, township_a
    ):
        community = factories.UnitFactory(township=township_a, kind=UnitKind.COMMUNITY)
        factories.UnitFactory(township=township_a, is_active=False)
        elsewhere = factories.TownshipFactory(
            parent=factories.CountyFactory(code="410526000000", name="滑县")
        )
        factories.UnitFactory(township=elsewhere)
        campaign = catalogue.campaign
        campaign.catalogue_version = 3
        campaign.save()

        period = self.open(county_staff, campaign)
        assert (period.label, period.catalogue_version, period.opened_by) == (
            "2026Q4",
            3,
            county_staff,
        )
        assert period.self_due == dt.date(2026, 12, 10)
        rows = set(period.assessments.values_list("unit_id", "stage", "version"))
        assert rows == {(u.id, Stage.SELF, 1) for u in (unit_a, unit_b, community)}

    def test_the_superuser_may_open_one(self, superuser, catalogue, unit_a):
        assert self.open(superuser, catalogue.campaign).assessments.count() == 1

    @pytest.mark.parametrize(
        "role", ["township_official", "village_secretary", "department", "leader", "stranger"]
    )
    def test_only_county_staff_may_open_one(self, users, catalogue, role):
        with pytest.raises(ScoringError) as excinfo:
            self.open(users[role], catalogue.campaign)
        assert excinfo.value.message == msg("Only county staff may open a period.")
        assert not catalogue.campaign.periods.exists()

    def test_it_refuses_a_label_already_opened(self, county_staff, catalogue, period, unit_a):
        with pytest.raises(ScoringError) as excinfo:
            self.open(county_staff, catalogue.campaign, label="2026Q3")
        assert excinfo.value.field == "label"
        assert catalogue.campaign.periods.count() == 1
        assert Assessment.objects.count() == 0

    @pytest.mark.parametrize("status", [CampaignStatus.DRAFT, CampaignStatus.CLOSED])
    def test_it_refuses_an_inactive_campaign(self, county_staff, catalogue, unit_a, status):
        catalogue.campaign.status = status
        catalogue.campaign.save()
        with pytest.raises(ScoringError) as excinfo:
            self.open(county_staff, catalogue.campaign)
        assert excinfo.value.message == msg("Periods can only be opened in an active campaign.")
        assert not Assessment.objects.exists()

    def test_it_refuses_dates_out_of_order(self, county_staff, catalogue):
        with pytest.raises(ScoringError) as excinfo:
            services.period_open(
                user=county_staff,
                campaign=catalogue.campaign,
                label="2026Q4",
                starts_on=dt.date(2026, 12, 31),
                ends_on=dt.date(2026, 10, 1),
            )
        assert excinfo.value.field == "ends_on"


# --- real concurrency (PostgreSQL) ----------------------------------------------------------

needs_row_locks = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite has no row locks (SELECT … FOR UPDATE is a no-op); "
    "concurrent saves are tested on PostgreSQL",
)


def run_in_threads(*targets) -> None:
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)


@needs_row_locks
@pytest.mark.django_db(transaction=True)
class TestConcurrentSaves:
    @pytest.mark.parametrize("existing", [True, False], ids=["score-existed", "no-score-yet"])
    def test_two_saves_of_one_version_let_exactly_one_through(
        self, village_secretary, superuser, catalogue, assessment_a, existing
    ):
        item = catalogue.shared_points[0]
        expected = 0
        if existing:
            save(superuser, Stage.SELF, one(assessment_a, item, "40"))
            expected = 1
        before = ScoreChange.objects.count()
        barrier = threading.Barrier(2)
        outcomes = []

        def saver(user, value):
            def run():
                try:
                    barrier.wait(timeout=10)
                    save(
                        user,
                        Stage.SELF,
                        one(assessment_a, item, value, note="并发", expected_version=expected),
                    )
                    outcomes.append("saved")
                except StaleScores:
                    outcomes.append("stale")
                except Exception as exc:  # anything else fails the test with its name
                    outcomes.append(repr(exc))
                finally:
                    connections.close_all()

            return run

        run_in_threads(saver(village_secretary, "35"), saver(superuser, "30"))
        assert sorted(outcomes) == ["saved", "stale"]
        assert ScoreChange.objects.count() - before == 1
        score = Score.objects.get(assessment=assessment_a, indicator=item, stage=Stage.SELF)
        assert score.version == expected + 1
        assert ScoreChange.objects.filter(score=score).latest("id").new_value == score.value

    @pytest.mark.parametrize("existing", [True, False], ids=["score-existed", "no-score-yet"])
    def test_the_second_save_waits_for_the_first_and_sees_its_version(
        self, village_secretary, superuser, catalogue, assessment_a, existing
    ):
        """The first save holds its locks for a while: the second must wait, then be refused.

        Without the row locks the second would read the old version, pass the check and
        overwrite the first save once that commits.
        """
        item = catalogue.shared_points[0]
        expected = 0
        if existing:
            save(superuser, Stage.SELF, one(assessment_a, item, "40"))
            expected = 1
        before = ScoreChange.objects.count()
        first_saved = threading.Event()
        outcomes = {}

        def first():
            try:
                with transaction.atomic():
                    save(
                        superuser,
                        Stage.SELF,
                        one(assessment_a, item, "30", note="复核", expected_version=expected),
                    )
                    first_saved.set()
                    time.sleep(0.5)  # hold the row locks while the second save starts
                outcomes["first"] = "saved"
            except Exception as exc:
                outcomes["first"] = repr(exc)
                first_saved.set()
            finally:
                connections.close_all()

        def second():
            try:
                first_saved.wait(timeout=10)
                started = time.monotonic()
                try:
                    save(
                        village_secretary,
                        Stage.SELF,
                        one(assessment_a, item, "35", note="并发", expected_version=expected),
                    )
                    outcomes["second"] = "saved"
                except StaleScores as exc:
                    outcomes["second"] = ("stale", exc.stale[0].current.version)
                outcomes["waited"] = time.monotonic() - started
            finally:
                connections.close_all()

        run_in_threads(first, second)
        assert outcomes["first"] == "saved"
        assert outcomes["second"] == ("stale", expected + 1)
        assert outcomes["waited"] > 0.2  # it was blocked by the first transaction's lock
        assert ScoreChange.objects.count() - before == 1
        assert Score.objects.get(indicator=item).value == Decimal("30")
