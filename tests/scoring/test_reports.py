"""Monthly reports (月度分析): the figures against hand-computed numbers, the workbook read back
cell by cell, report runs (replace, failure, broker down), the report pages, the beat schedule
and the command line.

The county is the report county of tests/scenarios.py; its section gives every number used here.
Strings are being translated in parallel, so expected text is gettext under zh-hans.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from celery.schedules import crontab
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext
from openpyxl import load_workbook

from config.celery import app as celery_app
from scoring import errors, services, tasks
from scoring.excel.monthly import write_monthly
from scoring.models import HoldingChangeKind, JobStatus, ReportRun, Stage
from scoring.selectors.monthly import BOTTOM, month_bounds, monthly_figures, previous_month
from tests import factories
from tests.helpers import broker_down
from tests.scenarios import OCTOBER, other_county_campaign

pytestmark = pytest.mark.django_db


def zh(msgid: str) -> str:
    with translation.override("zh-hans"):
        return gettext(msgid)


@pytest.fixture
def october(world):
    with translation.override("zh-hans"):
        return monthly_figures(world.campaign, OCTOBER)


def files_under(root) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _s, fs in os.walk(root) for f in fs
    )


# --- month helpers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2026, 11, 1), dt.date(2026, 10, 1)),
        (dt.date(2026, 11, 30), dt.date(2026, 10, 1)),
        (dt.date(2026, 1, 1), dt.date(2025, 12, 1)),
        (dt.date(2024, 3, 31), dt.date(2024, 2, 1)),
    ],
)
def test_previous_month(today, expected):
    assert previous_month(today) == expected


@pytest.mark.parametrize(
    ("month", "bounds"),
    [
        (dt.date(2026, 10, 17), (dt.date(2026, 10, 1), dt.date(2026, 10, 31))),
        (dt.date(2024, 2, 1), (dt.date(2024, 2, 1), dt.date(2024, 2, 29))),
        (dt.date(2026, 2, 1), (dt.date(2026, 2, 1), dt.date(2026, 2, 28))),
        (dt.date(2026, 12, 31), (dt.date(2026, 12, 1), dt.date(2026, 12, 31))),
    ],
)
def test_month_bounds(month, bounds):
    assert month_bounds(month) == bounds


# --- monthly_figures ------------------------------------------------------------------------


def test_figures_name_the_month_and_its_periods(world, october):
    assert october["campaign"] == world.campaign.name
    assert october["month"] == "2026-10"
    assert october["period"] == "2026Q4"  # under way in October
    assert october["final_period"] == "2026Q3"  # the latest one with final assessments


def test_figures_count_progress_by_stage_and_township(october):
    with translation.override("zh-hans"):
        labels = [str(s.label) for s in (Stage.SELF, Stage.TOWNSHIP, Stage.COUNTY, Stage.FINAL)]
    assert october["stages"] == labels
    assert october["progress"] == [
        {"township": "城关镇", "counts": [1, 1, 0, 0]},
        {"township": "东庄镇", "counts": [0, 0, 2, 0]},
    ]


def test_progress_follows_the_stages_the_campaign_uses(world):
    world.campaign.use_self_stage = False
    world.campaign.save()
    data = monthly_figures(world.campaign, OCTOBER)
    assert len(data["stages"]) == 3
    # The self-assessment 红星村 has no column any more; the rest keep theirs.
    assert data["progress"] == [
        {"township": "城关镇", "counts": [1, 0, 0]},
        {"township": "东庄镇", "counts": [0, 2, 0]},
    ]


def test_figures_average_county_scores_of_the_final_period_by_township(world, october):
    assert october["dimensions"] == ["党建引领", "产业兴旺"]
    # 城关镇: (95 + 80) / 2, (92 + 75) / 2; 东庄镇: (100 + 70) / 2, (98 + 60) / 2. Township-stage
    # full marks of 红星村 and the county scores of the period under way are left out.
    assert october["dimension_averages"] == [
        {"township": "城关镇", "averages": [87.5, 83.5]},
        {"township": "东庄镇", "averages": [85.0, 79.0]},
    ]


def test_dimension_averages_leave_out_assessments_not_yet_final(world, township_a):
    """A unit still under county review in the final period has county scores that may change;
    the averages, like the ranking beside them, are of final results only."""
    from scoring.models import Score, ScoreStage

    unit = factories.UnitFactory(township=township_a, code="410527100903", name="迟到村")
    late = factories.AssessmentFactory(
        period=world.periods["2026Q3"], unit=unit, stage=Stage.COUNTY
    )
    Score.objects.bulk_create(
        Score(assessment=late, indicator=item, stage=ScoreStage.COUNTY, value=0)
        for code, item in world.items.items()
        if code != "1.3"
    )
    data = monthly_figures(world.campaign, OCTOBER)
    assert data["ranking"][0]["average"] == 85.5  # the ranking counts final totals only
    assert data["dimension_averages"][0] == {"township": "城关镇", "averages": [87.5, 83.5]}


def test_levels_leave_out_units_no_longer_active(world):
    from scoring.models import Holding

    # 旧址村 was retired holding a flag: it is neither a level-1 unit nor a level-0 one.
    Holding.objects.create(unit=world.units["B3"], dimension=world.dims["d1"])
    data = monthly_figures(world.campaign, OCTOBER)
    assert {row["level"]: row["actual"] for row in data["levels"]} == {
        5: 0,
        4: 0,
        3: 0,
        2: 2,
        1: 1,
        0: 1,
    }


def test_figures_set_levels_held_against_the_county_targets(october):
    # Held now: 2, 1, 2, 0 (the inactive 旧址村 is not counted); a township's own target of
    # level 2 is not the county's.
    assert october["levels"] == [
        {"level": 5, "actual": 0, "target": None},
        {"level": 4, "actual": 0, "target": None},
        {"level": 3, "actual": 0, "target": None},
        {"level": 2, "actual": 2, "target": 3},
        {"level": 1, "actual": 1, "target": 1},
        {"level": 0, "actual": 1, "target": None},
    ]


def test_figures_list_changes_decided_within_the_month_in_shanghai_time(october):
    with translation.override("zh-hans"):
        awarded = str(HoldingChangeKind.AWARD.label)
    # 10-01 00:30 and 10-31 23:50 Shanghai are in; 11-01 00:10 (still October in UTC) and
    # 09-30 23:59 are out.
    assert october["changes"] == [
        {
            "township": "城关镇",
            "unit": "红星村",
            "dimension": "产业兴旺",
            "kind": "award",
            "kind_label": awarded,
            "period": "2026Q3",
            "score": 92.0,
        },
        {
            "township": "城关镇",
            "unit": "前进村",
            "dimension": "党建引领",
            "kind": "award",
            "kind_label": awarded,
            "period": "2026Q3",
            "score": 80.0,
        },
    ]


def test_figures_rank_townships_with_the_change_since_the_previous_period(october):
    # 城关镇 (93.50 + 77.50) / 2 = 85.50, before (90 + 75) / 2 = 82.50;
    # 东庄镇 (99 + 65) / 2 = 82.00, before only 胜利村 85.00 (和平村 was not assessed).
    assert october["ranking"] == [
        {"rank": 1, "township": "城关镇", "units": 2, "average": 85.5, "change": 3.0, "held": 3},
        {"rank": 2, "township": "东庄镇", "units": 2, "average": 82.0, "change": -3.0, "held": 2},
    ]


def test_figures_list_bottom_units_lowest_total_first(october):
    assert october["bottom"] == [
        {"unit": "和平村", "township": "东庄镇", "total": 65.0, "level": 0},
        {"unit": "前进村", "township": "城关镇", "total": 77.5, "level": 1},
        {"unit": "红星村", "township": "城关镇", "total": 93.5, "level": 2},
        {"unit": "胜利村", "township": "东庄镇", "total": 99.0, "level": 2},
    ]


def test_bottom_units_stop_at_ten(world, township_a):
    from scoring.models import Score, ScoreStage

    q3 = world.periods["2026Q3"]
    for i in range(10, 22):
        unit = factories.UnitFactory(township=township_a, code=f"4105271009{i}", name=f"新村{i}")
        assessment = factories.AssessmentFactory(
            period=q3, unit=unit, stage=Stage.FINAL, finalised_at=timezone.now()
        )
        # 1.1 gets i points, 2.1 none: 党建引领 i, 产业兴旺 0, total i / 2.
        for code, value in (("1.1", i), ("2.1", 0)):
            Score.objects.create(
                assessment=assessment,
                indicator=world.items[code],
                stage=ScoreStage.COUNTY,
                value=value,
            )
    data = monthly_figures(world.campaign, OCTOBER)
    assert len(data["bottom"]) == BOTTOM == 10
    assert [row["unit"] for row in data["bottom"]] == [f"新村{i}" for i in range(10, 20)]
    assert [row["total"] for row in data["bottom"]] == [i / 2 for i in range(10, 20)]


def test_figures_count_rectification_opened_closed_and_overdue_at_month_end(october):
    assert october["rectification"] == {
        "opened": 2,  # r1 10-01 00:05, r5 10-31 23:59
        "closed": 1,  # r3 10-31 23:30 (r4 closed 11-01 00:30 Shanghai)
        "overdue": 2,  # r1 still open, r4 reported and closed only in November
        "still_open": 4,  # r1 r2 r5 r6, whatever the month
    }


def test_september_sees_other_boundaries(world):
    data = monthly_figures(world.campaign, dt.date(2026, 9, 1))
    assert data["period"] == "2026Q3"
    # Q3 already has final assessments and starts before October.
    assert data["final_period"] == "2026Q3"
    assert [c["unit"] for c in data["changes"]] == ["胜利村"]  # 09-30 23:59
    assert data["rectification"]["opened"] == 3  # r2 r3 r4
    assert data["rectification"]["closed"] == 0
    assert data["rectification"]["overdue"] == 0  # no deadline before September 30


def test_a_month_before_any_period_has_empty_sections(world):
    data = monthly_figures(world.campaign, dt.date(2026, 3, 1))
    assert data["period"] is None
    assert data["final_period"] is None
    assert data["progress"] == []
    assert data["dimension_averages"] == []
    assert data["ranking"] == []
    assert data["bottom"] == []
    assert data["changes"] == []


def test_figures_take_a_fixed_number_of_queries(world, township_b, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        monthly_figures(world.campaign, OCTOBER)
    for i in range(10, 20):
        unit = factories.UnitFactory(township=township_b, code=f"4105271019{i}", name=f"新{i}")
        for label in ("2026Q3", "2026Q4"):
            factories.AssessmentFactory(
                period=world.periods[label],
                unit=unit,
                stage=Stage.FINAL if label == "2026Q3" else Stage.SELF,
                finalised_at=timezone.now(),
            )
    with django_assert_max_num_queries(len(small)):
        monthly_figures(world.campaign, OCTOBER)


# --- write_monthly --------------------------------------------------------------------------


def test_write_monthly_reads_back_cell_by_cell(october, tmp_path):
    path = tmp_path / "monthly.xlsx"
    with translation.override("zh-hans"):
        write_monthly(path, october)
        _ = gettext
        expected = {
            _("Progress"): [[_("Township"), *october["stages"]], ["城关镇", 1, 1, 0, 0]],
            _("Dimension averages"): [
                [_("Township"), "党建引领", "产业兴旺"],
                ["城关镇", 87.5, 83.5],
                ["东庄镇", 85, 79],
            ],
            _("Levels"): [[_("Level"), _("Now"), _("Target")], [5, 0, None]],
            _("Changes"): [
                [_("Township"), _("Unit"), _("Dimension"), _("Change"), _("Period"), _("Score")],
                ["城关镇", "红星村", "产业兴旺", october["changes"][0]["kind_label"], "2026Q3", 92],
                ["城关镇", "前进村", "党建引领", october["changes"][1]["kind_label"], "2026Q3", 80],
            ],
            _("Township ranking"): [
                [_("Rank"), _("Township"), _("Units"), _("Average"), _("Change"), _("Levels held")],
                [1, "城关镇", 2, 85.5, 3, 3],
                [2, "东庄镇", 2, 82, -3, 2],
            ],
            _("Bottom units"): [
                [_("Unit"), _("Township"), _("Total"), _("Level held")],
                ["和平村", "东庄镇", 65, 0],
                ["前进村", "城关镇", 77.5, 1],
            ],
            _("Rectification"): [
                [_("Opened"), _("Closed"), _("Overdue"), _("Still open")],
                [2, 1, 2, 4],
            ],
        }
    wb = load_workbook(path)
    assert wb.sheetnames == list(expected)
    for title, rows in expected.items():
        ws = wb[title]
        for r, row in enumerate(rows, start=1):
            assert [c.value for c in ws[r]] == row, (title, r)
        assert all(c.font.b for c in ws[1]), title
        assert all(c.data_type == "s" for c in ws[1]), title
        assert ws.freeze_panes == ("C2" if len(rows[0]) > 4 else "A2"), title
    assert wb[zh("Levels")].max_row == 1 + 6
    assert wb[zh("Bottom units")].max_row == 1 + 4
    assert [c.value for c in wb[zh("Progress")][3]] == ["东庄镇", 0, 0, 2, 0]


def test_write_monthly_keeps_formula_like_names_as_text(october, tmp_path):
    october["changes"][0]["unit"] = '=HYPERLINK("http://evil","点我")'
    october["bottom"][0]["unit"] = "+86 138"
    october["bottom"][1]["township"] = "-1"
    october["ranking"][0]["township"] = "@SUM(1)"
    path = tmp_path / "monthly.xlsx"
    write_monthly(path, october)
    wb = load_workbook(path)
    sheets = wb.worksheets
    cells = {c.value: c for ws in sheets for row in ws.iter_rows() for c in row}
    for text in ('=HYPERLINK("http://evil","点我")', "+86 138", "-1", "@SUM(1)"):
        assert cells[text].data_type == "s", text
    assert not any(c.data_type == "f" for c in cells.values())


# --- report runs (services) -----------------------------------------------------------------


def produce(world, month=OCTOBER, **kw) -> ReportRun:
    run = services.report_run_start(campaign=world.campaign, month=month, **kw)
    services.report_run_execute(run_id=run.pk)
    return ReportRun.objects.get(pk=run.pk)


def test_report_run_produces_figures_and_a_workbook(world, media):
    run = produce(world, month=dt.date(2026, 10, 17), trigger="test")
    assert run.month == OCTOBER  # any day names its month
    assert run.status == JobStatus.DONE
    assert run.error == ""
    assert run.attempts == 1
    assert run.started_at <= run.finished_at
    assert run.data == monthly_figures(world.campaign, OCTOBER)
    assert os.path.basename(run.file.name).startswith("monthly-neihuang-report-2026-10")
    assert run.file.path.startswith(str(media))
    wb = load_workbook(run.file.path)
    assert len(wb.sheetnames) == 7


def test_running_a_month_again_replaces_its_run_and_file(world, media):
    first = produce(world)
    old_path = first.file.path
    second = produce(world)
    assert second.pk == first.pk
    assert ReportRun.objects.filter(campaign=world.campaign, month=OCTOBER).count() == 1
    assert second.attempts == 2
    assert second.status == JobStatus.DONE
    assert not os.path.exists(old_path)
    assert os.path.exists(second.file.path)
    assert files_under(media) == [os.path.relpath(second.file.path, media)]


def test_another_month_is_another_run(world, media):
    produce(world)
    produce(world, month=dt.date(2026, 9, 1))
    assert list(
        ReportRun.objects.filter(campaign=world.campaign).values_list("month", flat=True)
    ) == [OCTOBER, dt.date(2026, 9, 1)]
    assert len(files_under(media)) == 2


def test_a_failing_report_is_marked_failed_with_the_reason_and_offers_no_file(
    world, media, monkeypatch, client, county_staff
):
    def boom(campaign, month):
        raise RuntimeError("数据库读取失败")

    monkeypatch.setattr("scoring.services.jobs.monthly_figures", boom)
    run = services.report_run_start(campaign=world.campaign, month=OCTOBER)
    with pytest.raises(RuntimeError):
        services.report_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert run.error == "RuntimeError: 数据库读取失败"
    assert run.finished_at is not None
    assert not run.file
    assert files_under(media) == []

    client.force_login(county_staff)
    page = client.get(reverse("scoring:report_detail", args=[run.pk]))
    html = page.content.decode()
    assert "数据库读取失败" in html
    assert 'id="report-download"' not in html
    assert "hx-get" not in html
    assert client.get(reverse("scoring:report_download", args=[run.pk])).status_code == 404


def test_a_failed_rerun_keeps_the_good_file_on_disk_but_offers_none(
    world, media, monkeypatch, client, county_staff
):
    good = produce(world)
    monkeypatch.setattr("scoring.services.jobs.write_monthly", lambda path, data: 1 / 0)
    services.report_run_start(campaign=world.campaign, month=OCTOBER)
    with pytest.raises(ZeroDivisionError):
        services.report_run_execute(run_id=good.pk)
    run = ReportRun.objects.get(pk=good.pk)
    assert run.status == JobStatus.FAILED
    assert run.error.startswith("ZeroDivisionError")
    assert run.file.name == good.file.name and os.path.exists(good.file.path)
    client.force_login(county_staff)
    assert client.get(reverse("scoring:report_download", args=[run.pk])).status_code == 404
    assert (
        'id="report-download"'
        not in client.get(reverse("scoring:report_detail", args=[run.pk])).content.decode()
    )


def test_a_run_being_produced_cannot_be_started_again(world):
    ReportRun.objects.create(
        campaign=world.campaign, month=OCTOBER, status=JobStatus.RUNNING, started_at=timezone.now()
    )
    with pytest.raises(errors.ScoringError):
        services.report_run_start(campaign=world.campaign, month=OCTOBER)


def test_a_run_stuck_for_over_half_an_hour_can_be_started_again(world):
    ReportRun.objects.create(
        campaign=world.campaign,
        month=OCTOBER,
        status=JobStatus.RUNNING,
        started_at=timezone.now() - dt.timedelta(minutes=31),
    )
    run = services.report_run_start(campaign=world.campaign, month=OCTOBER)
    assert run.status == JobStatus.QUEUED


def test_report_run_start_queues_the_task_and_it_runs(world, media, eager):
    run = tasks.report_run_queue(campaign=world.campaign, month=OCTOBER, trigger="x")
    run.refresh_from_db()
    assert run.status == JobStatus.DONE
    assert run.file


def test_unreachable_broker_marks_the_run_failed_with_the_message(world):
    with (
        translation.override("zh-hans"),
        broker_down(),
        pytest.raises(errors.QueueError) as excinfo,
    ):
        tasks.report_run_queue(campaign=world.campaign, month=OCTOBER)
    message = zh("The job could not be queued; try again in a few minutes.")
    assert excinfo.value.message == message
    run = ReportRun.objects.get(campaign=world.campaign, month=OCTOBER)
    assert run.status == JobStatus.FAILED
    assert run.error == message


def test_it_shows_the_queue_error_instead_of_a_500(world, client, county_staff):
    client.force_login(county_staff)
    url = reverse("scoring:report_list", args=[world.campaign.slug])
    with broker_down():
        response = client.post(url, {"month": "2026-10"})
    assert response.status_code == 200
    assert escape(zh("The job could not be queued; try again in a few minutes.")) in (
        response.content.decode()
    )
    assert ReportRun.objects.get(campaign=world.campaign).status == JobStatus.FAILED


# --- report pages ---------------------------------------------------------------------------


@pytest.fixture
def done_run(world, media):
    return produce(world)


@pytest.mark.parametrize("who", ["county_staff", "leader", "superuser"])
def test_it_shows_reports_to_county_staff_and_leaders(client, users, done_run, who):
    client.force_login(users[who])
    listing = client.get(reverse("scoring:report_list", args=[done_run.campaign.slug]))
    assert listing.status_code == 200
    assert reverse("scoring:report_detail", args=[done_run.pk]) in listing.content.decode()
    detail = client.get(reverse("scoring:report_detail", args=[done_run.pk]))
    assert detail.status_code == 200
    html = detail.content.decode()
    assert 'id="r-ranking"' in html and "城关镇" in html
    download = client.get(reverse("scoring:report_download", args=[done_run.pk]))
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in download["Content-Disposition"]
    assert b"".join(download.streaming_content)[:2] == b"PK"


@pytest.mark.parametrize("who", ["township_official", "village_secretary", "department", "no_role"])
def test_it_refuses_reports_to_other_roles(client, users, done_run, who):
    client.force_login(users[who])
    expected = 404 if who == "no_role" else 403  # no role: the campaign is not even visible
    assert (
        client.get(reverse("scoring:report_list", args=[done_run.campaign.slug])).status_code
        == expected
    )
    assert client.get(reverse("scoring:report_detail", args=[done_run.pk])).status_code == 403
    assert client.get(reverse("scoring:report_download", args=[done_run.pk])).status_code == 403


def test_it_hides_another_countys_reports(client, county_staff, leader, media):
    other = other_county_campaign()
    run = ReportRun.objects.create(campaign=other, month=OCTOBER, status=JobStatus.QUEUED)
    for user in (county_staff, leader):
        client.force_login(user)
        assert client.get(reverse("scoring:report_list", args=[other.slug])).status_code == 404
        assert client.get(reverse("scoring:report_detail", args=[run.pk])).status_code == 404
        assert client.get(reverse("scoring:report_download", args=[run.pk])).status_code == 404


def test_it_sends_anonymous_users_to_login(client, done_run):
    for url in (
        reverse("scoring:report_list", args=[done_run.campaign.slug]),
        reverse("scoring:report_detail", args=[done_run.pk]),
        reverse("scoring:report_download", args=[done_run.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_it_produces_a_report_on_post(client, county_staff, world, media, eager):
    client.force_login(county_staff)
    response = client.post(
        reverse("scoring:report_list", args=[world.campaign.slug]), {"month": "2026-10"}
    )
    run = ReportRun.objects.get(campaign=world.campaign)
    assert response.status_code == 302
    assert response["Location"] == reverse("scoring:report_detail", args=[run.pk])
    assert run.month == OCTOBER
    assert run.status == JobStatus.DONE
    assert run.requested_by == county_staff
    page = client.get(response["Location"]).content.decode()
    assert reverse("scoring:report_download", args=[run.pk]) in page
    assert "hx-get" not in page


def test_it_refuses_a_bad_month(client, county_staff, world):
    client.force_login(county_staff)
    response = client.post(
        reverse("scoring:report_list", args=[world.campaign.slug]), {"month": "十月"}
    )
    assert response.status_code == 200
    assert escape(zh("Choose a month, e.g. 2026-10.")) in response.content.decode()
    assert not ReportRun.objects.exists()


def test_it_lets_only_county_staff_produce(client, leader, world):
    client.force_login(leader)
    response = client.post(
        reverse("scoring:report_list", args=[world.campaign.slug]), {"month": "2026-10"}
    )
    assert response.status_code == 403
    assert not ReportRun.objects.exists()
    page = client.get(reverse("scoring:report_list", args=[world.campaign.slug]))
    assert 'id="report-form"' not in page.content.decode()


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.RUNNING])
def test_it_polls_while_the_report_is_produced(client, county_staff, world, status):
    run = ReportRun.objects.create(
        campaign=world.campaign, month=OCTOBER, status=status, started_at=timezone.now()
    )
    client.force_login(county_staff)
    url = reverse("scoring:report_detail", args=[run.pk])
    for headers in ({}, {"HX-Request": "true"}):
        html = client.get(url, headers=headers).content.decode()
        assert f'hx-get="{url}"' in html
        assert 'hx-trigger="every 1s"' in html
        assert 'id="report-download"' not in html
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment
    assert fragment.lstrip().startswith('<div id="report-status"')


def test_it_stops_polling_and_links_the_file_when_done(client, county_staff, done_run):
    client.force_login(county_staff)
    url = reverse("scoring:report_detail", args=[done_run.pk])
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-get" not in fragment
    assert f'href="{reverse("scoring:report_download", args=[done_run.pk])}"' in fragment


@pytest.mark.parametrize("n", [1, 10])
def test_it_lists_reports_in_a_fixed_number_of_queries(
    client, county_staff, world, django_assert_num_queries, n
):
    for i in range(n):
        ReportRun.objects.create(
            campaign=world.campaign,
            month=dt.date(2025 + i // 12, i % 12 + 1, 1),
            status=JobStatus.FAILED,
            error="x",
            requested_by=county_staff,
        )
    client.force_login(county_staff)
    url = reverse("scoring:report_list", args=[world.campaign.slug])
    with django_assert_num_queries(5):
        response = client.get(url)
    assert response.content.decode().count('href="/scoring/reports/') == n


# --- the schedule ---------------------------------------------------------------------------


def test_beat_runs_the_monthly_task_at_2am_on_the_first_in_shanghai(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["monthly-reports"]
    assert entry["task"] == "scoring.tasks.monthly_reports_all"
    assert entry["task"] in celery_app.tasks
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab)
    assert schedule == crontab(minute=0, hour=2, day_of_month=1)
    assert schedule.minute == {0}
    assert schedule.hour == {2}
    assert schedule.day_of_month == {1}
    assert schedule.month_of_year == set(range(1, 13))
    assert schedule.day_of_week == set(range(7))
    assert celery_app.conf.beat_schedule == settings.CELERY_BEAT_SCHEDULE
    assert celery_app.conf.timezone == "Asia/Shanghai"
    assert str(celery_app.timezone) == "Asia/Shanghai"


def test_beat_copies_the_schedule_into_its_database_in_shanghai_time(db):
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import ModelEntry

    # What DatabaseScheduler.setup_schedule does for each entry (the scheduler itself closes
    # database connections, which would end the test's transaction).
    for name, entry in celery_app.conf.beat_schedule.items():
        ModelEntry.from_entry(name, app=celery_app, **entry)
    task = PeriodicTask.objects.select_related("crontab").get(name="monthly-reports")
    assert task.task == "scoring.tasks.monthly_reports_all"
    assert task.enabled
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
        "0",
        "2",
        "1",
        "*",
        "*",
    )
    assert str(cron.timezone) == "Asia/Shanghai"


def test_monthly_reports_all_queues_last_month_for_every_active_campaign(
    world, media, eager, monkeypatch, county
):
    from campaigns.models import CampaignStatus

    second = factories.CampaignFactory(region=county, slug="neihuang-stars")
    factories.CampaignFactory(region=county, slug="draft", status=CampaignStatus.DRAFT)
    factories.CampaignFactory(region=county, slug="closed", status=CampaignStatus.CLOSED)
    monkeypatch.setattr(tasks.timezone, "localdate", lambda: dt.date(2026, 11, 1))

    ids = tasks.monthly_reports_all.delay().get()

    runs = ReportRun.objects.filter(pk__in=ids).order_by("campaign__slug")
    assert len(ids) == 2
    assert [r.campaign for r in runs] == [world.campaign, second]
    for run in runs:
        assert run.month == OCTOBER
        assert run.trigger == "schedule"
        assert run.status == JobStatus.DONE, run.error
        assert run.file
    assert ReportRun.objects.count() == 2


def test_monthly_reports_all_goes_on_past_a_campaign_already_being_produced(
    world, media, eager, monkeypatch, county
):
    """One campaign's run in progress must not keep every other campaign from its report."""
    busy = factories.CampaignFactory(region=county, slug="busy", year=2027)  # listed first
    ReportRun.objects.create(
        campaign=busy, month=OCTOBER, status=JobStatus.RUNNING, started_at=timezone.now()
    )
    monkeypatch.setattr(tasks.timezone, "localdate", lambda: dt.date(2026, 11, 1))

    tasks.monthly_reports_all.delay()

    run = ReportRun.objects.get(campaign=world.campaign, month=OCTOBER)
    assert run.status == JobStatus.DONE
    assert ReportRun.objects.get(campaign=busy).status == JobStatus.RUNNING


