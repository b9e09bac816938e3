"""Real races on PostgreSQL: concurrent connections from threads, nothing lost, nothing doubled.

Each race starts its contenders together (a barrier) on their own database connections and
runs several rounds; after each round the database must hold exactly what one of the allowed
serial orders would have left, with the audit trail matching the final values:
- two officials save the same score: one is saved, the other refused as stale, one ScoreChange;
- a save races a submit: the save lands before the stage moves (and is carried into the next
  stage) or is refused; never saved into a stage that has already moved on;
- two county staff confirm the same adjustment run: holdings and their history written once;
- two monthly reports of the same month are produced at once: one ReportRun, one file, done.
"""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, connections
from django.db.models import Count
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from scoring import services
from scoring.errors import ScoringError
from scoring.inputs import ScoreInput
from scoring.models import (
    AdjustmentProposal,
    AdjustmentRun,
    AdjustmentStatus,
    Assessment,
    Holding,
    HoldingChange,
    JobStatus,
    ProposalAction,
    ReportRun,
    Score,
    ScoreChange,
    ScoreStage,
    Stage,
)
from tests import factories
from tests.scenarios import OCTOBER, county_scores, security_world_build

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite has no row locks (SELECT … FOR UPDATE is a no-op) and one writer at a "
        "time: races are run on PostgreSQL",
    ),
    pytest.mark.django_db(transaction=True),
]

ROUNDS = 4
REPORT_ROUNDS = 6
LOST: Counter[str] = Counter()  # what a race lost (must stay empty; summary in conftest.py)
RUN: Counter[str] = Counter()  # races run


def race(*contenders) -> list:
    """Run the callables at the same moment, each on its own connection; return their results
    (or the exception each raised)."""
    barrier = threading.Barrier(len(contenders))
    results: list = [None] * len(contenders)

    def run(i, contender):
        try:
            barrier.wait(timeout=10)
            results[i] = contender()
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a contender hung"
    return results


def audit_matches_scores() -> list[str]:
    """Every score with a history: its last ScoreChange says what the score holds now."""
    wrong = []
    for score in Score.objects.filter(changes__isnull=False).distinct():
        last = ScoreChange.objects.filter(score=score).latest("changed_at", "id")
        if (last.new_value, last.new_vetoed) != (score.value, score.vetoed):
            wrong.append(f"score {score.id}: {score.value} but the audit says {last.new_value}")
    return wrong


@pytest.fixture
def world(media):
    return security_world_build()


def township_assessments(world, n: int) -> list[Assessment]:
    """n more units of township A at the township stage, self and township scores complete."""
    place = world.places["A"]
    built = type("Built", (), {"indicators": {"1.1": place.indicator, "1.2": place.led}})
    made = []
    for i in range(n):
        unit = factories.UnitFactory(township=place.township, code=f"4105271002{i:02d}")
        assessment = factories.AssessmentFactory(
            period=place.current, unit=unit, stage=Stage.TOWNSHIP
        )
        for stage in (ScoreStage.SELF, ScoreStage.TOWNSHIP):
            county_scores(built, assessment, stage=stage)
        made.append(assessment)
    return made


def client_for(user) -> Client:
    client = Client(raise_request_exception=True)
    client.force_login(user)
    return client


def test_two_officials_saving_the_same_score_one_wins_one_is_stale(world):
    place = world.places["A"]
    first, second = place.official, factories.TownshipOfficialFactory(region=place.township)
    clients = {first: client_for(first), second: client_for(second)}
    item = place.indicator
    url = reverse("scoring:score_row", args=[place.assessment.pk, item.pk])
    for round_ in range(ROUNDS):
        score = Score.objects.get(
            assessment=place.assessment, indicator=item, stage=ScoreStage.TOWNSHIP
        )
        changes = ScoreChange.objects.count()

        def save(user, value, version=score.version, note=f"第{round_}轮"):
            def post():
                prefix = f"i{item.pk}"
                response = clients[user].post(
                    url,
                    {
                        f"{prefix}-value": value,
                        f"{prefix}-note": note,
                        f"{prefix}-version": str(version),
                    },
                )
                assert response.status_code == 200
                # Read the answer from the page: the test client's response.context is
                # collected through a global signal, which concurrent requests share.
                return "stale" if b"stale-notice" in response.content else "saved"

            return post

        outcomes = race(save(first, str(50 + round_)), save(second, str(40 + round_)))
        RUN["same score saved twice"] += 1
        assert sorted(map(str, outcomes)) == ["saved", "stale"], outcomes
        winner = (first, second)[outcomes.index("saved")]
        score.refresh_from_db()
        added = ScoreChange.objects.count() - changes
        if added != 1:
            LOST["same score: ScoreChange rows per accepted change"] += 1
        assert added == 1
        last = ScoreChange.objects.filter(score=score).latest("id")
        assert (last.changed_by, last.new_value) == (winner, score.value)
        assert score.version == round_ + 2
    assert not audit_matches_scores()


