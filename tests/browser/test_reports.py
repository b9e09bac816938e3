"""Reports in the browser: an export run as a background job (Celery: in-process when eager, a
real worker on PostgreSQL + Redis), and the dashboard's charts."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from scoring.models import ExportJob, JobStatus, RectificationStatus, Stage
from tests.browser.helpers import zh
from tests.scenarios import BROWSER_UNITS

pytestmark = pytest.mark.django_db(transaction=True)


def test_county_exports_scores_as_a_background_job(world, journey, jobs_run, tmp_path):
    world.advance("东街村", Stage.FINAL)
    world.advance("南关村", Stage.TOWNSHIP)
    page = journey.login(world.county_staff)
    page.locator("nav a", has_text=zh("Downloads")).click()
    form = page.locator(".export-form", has_text=world.campaign.name)
    expect(form.locator("select[name=period]")).to_have_value(world.period.label)
    form.locator("select[name=kind]").select_option("scores")
    form.locator(f"#bg-{world.campaign.pk}").check()
    form.locator("button").click()

    expect(page.locator("#export-status")).to_be_visible()
    try:  # the fragment polls itself every second until the file is ready
        expect(page.locator("#export-download")).to_be_visible(timeout=45_000)
    except AssertionError as exc:
        job = ExportJob.objects.order_by("-id").first()
        raise AssertionError(
            f"no download link; job {job and (job.status, job.progress, job.error)}\n"
            f"worker log:\n{jobs_run()}"
        ) from exc
    expect(page.locator("#export-failed")).to_have_count(0)
    with page.expect_download() as info:
        page.locator("#export-download").click()
    download = info.value
    assert download.suggested_filename.startswith(f"scores-{world.campaign.slug}-2026Q4")
    path = tmp_path / "scores.xlsx"
    download.save_as(path)

    workbook = load_workbook(path, read_only=True)
    rows = list(workbook[zh("Score sheet")].iter_rows(values_only=True))
    workbook.close()
    header, data = rows[0], rows[1:]
    assert header[:4] == (zh("Division code"), zh("Unit"), zh("Township"), zh("Stage"))
    assert header[-1] == zh("Level held")
    assert [r[1] for r in data] == [u[0] for u in sorted(BROWSER_UNITS, key=lambda u: u[1])]
    by_name = {r[1]: r for r in data}
    assert by_name["东街村"][3] == zh(Stage.FINAL.label)
    assert by_name["南关村"][3] == zh(Stage.TOWNSHIP.label)
    assert by_name["东街村"][-1] == 2  # 支部过硬 and 产业兴旺 held since 2026Q3
    job = ExportJob.objects.get()
    assert (job.status, job.rows, job.requested_by.username) == (JobStatus.DONE, 6, "xianwei")

    page.goto("/scoring/downloads/")
    expect(page.locator("#jobs tbody tr")).to_have_count(1)
    expect(page.locator("#jobs tbody tr a", has_text=".xlsx")).to_be_visible()
    journey.finish(page)


def test_dashboard_draws_its_charts(world, journey):
    world.advance("东街村", Stage.FINAL, {Stage.COUNTY: {"points": {"1.2": "26"}}})
    world.advance("东庄村", Stage.FINAL)
    world.advance("西庄村", Stage.FINAL, {Stage.COUNTY: {"points": {"3.1": "40"}}})
    world.advance("南关村", Stage.COUNTY)
    page = journey.login(world.leader)  # read-only, but the dashboard is theirs too
    page.locator(".campaign-card a", has_text=zh("Dashboard")).click()
    for chart in ("levels", "stages", "townships", "rect"):
        canvas = page.locator(f"#chart-{chart} canvas")
        expect(canvas).to_have_count(1)
        box = canvas.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100, f"{chart}: {box}"
    expect(page.locator("#dash-stages")).to_contain_text(f"{zh(Stage.FINAL.label)} 3")
    # Two finalised deductions opened two rectification items.
    expect(page.locator("#dash-rect")).to_contain_text(f"{zh(RectificationStatus.OPEN.label)} 2")
    expect(page.locator("#dash-bottom li")).to_have_count(3)
    try:
        page.wait_for_function(
            "window.echarts && echarts.getInstanceByDom(document.getElementById('chart-levels'))"
        )
    except PlaywrightError as exc:
        raise AssertionError("ECharts did not take over #chart-levels") from exc
    journey.finish(page)