# --- the command line -----------------------------------------------------------------------


def test_command_produces_a_done_run_with_a_file(world, media, capsys):
    call_command("monthly_report", "--campaign", world.campaign.slug, "--month", "2026-10")
    run = ReportRun.objects.get(campaign=world.campaign, month=OCTOBER)
    assert run.status == JobStatus.DONE
    assert run.trigger == "command"
    assert os.path.exists(run.file.path)
    assert run.data["rectification"]["opened"] == 2
    assert "neihuang-report 2026-10" in capsys.readouterr().out


def test_command_can_hand_the_run_to_the_queue(world, media, eager):
    call_command(
        "monthly_report", "--campaign", world.campaign.slug, "--month", "2026-10", "--queue"
    )
    assert ReportRun.objects.get(campaign=world.campaign).status == JobStatus.DONE


@pytest.mark.parametrize(
    ("campaign", "month"),
    [("no-such-campaign", "2026-10"), (None, "2026-13"), (None, "10/2026"), (None, "2026")],
)
def test_command_refuses_a_bad_campaign_or_month(world, campaign, month):
    with pytest.raises(CommandError):
        call_command(
            "monthly_report", "--campaign", campaign or world.campaign.slug, "--month", month
        )
    assert not ReportRun.objects.exists()


def test_command_reports_a_failed_run(world, media, monkeypatch):
    monkeypatch.setattr("scoring.services.jobs.monthly_figures", lambda c, m: 1 / 0)
    with pytest.raises(CommandError):
        call_command("monthly_report", "--campaign", world.campaign.slug, "--month", "2026-10")
    assert ReportRun.objects.get().status == JobStatus.FAILED