def test_a_save_racing_a_submit_lands_before_the_stage_moves_or_is_refused(world):
    place = world.places["A"]
    official = place.official
    item = place.indicator
    kinds = Counter()
    for round_, assessment in enumerate(township_assessments(world, ROUNDS)):
        new = Decimal(40 + round_)

        def save(assessment=assessment, new=new):
            services.scores_save(
                user=official,
                stage=ScoreStage.TOWNSHIP,
                inputs=[
                    ScoreInput(
                        assessment_id=assessment.id,
                        indicator_id=item.id,
                        value=new,
                        note="并发修改",
                        expected_version=1,
                    )
                ],
            )
            return "saved"

        def submit(assessment=assessment):
            services.assessment_submit(user=official, assessment_id=assessment.id)
            return "submitted"

        saved, submitted = race(save, submit)
        RUN["save against submit"] += 1
        assert submitted == "submitted", submitted
        assessment.refresh_from_db()
        assert assessment.stage == Stage.COUNTY
        township = Score.objects.get(
            assessment=assessment, indicator=item, stage=ScoreStage.TOWNSHIP
        )
        county = Score.objects.get(assessment=assessment, indicator=item, stage=ScoreStage.COUNTY)
        if saved == "saved":
            kinds["save first"] += 1
            # The save landed while the stage was still the township's: the county stage
            # started from it.
            if county.value != new:
                LOST["save before submit not carried into the county stage"] += 1
            assert (township.value, county.value) == (new, new)
        else:
            kinds["submit first"] += 1
            assert isinstance(saved, ScoringError), saved
            assert (township.value, county.value) == (item.max_points, item.max_points)
            assert not ScoreChange.objects.filter(
                assessment=assessment, stage=ScoreStage.TOWNSHIP
            ).exists()
    print(f"\nsave vs submit: {dict(kinds)}")
    assert not audit_matches_scores()


def test_two_confirmations_of_one_run_write_holdings_and_history_once(world):
    place = world.places["A"]
    second = factories.CountyStaffFactory(region=place.county)
    for round_ in range(ROUNDS):
        # A period per round: a change already recorded for a unit, dimension and period is
        # (rightly) never written again.
        period = factories.PeriodFactory(campaign=place.campaign, label=f"2025Q{round_ + 1}")
        run = AdjustmentRun.objects.create(
            campaign=place.campaign, period=period, created_by=place.county_staff
        )
        units = [world.places["A"].unit, world.places["B"].unit]
        dimension = place.proposal.dimension
        held_before = set(Holding.objects.values_list("unit_id", "dimension_id"))
        for unit in units:
            held = (unit.id, dimension.id) in held_before
            AdjustmentProposal.objects.create(
                run=run,
                unit=unit,
                dimension=dimension,
                held=held,
                score=Decimal("95") if not held else Decimal("80"),
                action=ProposalAction.WITHDRAW if held else ProposalAction.AWARD,
            )
        changes = HoldingChange.objects.count()

        def confirm(user, run=run):
            return lambda: services.adjustment_confirm(user=user, run=run)

        results = race(confirm(place.county_staff), confirm(second))
        RUN["adjustment confirmed twice"] += 1
        assert not [r for r in results if isinstance(r, Exception)], results
        decided = sum(r.award + r.withdraw for r in results)
        written = HoldingChange.objects.count() - changes
        if written != len(units):
            LOST["adjustment: holding changes written"] += 1
        assert (decided, written) == (len(units), len(units)), (round_, results)
        held_after = set(Holding.objects.values_list("unit_id", "dimension_id"))
        assert held_after == held_before ^ {(u.id, dimension.id) for u in units}
        run.refresh_from_db()
        assert run.status == AdjustmentStatus.CONFIRMED
        assert run.confirmed_by in (place.county_staff, second)
        # History per unit and dimension this period: one row per decision, no duplicates.
        assert not (
            HoldingChange.objects.values("unit", "dimension", "period")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .exists()
        )


def test_two_monthly_reports_of_the_same_month_leave_one_run_and_one_file(world, media):
    campaign = world.places["A"].campaign
    for run in ReportRun.objects.filter(campaign=campaign):  # start from no report at all
        run.file.delete(save=False)
        run.delete()
    outcomes = Counter()
    for round_ in range(REPORT_ROUNDS):

        def produce(user):
            def start_and_execute():
                started = services.report_run_start(
                    campaign=campaign, month=OCTOBER, requested_by=user
                )
                # As two workers would, each runs the task it was handed.
                services.report_run_execute(run_id=started.pk)
                return "produced"

            return start_and_execute

        results = race(produce(world.users["county"]), produce(world.users["superuser"]))
        RUN["monthly report produced twice"] += 1
        for result in results:
            assert result == "produced" or isinstance(result, ScoringError), result
            outcomes["produced" if result == "produced" else "refused: being produced"] += 1
        runs = list(ReportRun.objects.filter(campaign=campaign, month=OCTOBER))
        assert len(runs) == 1
        run = runs[0]
        assert run.status == JobStatus.DONE, run.error
        files = sorted(p for p in (media / "reports").rglob("*") if p.is_file())
        files = [p for p in files if campaign.slug in p.name]
        if len(files) != 1:
            LOST[f"monthly report: {len(files) - 1} orphaned file(s)"] += 1
        assert [p.name for p in files] == [Path(run.file.name).name], (round_, files)
        assert load_workbook(run.file.path).sheetnames
    print(f"\nmonthly report races: {dict(outcomes)}")
