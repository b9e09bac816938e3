"""A county's score sheet at full size: 532 units × 100 indicators, every cell pre-filled.

Format 2 templates record what every row was generated with (see scoring/excel/template.py);
this checks what that costs at the size of the largest county sheet: the meta table's size,
the whole file against the upload limit, and that the untouched sheet uploads as no change
while one edit in it is found. The numbers are printed (run with -s to see them).
"""

from __future__ import annotations

import io
import time
import zipfile
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from scoring.excel.template import META_SHEET, SCORE_SHEET, template_build
from scoring.models import Assessment, Score, ScoreStage, Stage
from scoring.services.sheets import scores_import
from tests import factories
from villages.models import Unit, UnitKind

pytestmark = pytest.mark.slow  # about a minute: deselect with -m "not slow"
UNITS, INDICATORS = 532, 100


def county_sheet(county, township, county_staff, *, notes: str) -> tuple[bytes, dict]:
    """Build the world and its county-stage sheet; `notes`: "some" (a deduction with its note
    in one cell of five) or "all" (a different note in every cell: the worst case)."""
    campaign = factories.CampaignFactory(region=county)
    dimension = factories.DimensionFactory(campaign=campaign)
    indicators = [
        factories.IndicatorFactory(dimension=dimension, code=f"{i // 10 + 1}.{i % 10 + 1}", order=i)
        for i in range(INDICATORS)
    ]
    period = factories.PeriodFactory(campaign=campaign)
    prefix = township.code[:9]
    units = Unit.objects.bulk_create(
        Unit(code=f"{prefix}{i:03d}", name=f"村{i}", kind=UnitKind.VILLAGE, township=township)
        for i in range(UNITS)
    )
    assessments = Assessment.objects.bulk_create(
        Assessment(period=period, unit=unit, stage=Stage.COUNTY) for unit in units
    )
    scores = []
    for a_index, assessment in enumerate(assessments):
        for i_index, indicator in enumerate(indicators):
            n = a_index * INDICATORS + i_index
            deducted = notes == "all" or n % 5 == 0
            scores.append(
                Score(
                    assessment=assessment,
                    indicator=indicator,
                    stage=ScoreStage.COUNTY,
                    value=Decimal("7.5") if deducted else Decimal("10"),
                    note=f"台账不全，第{n}项扣分" if deducted else "",
                )
            )
    Score.objects.bulk_create(scores, batch_size=5000)
    started = time.perf_counter()
    content = template_build(user=county_staff, period=period, stage=ScoreStage.COUNTY)
    built = time.perf_counter() - started
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheets = {info.filename: info for info in archive.infolist()}
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    meta_xml = sheets[f"xl/worksheets/sheet{workbook.sheetnames.index(META_SHEET) + 1}.xml"]
    rows = list(workbook[META_SHEET].iter_rows(values_only=True))
    workbook.close()
    header = next(i for i, row in enumerate(rows) if row and row[0] == "unit_code")
    table = rows[header + 1 :]
    signature = next(row[1] for row in rows if row and row[0] == "signature")
    figures = {
        "file_bytes": len(content),
        "build_seconds": round(built, 1),
        "signature_chars": len(signature),
        "originals_rows": len(table),
        "originals_chars": sum(len(row[1] or "") + len(row[2] or "") for row in table),
        "meta_xml_bytes": meta_xml.file_size,
        "meta_xml_zipped_bytes": meta_xml.compress_size,
    }
    return content, figures


@pytest.mark.parametrize("notes", ["some", "all"])
def test_a_full_county_sheet_stays_well_inside_the_limits(
    county, township_a, county_staff, notes, capsys
):
    content, figures = county_sheet(county, township_a, county_staff, notes=notes)
    assert figures["originals_rows"] == UNITS
    assert figures["file_bytes"] < settings.SHEET_MAX_BYTES / 2
    # The table's digest is signed, not the table: the signature holds the column list only.
    assert figures["signature_chars"] < 4000
    assert figures["meta_xml_zipped_bytes"] < 400_000
    started = time.perf_counter()
    result = scores_import(user=county_staff, file=SimpleUploadedFile("county.xlsx", content))
    figures["upload_untouched_seconds"] = round(time.perf_counter() - started, 1)
    assert result.scores == 0
    with capsys.disabled():
        print(f"\n{UNITS} units × {INDICATORS} indicators, notes={notes}: {figures}")


def test_one_edit_in_a_full_county_sheet_is_found(county, township_a, county_staff):
    content, _figures = county_sheet(county, township_a, county_staff, notes="some")
    workbook = load_workbook(io.BytesIO(content))
    ws = workbook[SCORE_SHEET]
    # Deep in the sheet: row 400, the 9th indicator's points (full marks when generated).
    ws.cell(400, 20).value = 6
    ws.cell(400, 21).value = "新发现问题"
    out = io.BytesIO()
    workbook.save(out)
    result = scores_import(
        user=county_staff, file=SimpleUploadedFile("county.xlsx", out.getvalue())
    )
    assert [(c.unit, c.indicator, c.old, c.new) for c in result.changes] == [
        ("村391", "1.9", "10", "6")
    ]
