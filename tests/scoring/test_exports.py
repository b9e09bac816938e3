"""Excel exports: every kind read back cell by cell, formula-like text kept as text, flat memory,
export jobs (progress, failure, broker down), the export pages and the download centre.

The county is the report county of tests/scenarios.py; its section gives every number used here.
Strings are being translated in parallel, so expected text is gettext under zh-hans.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import tracemalloc
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext
from openpyxl import load_workbook

from scoring import errors, services, tasks
from scoring.excel import exports as export_writers
from scoring.excel.exports import write_scores
from scoring.models import (
    Assessment,
    ExportJob,
    ExportKind,
    JobStatus,
    RectificationStatus,
    Score,
    ScoreStage,
    Stage,
)
from tests import factories
from tests.helpers import broker_down
from tests.scenarios import REPORT_SLUG, other_county_campaign
from villages.models import Unit, UnitKind

pytestmark = pytest.mark.django_db

FORMULA_LIKE = {"A1": "=1+1", "A2": "+86 12345", "B1": "-3", "B2": "@SUM(A1)"}


def zh(msgid: str) -> str:
    with translation.override("zh-hans"):
        return gettext(msgid)


def zh_html(msgid: str) -> str:
    return escape(zh(msgid))


def files_under(root) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _s, fs in os.walk(root) for f in fs
    )


def values(ws) -> list[list]:
    return [[c.value for c in row] for row in ws.iter_rows()]


def check_header(ws, headers: list[str]) -> None:
    """The first row is the bold, text-typed header and stays in view when scrolling."""
    assert [c.value for c in ws[1]] == headers
    assert all(c.font.b and c.data_type == "s" for c in ws[1])
    assert ws.freeze_panes == ("C2" if len(headers) > 4 else "A2")


def write(tmp_path, kind: str, **kw):
    """Write one export kind under zh-hans and open it (not read-only: styles and panes)."""
    path = tmp_path / f"{kind}.xlsx"
    with translation.override("zh-hans"):
        rows = services.export_write(path, kind=kind, **kw)
    return rows, load_workbook(path)


def rename_formula_like(world) -> None:
    for key, name in FORMULA_LIKE.items():
        Unit.objects.filter(pk=world.units[key].pk).update(name=name)


def assert_text_not_formula(wb, texts) -> None:
    """Every given text is in the workbook as a text cell, and no cell holds a formula."""
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    found = {c.value: c for c in cells if c.value in texts}
    assert set(found) == set(texts)
    for text, cell in found.items():
        assert cell.data_type == "s", text
    assert not [c.coordinate for c in cells if c.data_type == "f"]


# --- score sheet ----------------------------------------------------------------------------


def test_write_scores_reads_back_cell_by_cell(world, tmp_path):
    rows, wb = write(
        tmp_path, ExportKind.SCORES, campaign=world.campaign, period=world.periods["2026Q3"]
    )
    assert rows == 4
    with translation.override("zh-hans"):
        _ = gettext
        assert wb.sheetnames == [_("Score sheet")]
        final, yes, no = str(Stage.FINAL.label), _("yes"), _("no")
        headers = [_("Division code"), _("Unit"), _("Township"), _("Stage")]
        headers += ["1.1 指标1.1 (60.00)", "1.2 指标1.2 (40.00)", "1.3 指标1.3"]
        headers += ["2.1 指标2.1 (50.00)", "2.2 指标2.2 (50.00)", "党建引领", "产业兴旺"]
        headers += [_("Average"), _("Level held")]
    ws = wb[zh("Score sheet")]
    check_header(ws, headers)
    # County scores of a final period (红星村's township-stage full marks are not shown).
    assert values(ws)[1:] == [
        ["410527100901", "红星村", "城关镇", final, 57, 38, no, 45, 47, 95, 92, 93.5, 2],
        ["410527100902", "前进村", "城关镇", final, 50, 30, no, 40, 35, 80, 75, 77.5, 1],
        ["410527101901", "胜利村", "东庄镇", final, 60, 40, no, 50, 48, 100, 98, 99, 2],
        ["410527101902", "和平村", "东庄镇", final, 42, 28, yes, 30, 30, 70, 60, 65, 0],
    ]
    assert ws["A2"].data_type == "s"  # codes stay text, leading digits and all


def test_write_scores_shows_each_assessments_current_stage(world, tmp_path):
    _rows, wb = write(
        tmp_path, ExportKind.SCORES, campaign=world.campaign, period=world.periods["2026Q4"]
    )
    rows = {r[1]: r for r in values(wb.worksheets[0])[1:]}
    with translation.override("zh-hans"):
        assert rows["红星村"][3] == str(Stage.SELF.label)
        assert rows["胜利村"][3] == str(Stage.COUNTY.label)
    # 红星村 has no self-assessment scores yet; 胜利村 has county scores of 10 on every item.
    assert rows["红星村"][4:11] == [None] * 7
    assert rows["胜利村"][4:] == [10, 10, zh("no"), 10, 10, 20, 20, 20, 2]


def test_write_scores_is_cut_to_the_users_scope_and_region(
    world, township_official, township_b, tmp_path
):
    q3 = world.periods["2026Q3"]
    _r, wb = write(
        tmp_path, ExportKind.SCORES, campaign=world.campaign, period=q3, user=township_official
    )
    assert [r[1] for r in values(wb.worksheets[0])[1:]] == ["红星村", "前进村"]
    _r, wb = write(
        tmp_path, ExportKind.SCORES, campaign=world.campaign, period=q3, region=township_b
    )
    assert [r[1] for r in values(wb.worksheets[0])[1:]] == ["胜利村", "和平村"]


def test_write_scores_reports_progress_by_chunk(world, tmp_path, monkeypatch):
    chunks = export_writers.chunks
    monkeypatch.setattr(export_writers, "chunks", lambda items: chunks(items, 3))
    calls = []
    write_scores(
        tmp_path / "s.xlsx",
        period=world.periods["2026Q3"],
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls == [(3, 4), (4, 4)]


def _many_units(township, n: int, start: int) -> list[Unit]:
    return Unit.objects.bulk_create(
        Unit(
            code=f"{township.code[:9]}{start + i:03d}",
            name=f"大村{start + i}",
            kind=UnitKind.VILLAGE,
            township=township,
        )
        for i in range(n)
    )


def _scored_period(campaign, indicators, label: str, units: list[Unit]):
    period = factories.PeriodFactory(campaign=campaign, label=label)
    assessments = Assessment.objects.bulk_create(
        Assessment(period=period, unit=u, stage=Stage.FINAL, finalised_at=timezone.now())
        for u in units
    )
    Score.objects.bulk_create(
        Score(assessment=a, indicator=indicator, stage=ScoreStage.COUNTY, value=Decimal("4"))
        for a in assessments
        for indicator in indicators
    )
    return period


def _peak(path, period) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        write_scores(path, period=period)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_write_scores_memory_stays_flat(county, township_b, tmp_path, monkeypatch):
    campaign = factories.CampaignFactory(region=county)
    dimension = factories.DimensionFactory(campaign=campaign)
    indicators = [
        factories.IndicatorFactory(dimension=dimension, code=f"1.{i}", max_points=Decimal("5"))
        for i in range(1, 21)
    ]
    units = _many_units(township_b, 400, start=400)
    small = _scored_period(campaign, indicators, "2027Q1", units[:50])
    large = _scored_period(campaign, indicators, "2027Q2", units)
    # Both runs read scores 50 assessments at a time, so that only what is kept per row can
    # make the larger one need more.
    chunks = export_writers.chunks
    monkeypatch.setattr(export_writers, "chunks", lambda items: chunks(items, 50))
    for period in (small, large):  # imports, caches, compiled queries
        write_scores(tmp_path / "warm.xlsx", period=period)
    peak_small = _peak(tmp_path / "small.xlsx", small)
    peak_large = _peak(tmp_path / "large.xlsx", large)
    assert load_workbook(tmp_path / "large.xlsx").worksheets[0].max_row == 1 + 400
    # Eight times the units. Measured: about 2× (the list of assessments, ~2 KB a unit, is
    # what still grows); a workbook kept in memory (openpyxl's normal mode) makes it 4×.
    assert peak_large < 3 * peak_small, (peak_small, peak_large)


# --- roster ---------------------------------------------------------------------------------


def test_write_roster_reads_back_cell_by_cell(world, tmp_path):
    rows, wb = write(tmp_path, ExportKind.ROSTER, campaign=world.campaign)
    assert rows == 4  # the inactive 旧址村 is left out
    with translation.override("zh-hans"):
        _ = gettext
        assert wb.sheetnames == [_("Roster")]
        headers = [
            _("Division code"),
            _("Unit"),
            _("Township"),
            _("Kind"),
            _("Level held"),
            _("Target"),
            "党建引领",
            "产业兴旺",
        ]
        village = str(UnitKind.VILLAGE.label)
    ws = wb[zh("Roster")]
    check_header(ws, headers)
    # Empty marks are empty cells.
    assert [[v if v != "" else None for v in row] for row in values(ws)[1:]] == [
        ["410527100901", "红星村", "城关镇", village, 2, 2, "★", "★"],
        ["410527100902", "前进村", "城关镇", village, 1, None, "★", None],
        ["410527101901", "胜利村", "东庄镇", village, 2, None, "★", "★"],
        ["410527101902", "和平村", "东庄镇", village, 0, 1, None, None],
    ]


# --- rectification ledger -------------------------------------------------------------------


def test_write_ledger_reads_back_cell_by_cell(world, tmp_path):
    rows, wb = write(tmp_path, ExportKind.LEDGER, campaign=world.campaign)
    assert rows == 6
    today = timezone.localdate()
    with translation.override("zh-hans"):
        _ = gettext
        assert wb.sheetnames == [_("Rectification ledger")]
        headers = [
            _("Period"),
            _("Township"),
            _("Unit"),
            _("Indicator"),
            _("Points lost"),
            _("Why points were lost"),
            _("Responsible person"),
            _("Measure"),
            _("Deadline"),
            _("Status"),
            _("Overdue"),
            _("Closed"),
        ]
        label = {s: str(s.label) for s in RectificationStatus}
        yes = _("yes")
    ws = wb[zh("Rectification ledger")]
    check_header(ws, headers)

    def overdue(deadline: dt.date, status) -> str | None:
        return yes if status == RectificationStatus.OPEN and deadline < today else None

    open_, reported, closed = (
        RectificationStatus.OPEN,
        RectificationStatus.REPORTED,
        RectificationStatus.CLOSED,
    )
    li, fill = "李主任", "补齐台账"
    a, hx, qj = "城关镇", "红星村", "前进村"
    b, hp = "东庄镇", "和平村"
    expected = [
        [a, hx, "1.1 指标1.1", "=SUM(A1:A9)", "@王五", "+补齐台账", (10, 20), open_, None],
        [a, hx, "1.2 指标1.2", "-2分 会议记录缺失", li, fill, (10, 15), reported, None],
        [a, qj, "1.1 指标1.1", None, li, fill, (10, 5), closed, (10, 31, 23, 30)],
        [a, qj, "2.1 指标2.1", None, li, fill, (10, 10), closed, (11, 1, 0, 30)],
        [b, hp, "1.1 指标1.1", None, li, fill, (10, 31), open_, None],
        [b, hp, "2.1 指标2.1", None, li, fill, (10, 25), open_, None],
    ]
    for r, (town, unit, item, note, person, measure, due, status, closed_at) in enumerate(
        expected, start=2
    ):
        deadline = dt.date(2026, *due)
        row = [c.value if c.value != "" else None for c in ws[r]]
        assert row == [
            "2026Q3",
            town,
            unit,
            item,
            2,
            note,
            person,
            measure,
            dt.datetime(2026, *due),
            label[status],
            overdue(deadline, status),
            # Closed times in Shanghai wall-clock time, not UTC.
            dt.datetime(2026, *closed_at) if closed_at else None,
        ], r
        assert ws.cell(r, 9).is_date and ws.cell(r, 9).number_format == "yyyy-mm-dd"
        if closed_at:
            assert ws.cell(r, 12).number_format == "yyyy-mm-dd hh:mm"
    assert_text_not_formula(wb, ["=SUM(A1:A9)", "@王五", "+补齐台账", "-2分 会议记录缺失"])


def test_write_ledger_flags_open_items_past_their_deadline(world, tmp_path):
    r6 = world.rectifications["r6"]
    r6.deadline = timezone.localdate() - dt.timedelta(days=1)
    r6.save()
    r5 = world.rectifications["r5"]
    r5.deadline = timezone.localdate()
    r5.save()
    _r, wb = write(tmp_path, ExportKind.LEDGER, campaign=world.campaign)
    overdue = {row[2] + row[3][:3]: row[10] for row in values(wb.worksheets[0])[1:]}
    assert overdue["和平村2.1"] == zh("yes")
    assert overdue["和平村1.1"] in ("", None)  # due today is not overdue yet


def test_write_ledger_is_cut_by_user_region_and_period(
    world, township_official, township_b, tmp_path
):
    campaign = world.campaign
    assert write(tmp_path, ExportKind.LEDGER, campaign=campaign, user=township_official)[0] == 4
    assert write(tmp_path, ExportKind.LEDGER, campaign=campaign, region=township_b)[0] == 2
    assert (
        write(tmp_path, ExportKind.LEDGER, campaign=campaign, period=world.periods["2026Q2"])[0]
        == 0
    )


# --- ranking --------------------------------------------------------------------------------


def test_write_ranking_reads_back_cell_by_cell(world, tmp_path):
    rows, wb = write(
        tmp_path, ExportKind.RANKING, campaign=world.campaign, period=world.periods["2026Q3"]
    )
    assert rows == 2 + 4
    with translation.override("zh-hans"):
        _ = gettext
        assert wb.sheetnames == [_("Townships"), _("Units")]
        town_headers = [
            _("Rank"),
            _("Township"),
            _("Units"),
            _("Average"),
            _("Change"),
            _("Levels held"),
            _("Gained/lost"),
        ]
        unit_headers = [
            _("Rank"),
            _("Unit"),
            _("Township"),
            _("Total"),
            _("Change"),
            _("Level held"),
            _("Gained/lost"),
        ]
    towns, units = wb.worksheets
    check_header(towns, town_headers)
    check_header(units, unit_headers)
    # Gained/lost: the period's holding changes (红星村 +1, 前进村 +1, 和平村 −1).
    assert values(towns)[1:] == [
        [1, "城关镇", 2, 85.5, 3, 3, 2],
        [2, "东庄镇", 2, 82, -3, 2, -1],
    ]
    assert values(units)[1:] == [
        [1, "胜利村", "东庄镇", 99, 14, 2, 0],
        [2, "红星村", "城关镇", 93.5, 3.5, 2, 1],
        [3, "前进村", "城关镇", 77.5, 2.5, 1, 1],
        [4, "和平村", "东庄镇", 65, None, 0, -1],
    ]


# --- formula-like text and errors -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "period", "units"),
    [
        (ExportKind.SCORES, "2026Q3", "A1 A2 B1 B2"),
        (ExportKind.ROSTER, None, "A1 A2 B1 B2"),
        (ExportKind.LEDGER, None, "A1 A2 B2"),  # 胜利村 has nothing to rectify
        (ExportKind.RANKING, "2026Q3", "A1 A2 B1 B2"),
    ],
)
def test_formula_like_names_come_back_as_text(world, tmp_path, kind, period, units):
    rename_formula_like(world)
    _r, wb = write(
        tmp_path, kind, campaign=world.campaign, period=world.periods[period] if period else None
    )
    assert_text_not_formula(wb, [FORMULA_LIKE[key] for key in units.split()])


@pytest.mark.parametrize("kind", [ExportKind.SCORES, ExportKind.RANKING])
def test_period_exports_need_a_period(world, tmp_path, kind):
    with pytest.raises(errors.ScoringError):
        services.export_write(tmp_path / "x.xlsx", kind=kind, campaign=world.campaign)
    assert not (tmp_path / "x.xlsx").exists()


def test_unknown_export_kind_is_refused(world, tmp_path):
    with pytest.raises(errors.ScoringError):
        services.export_write(tmp_path / "x.xlsx", kind="pdf", campaign=world.campaign)
    with pytest.raises(errors.ScoringError):
        services.export_job_start(user=None, kind="pdf", campaign=world.campaign)
    assert not ExportJob.objects.exists()


def test_rows_estimate_counts_items_or_units_in_scope(world, township_official, township_b):
    campaign = world.campaign
    estimate = services.export_rows_estimate
    assert estimate(kind=ExportKind.LEDGER, campaign=campaign) == 6
    assert estimate(kind=ExportKind.LEDGER, campaign=campaign, user=township_official) == 4
    assert estimate(kind=ExportKind.LEDGER, campaign=campaign, region=township_b) == 2
    q2 = world.periods["2026Q2"]
    assert estimate(kind=ExportKind.LEDGER, campaign=campaign, period=q2) == 0
    assert estimate(kind=ExportKind.ROSTER, campaign=campaign, user=township_official) == 2
    assert estimate(kind=ExportKind.SCORES, campaign=campaign, region=township_b) >= 2


# --- export jobs (services) -----------------------------------------------------------------


def job_for(user, world, kind=ExportKind.SCORES, period="2026Q3", **kw) -> ExportJob:
    return ExportJob.objects.create(
        kind=kind,
        campaign=world.campaign,
        period=world.periods[period] if period else None,
        requested_by=user,
        **kw,
    )


def test_export_job_reports_progress_then_rows_and_file(world, county_staff, media, monkeypatch):
    job = job_for(county_staff, world)
    seen = []
    real = write_scores

    def spying(path, *, progress, **kw):
        def spy(done, total):
            progress(done, total)
            row = ExportJob.objects.values("status", "progress", "rows", "file").get(pk=job.pk)
            seen.append(row)

        return real(path, progress=spy, **kw)

    chunks = export_writers.chunks
    monkeypatch.setattr(export_writers, "chunks", lambda items: chunks(items, 1))
    monkeypatch.setattr("scoring.services.jobs.write_scores", spying)

    done = services.export_job_execute(job_id=job.pk)

    # While it runs: progress in the database, no rows and no file yet, never 100.
    assert [s["progress"] for s in seen] == [25, 50, 75, 99]
    assert {(s["status"], s["rows"], s["file"]) for s in seen} == {(JobStatus.RUNNING, 0, "")}
    job.refresh_from_db()
    assert job == done
    assert (job.status, job.progress, job.rows, job.error) == (JobStatus.DONE, 100, 4, "")
    assert job.finished_at is not None
    assert os.path.basename(job.file.name).startswith("scores-neihuang-report-2026Q3")
    assert files_under(media) == [os.path.relpath(job.file.path, media)]
    assert load_workbook(job.file.path).worksheets[0].max_row == 5


def test_export_job_is_cut_to_the_requesters_scope(world, township_official, media):
    job = job_for(township_official, world, kind=ExportKind.ROSTER, period=None)
    services.export_job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.rows == 2
    assert job.file.name.endswith(".xlsx") and "roster-neihuang-report-2026" in job.file.name


def test_a_failing_export_is_marked_failed_and_leaves_no_file(
    world, county_staff, media, monkeypatch
):
    def broken(path, *, progress, **kw):
        with open(path, "wb") as fh:
            fh.write(b"half a workbook")
        progress(200, 400)
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr("scoring.services.jobs.write_roster", broken)
    job = job_for(county_staff, world, kind=ExportKind.ROSTER, period=None)
    with pytest.raises(RuntimeError):
        services.export_job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == "RuntimeError: 磁盘已满"
    assert job.progress == 50
    assert job.rows == 0
    assert not job.file
    assert job.finished_at is not None
    assert files_under(media) == []


def test_export_job_start_queues_and_runs(world, county_staff, media, eager):
    job = tasks.export_job_queue(
        user=county_staff,
        kind=ExportKind.RANKING,
        campaign=world.campaign,
        period=world.periods["2026Q3"],
    )
    job.refresh_from_db()
    assert (job.status, job.progress, job.rows) == (JobStatus.DONE, 100, 6)


def test_unreachable_broker_marks_the_job_failed_with_the_message(world, county_staff):
    with (
        translation.override("zh-hans"),
        broker_down(),
        pytest.raises(errors.QueueError) as excinfo,
    ):
        tasks.export_job_queue(user=county_staff, kind=ExportKind.ROSTER, campaign=world.campaign)
    message = zh("The job could not be queued; try again in a few minutes.")
    assert excinfo.value.message == message
    job = ExportJob.objects.get()
    assert (job.status, job.error, job.file.name) == (JobStatus.FAILED, message, "")


# --- export pages ---------------------------------------------------------------------------


def start_url() -> str:
    return reverse("scoring:export_start", args=[REPORT_SLUG])


def xlsx_of(response):
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def test_it_downloads_a_small_export_at_once(client, county_staff, world, media):
    client.force_login(county_staff)
    response = client.post(start_url(), {"kind": "scores", "period": "2026Q3"})
    assert 'filename="scores-neihuang-report-2026Q3.xlsx"' in response["Content-Disposition"]
    assert response["Content-Disposition"].startswith("attachment")
    wb = xlsx_of(response)
    assert [r[1] for r in values(wb.worksheets[0])[1:]] == ["红星村", "前进村", "胜利村", "和平村"]
    assert not ExportJob.objects.exists()
    assert files_under(media) == []


def test_it_cuts_an_immediate_export_to_the_users_scope(client, township_official, world):
    client.force_login(township_official)
    wb = xlsx_of(client.post(start_url(), {"kind": "ledger"}))
    assert {r[2] for r in values(wb.worksheets[0])[1:]} == {"红星村", "前进村"}
    roster = client.post(start_url(), {"kind": "roster"})
    assert 'filename="roster-neihuang-report-2026.xlsx"' in roster["Content-Disposition"]
    assert [r[1] for r in values(xlsx_of(roster).worksheets[0])[1:]] == ["红星村", "前进村"]


def test_it_exports_a_region_inside_the_scope(client, county_staff, township_b, world):
    client.force_login(county_staff)
    wb = xlsx_of(client.post(start_url(), {"kind": "roster", "region": township_b.code}))
    assert [r[1] for r in values(wb.worksheets[0])[1:]] == ["胜利村", "和平村"]


def test_it_runs_large_exports_in_the_background(client, county_staff, world, media, eager):
    client.force_login(county_staff)
    response = client.post(start_url(), {"kind": "ranking", "period": "2026Q3", "background": "1"})
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("scoring:export_detail", args=[job.pk])
    assert (job.requested_by, job.kind, job.period) == (
        county_staff,
        ExportKind.RANKING,
        world.periods["2026Q3"],
    )
    assert job.status == JobStatus.DONE
    page = client.get(response["Location"]).content.decode()
    assert reverse("scoring:export_download", args=[job.pk]) in page
    wb = xlsx_of(client.get(reverse("scoring:export_download", args=[job.pk])))
    assert len(wb.worksheets) == 2


def test_it_runs_exports_over_the_small_limit_in_the_background(
    client, county_staff, world, media, eager, settings
):
    settings.EXPORT_IN_REQUEST_MAX_ROWS = 4
    client.force_login(county_staff)
    response = client.post(start_url(), {"kind": "ledger"})  # 6 items
    job = ExportJob.objects.get()
    assert response["Location"] == reverse("scoring:export_detail", args=[job.pk])
    assert job.rows == 6


def test_it_refuses_an_unknown_kind_or_a_missing_period(client, county_staff, world):
    client.force_login(county_staff)
    response = client.post(start_url(), {"kind": "pdf"})
    assert response["Location"] == reverse("scoring:downloads")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [zh("Unknown export.")]
    response = client.post(start_url(), {"kind": "scores"})
    assert response.status_code == 302
    assert zh("Choose a period for this export.") in [
        str(m) for m in get_messages(response.wsgi_request)
    ]
    assert not ExportJob.objects.exists()


def test_it_404s_a_period_region_or_campaign_out_of_reach(
    client, township_official, township_b, world
):
    client.force_login(township_official)
    assert client.post(start_url(), {"kind": "scores", "period": "2030Q1"}).status_code == 404
    assert (
        client.post(start_url(), {"kind": "roster", "region": township_b.code}).status_code == 404
    )
    other = other_county_campaign()
    url = reverse("scoring:export_start", args=[other.slug])
    assert client.post(url, {"kind": "roster"}).status_code == 404


def test_it_starts_exports_by_post_only_and_signed_in(client, county_staff, world):
    response = client.post(start_url(), {"kind": "roster"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(county_staff)
    assert client.get(start_url()).status_code == 405


def test_it_shows_the_queue_error_instead_of_a_500(client, county_staff, world):
    client.force_login(county_staff)
    with broker_down():
        response = client.post(start_url(), {"kind": "roster", "background": "1"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("scoring:downloads")
    html = response.content.decode()
    assert zh_html("The job could not be queued; try again in a few minutes.") in html
    assert ExportJob.objects.get().status == JobStatus.FAILED


def done_job(user, world, **kw) -> ExportJob:
    job = job_for(user, world, **kw)
    job.file.save("scores.xlsx", ContentFile(b"PK-not-really"), save=False)
    job.status, job.progress, job.rows = JobStatus.DONE, 100, 4
    job.save()
    return job


@pytest.mark.parametrize(("status", "progress"), [(JobStatus.QUEUED, 0), (JobStatus.RUNNING, 40)])
def test_it_shows_a_progress_bar_while_the_job_runs(client, county_staff, world, status, progress):
    job = job_for(county_staff, world, status=status, progress=progress)
    client.force_login(county_staff)
    url = reverse("scoring:export_detail", args=[job.pk])
    for headers in ({}, {"HX-Request": "true"}):
        html = client.get(url, headers=headers).content.decode()
        assert f'hx-get="{url}"' in html
        assert 'hx-trigger="every 1s"' in html
        assert 'role="progressbar"' in html
        assert f'aria-valuenow="{progress}"' in html
        assert f"width: {progress}%" in html
        assert 'id="export-download"' not in html
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<div id="export-status"') and "<html" not in fragment


def test_it_links_the_file_when_the_job_is_done(client, county_staff, world, media):
    job = done_job(county_staff, world)
    client.force_login(county_staff)
    html = client.get(
        reverse("scoring:export_detail", args=[job.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert "hx-get" not in html and "progressbar" not in html
    assert f'href="{reverse("scoring:export_download", args=[job.pk])}"' in html
    download = client.get(reverse("scoring:export_download", args=[job.pk]))
    assert b"".join(download.streaming_content) == b"PK-not-really"
    assert "attachment" in download["Content-Disposition"]


def test_it_states_why_the_job_failed(client, county_staff, world):
    job = job_for(county_staff, world, status=JobStatus.FAILED, error="RuntimeError: 磁盘已满")
    client.force_login(county_staff)
    html = client.get(reverse("scoring:export_detail", args=[job.pk])).content.decode()
    assert 'id="export-failed"' in html
    assert "RuntimeError: 磁盘已满" in html
    assert "hx-get" not in html
    assert client.get(reverse("scoring:export_download", args=[job.pk])).status_code == 404


def test_it_404s_a_download_that_is_not_ready(client, county_staff, world):
    job = job_for(county_staff, world, status=JobStatus.RUNNING, progress=50)
    client.force_login(county_staff)
    assert client.get(reverse("scoring:export_download", args=[job.pk])).status_code == 404


def test_it_hides_other_users_jobs_even_a_township_colleagues(
    client, township_official, county_staff, township_a, world, media
):
    colleague = factories.TownshipOfficialFactory(username="chengguan2", region=township_a)
    colleagues_job = done_job(colleague, world, kind=ExportKind.LEDGER, period=None)
    staff_job = done_job(county_staff, world)
    client.force_login(township_official)
    for job in (colleagues_job, staff_job):
        assert client.get(reverse("scoring:export_detail", args=[job.pk])).status_code == 404
        assert client.get(reverse("scoring:export_download", args=[job.pk])).status_code == 404
    # The owner gets it; nobody signed in is sent to log in.
    client.force_login(colleague)
    assert (
        client.get(reverse("scoring:export_download", args=[colleagues_job.pk])).status_code == 200
    )
    client.logout()
    response = client.get(reverse("scoring:export_detail", args=[colleagues_job.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_it_lists_only_the_users_own_jobs(client, county_staff, leader, world, media):
    mine = done_job(county_staff, world)
    failed = job_for(county_staff, world, kind=ExportKind.LEDGER, status=JobStatus.FAILED)
    theirs = done_job(leader, world)
    client.force_login(county_staff)
    html = client.get(reverse("scoring:downloads")).content.decode()
    assert reverse("scoring:export_detail", args=[mine.pk]) in html
    assert reverse("scoring:export_download", args=[mine.pk]) in html
    assert reverse("scoring:export_detail", args=[failed.pk]) in html
    assert reverse("scoring:export_download", args=[failed.pk]) not in html
    assert reverse("scoring:export_detail", args=[theirs.pk]) not in html
    assert f'action="{start_url()}"' in html


def test_it_shows_an_empty_download_centre(client, township_official, world):
    client.force_login(township_official)
    html = client.get(reverse("scoring:downloads")).content.decode()
    assert zh_html("No files yet.") in html


@pytest.mark.parametrize("n", [1, 10])
def test_it_lists_downloads_in_a_fixed_number_of_queries(
    client, county_staff, world, media, django_assert_num_queries, n
):
    for i in range(n):
        if i % 2:
            job_for(county_staff, world, kind=ExportKind.ROSTER, period=None)
        else:
            done_job(county_staff, world)
    client.force_login(county_staff)
    with django_assert_num_queries(6):
        response = client.get(reverse("scoring:downloads"))
    assert response.content.decode().count('href="/scoring/exports/') >= n
