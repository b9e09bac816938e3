"""The township's offline score sheet: download the template, fill it in with a spreadsheet
program (openpyxl here), upload it — a broken copy is refused cell by cell, a good one saved,
and the untouched template uploaded again afterwards reverts nothing."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from scoring.excel.template import FIRST_DATA_ROW, ROW_CODE, SCORE_SHEET
from scoring.models import ChangeSource, Score, ScoreChange, ScoreStage, Stage
from tests.browser.helpers import zh

pytestmark = pytest.mark.django_db(transaction=True)


def _cells(sheet) -> tuple[dict[str, int], dict[str, int]]:
    """Map indicator code → points column and unit code → row, from the template's headers."""
    columns = {
        cell.value: cell.column
        for cell in sheet[ROW_CODE]
        if isinstance(cell.value, str) and cell.value[:1].isdigit()
    }
    rows = {
        sheet.cell(row=r, column=1).value: r
        for r in range(FIRST_DATA_ROW, sheet.max_row + 1)
        if sheet.cell(row=r, column=1).value
    }
    return columns, rows


def _fill(template, target, world, entries) -> dict[tuple[str, str], tuple[int, str]]:
    """Write {(unit name, indicator code): (points, note)} into a copy of the template.

    Returns where each entry went: (row, column letter of the points cell).
    """
    workbook = load_workbook(template)
    sheet = workbook[SCORE_SHEET]
    columns, rows = _cells(sheet)
    where = {}
    for (unit_name, code), (value, text) in entries.items():
        r, c = rows[world.units[unit_name].code], columns[code]
        sheet.cell(row=r, column=c).value = value
        if text is not None:
            sheet.cell(row=r, column=c + 1).value = text
        where[(unit_name, code)] = (r, sheet.cell(row=r, column=c).column_letter)
    workbook.save(target)
    return where


def _stored(world) -> set[tuple]:
    return set(
        Score.objects.filter(stage=ScoreStage.TOWNSHIP).values_list(
            "assessment_id", "indicator_id", "value", "note", "version"
        )
    )


def test_township_fills_in_the_score_sheet_offline(world, journey, tmp_path):
    for name in ("东街村", "南关村", "城北社区"):
        world.advance(name, Stage.TOWNSHIP)  # 北关村 stays with its village: a locked row
    page = journey.login("chengguan")
    page.goto(f"/scoring/campaigns/{world.campaign.slug}/{world.period.label}/")
    with page.expect_download() as info:
        page.locator("#download-template").click()
    download = info.value
    assert download.suggested_filename.endswith("-2026Q4-township.xlsx")
    template = tmp_path / "template.xlsx"
    download.save_as(template)

    workbook = load_workbook(template, read_only=True)
    sheet = workbook[SCORE_SHEET]
    names = [r[1] for r in sheet.iter_rows(min_row=FIRST_DATA_ROW, values_only=True) if r[0]]
    workbook.close()
    assert names == ["东街村", "南关村", "北关村", "城北社区"]  # 城关镇's units, by code

    # A broken copy: words in a number cell, and more than the maximum.
    broken = tmp_path / "broken.xlsx"
    where = _fill(
        template,
        broken,
        world,
        {
            ("东街村", "1.1"): ("三十六", "组织生活会记录缺两次"),
            ("南关村", "2.2"): (45, "特色产业规模偏小"),
            ("城北社区", "3.2"): (44, "普法讲座少一次"),  # valid, but nothing may be saved
        },
    )
    before = _stored(world)
    page.locator("a", has_text=zh("Upload filled-in sheet")).click()
    page.set_input_files("#id_file", broken)
    page.locator("form[enctype='multipart/form-data'] button").click()
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(2)
    expect(page.locator(".alert-danger")).to_be_visible()
    for (unit, code), reason in (
        (("东街村", "1.1"), zh("“%(value)s” is not a number.") % {"value": "三十六"}),
        (("南关村", "2.2"), zh("At most %(max)s points for this indicator.") % {"max": "40"}),
    ):
        r, letter = where[(unit, code)]
        line = errors.filter(has_text=reason)
        expect(line).to_have_count(1)
        expect(line.locator("td").nth(1)).to_have_text(str(r))
        expect(line.locator("td").nth(2)).to_have_text(letter)
    expect(page.locator("#import-changes")).to_have_count(0)
    assert _stored(world) == before, "a refused upload must save nothing"
    assert not ScoreChange.objects.filter(source=ChangeSource.UPLOAD).exists()

    # A good copy from the same template.
    good = tmp_path / "good.xlsx"
    _fill(
        template,
        good,
        world,
        {
            ("东街村", "1.1"): (36, "组织生活会记录缺两次"),
            ("南关村", "2.2"): (35, "特色产业规模偏小"),
            ("城北社区", "1.5"): (3, "获县级先进基层党组织"),
        },
    )
    page.set_input_files("#id_file", good)
    page.locator("form[enctype='multipart/form-data'] button").click()
    changes = page.locator("#import-changes tbody tr")
    expect(changes).to_have_count(3)
    expect(page.locator("#import-errors")).to_have_count(0)
    for unit, code, change in (
        ("东街村", "1.1", "40 → 36"),
        ("南关村", "2.2", "40 → 35"),
        ("城北社区", "1.5", "0 → 3"),
    ):
        line = changes.filter(has_text=unit)
        expect(line.locator("td").nth(1)).to_have_text(code)
        expect(line.locator("td").nth(2)).to_have_text(change)
    assert ScoreChange.objects.filter(source=ChangeSource.UPLOAD).count() == 3

    # The untouched template again, as if an older copy were uploaded by mistake: its
    # pre-filled cells are not edits, so the three new scores stay.
    saved = _stored(world)
    page.set_input_files("#id_file", template)
    page.locator("form[enctype='multipart/form-data'] button").click()
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator("#import-changes tbody tr")).to_have_count(0)
    expect(page.locator("#import-errors")).to_have_count(0)
    assert _stored(world) == saved
    assert ScoreChange.objects.filter(source=ChangeSource.UPLOAD).count() == 3
    journey.finish(page)
