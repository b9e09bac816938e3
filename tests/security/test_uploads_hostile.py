"""Hostile score-sheet uploads: whatever bytes arrive, the answer is an error list or a clean,
audited write, never a crash, a partial write or unbounded memory.

Hypothesis draws malformed workbooks of ten kinds (random bytes named .xlsx, an .xls header,
truncated or bit-flipped zips, zip bombs of four shapes, enormous dimensions claimed in the sheet
XML, cells of the wrong type, merged cells, formulas, hidden, extra and renamed sheets, random
edits anywhere in the template including its hidden meta sheet) and feeds each to
`scoring.services.sheets.scores_import` and through the upload view. For every input:
- the only exception is the module's ImportErrors, each error with a code;
- refused: the Score and ScoreChange tables are exactly as before; accepted: one ScoreChange
  per change reported, by the uploading user;
- tracemalloc's peak while importing stays under MEMORY_LIMIT.
An upload over 5 MB is refused from its size, before a byte of it is parsed.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from collections import Counter
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.worksheet.formula import ArrayFormula

from scoring.errors import ImportErrors
from scoring.excel.guard import OLE_MAGIC
from scoring.excel.template import FIRST_DATA_ROW, META_SHEET, ROW_CODE, SCORE_SHEET, template_build
from scoring.models import Score, ScoreChange, ScoreStage
from scoring.services.sheets import scores_import
from tests.scenarios import security_world_build

pytestmark = pytest.mark.django_db

MEMORY_LIMIT = 32 * 2**20  # bytes; a 5 MB upload and openpyxl's parse of a template fit well
HYPOTHESIS = settings(
    max_examples=10,  # per kind
    deadline=None,
    database=None,  # no .hypothesis folder in the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TRIED: Counter[str] = Counter()  # inputs tried per kind, for the summary (conftest.py)
OUTCOMES: Counter[str] = Counter()  # refused / imported
PEAK = [0]  # the highest tracemalloc peak seen while importing


# --- the world ------------------------------------------------------------------------------


class Sheet(dict):
    """Township A's official, an untouched township template, the upload page's address and the
    bombs built so far (a short repr: Hypothesis prints its arguments when a case fails)."""

    def __repr__(self) -> str:
        return "<the township template of 城关镇>"


@pytest.fixture
def sheet(media):
    world = security_world_build()
    place = world.places["A"]
    template = template_build(user=place.official, period=place.current, stage=ScoreStage.TOWNSHIP)
    url = reverse("scoring:sheet_upload", args=[place.campaign.slug, place.current.label])
    return Sheet(user=place.official, template=template, url=url, bombs={})


def db_state():
    return (
        list(
            Score.objects.order_by("id").values_list(
                "id", "assessment_id", "indicator_id", "stage", "value", "vetoed", "note", "version"
            )
        ),
        list(ScoreChange.objects.order_by("id").values_list("id", "score_id", "new_value")),
    )


# --- building hostile files -----------------------------------------------------------------


def rezip(template: bytes, replace: dict[str, bytes] | None = None, add=()) -> bytes:
    """The template's zip with some members replaced and others added ([(name, bytes)])."""
    replace = replace or {}
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(template)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info)))
        for name, content in add:
            target.writestr(name, content)
    return out.getvalue()


def big_member(target: zipfile.ZipFile, name: str, size: int, fill: bytes = b" ") -> None:
    """Add a member of `size` bytes of `fill`, written in chunks (never all in memory)."""
    chunk = fill * (2**20 // len(fill))
    with target.open(name, "w", force_zip64=True) as handle:
        written = 0
        while written < size:
            part = chunk[: size - written]
            handle.write(part)
            written += len(part)


def bomb(template: bytes, shape: str) -> bytes:
    """A workbook that looks like the template but would unpack far beyond any score sheet."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(template)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if not (shape == "sheet" and info.filename == "xl/worksheets/sheet1.xml"):
                target.writestr(info.filename, source.read(info))
        if shape == "ratio":  # one member packed 1000:1
            big_member(target, "xl/sharedStrings.xml", 8 * 2**20)
        elif shape == "total":  # three members adding up to 60 MB
            for n in range(3):
                big_member(target, f"xl/media/image{n}.bin", 20 * 2**20, b"\0")
        elif shape == "members":  # more members than any workbook has
            for n in range(django_settings.SHEET_MAX_ZIP_MEMBERS + 1):
                target.writestr(f"xl/media/x{n}.bin", b"")
        elif shape == "sheet":  # the score sheet itself padded with 6 MB of whitespace
            xml = source.read("xl/worksheets/sheet1.xml")
            with target.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as handle:
                handle.write(xml)
                for _ in range(6):
                    handle.write(b" " * 2**20)
    return out.getvalue()


def lying_bomb(template: bytes) -> bytes:
    """A sheet that inflates to 20 MB while its directory entry claims 2 KB."""
    content = bomb(template, "sheet")
    name = b"xl/worksheets/sheet1.xml"
    data = bytearray(content)
    at = data.find(b"PK\x01\x02")
    while at != -1:
        name_length = int.from_bytes(data[at + 28 : at + 30], "little")
        if bytes(data[at + 46 : at + 46 + name_length]) == name:
            extra_length = int.from_bytes(data[at + 30 : at + 32], "little")
            if int.from_bytes(data[at + 24 : at + 28], "little") == 0xFFFFFFFF:
                # zip64: the real sizes live in the extra field (usize first)
                extra = at + 46 + name_length
                end = extra + extra_length
                while extra < end:
                    tag = int.from_bytes(data[extra : extra + 2], "little")
                    size = int.from_bytes(data[extra + 2 : extra + 4], "little")
                    if tag == 1:
                        data[extra + 4 : extra + 12] = (2048).to_bytes(8, "little")
                        break
                    extra += 4 + size
            else:
                data[at + 24 : at + 28] = (2048).to_bytes(4, "little")
            break
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


def with_dimension(template: bytes, ref: str, far_row: int | None) -> bytes:
    """The template whose score sheet claims `ref` as its size, and maybe holds a far-off row."""
    with zipfile.ZipFile(io.BytesIO(template)) as source:
        xml = source.read("xl/worksheets/sheet1.xml").decode()
    if '<dimension ref="' in xml:
        start = xml.index('<dimension ref="') + len('<dimension ref="')
        xml = xml[:start] + ref + xml[xml.index('"', start) :]
    else:  # write-only sheets carry none: put one where the schema wants it
        at = min(
            xml.find(tag)
            for tag in ("<sheetViews", "<sheetFormatPr", "<cols", "<sheetData")
            if tag in xml
        )
        xml = f'{xml[:at]}<dimension ref="{ref}"/>{xml[at:]}'
    if far_row is not None:
        row = f'<row r="{far_row}"><c r="A{far_row}" t="inlineStr"><is><t>x</t></is></c></row>'
        xml = xml.replace("</sheetData>", row + "</sheetData>")
    return rezip(template, {"xl/worksheets/sheet1.xml": xml.encode()})


def put(ws, row: int, column: int, value) -> None:
    """Type a value into a cell, as Excel would let a user: not into the hidden part of a
    merged range."""
    cell = ws.cell(row, column)
    if not isinstance(cell, MergedCell):
        cell.value = value


def edited(template: bytes, edit) -> bytes:
    workbook = load_workbook(io.BytesIO(template))
    edit(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- strategies: each draws (kind, function of the template → file bytes, file name) -----------

NAMES = st.sampled_from(["评分表.xlsx", "score.XLSX", "a.xlsx", "评分表(1).xlsx", "x.xls"])
ROWS = st.integers(1, FIRST_DATA_ROW + 3)
COLUMNS = st.integers(1, 9)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=30)
WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-100, max_value=100),
    TEXT,
    st.datetimes(),
    st.dates(),
    st.times(),
    st.sampled_from(
        [
            "=1+1",
            "=SUM(D9:D99)",
            "#DIV/0!",
            "是",
            "否",
            "yes",
            "１０",
            "10分",
            "1e3",
            "NaN",
            "inf",
            "-0",
            "0x10",
            " 7.5 ",
            "７．５",
            "7。5",
            "410527100001",
            "@cmd",
            "+1",
            "-1",
        ]
    ),
)


def kind(name: str, strategy):
    return strategy.map(lambda made: (name, *made))


random_bytes = kind(
    "random bytes named .xlsx",
    st.tuples(st.binary(max_size=4096).map(lambda b: lambda t: b), NAMES),
)
legacy_xls = kind(
    "legacy .xls header",
    st.tuples(st.binary(max_size=2048).map(lambda b: lambda t: OLE_MAGIC + b), NAMES),
)
truncated = kind(
    "truncated zip",
    st.tuples(st.floats(0, 0.999).map(lambda f: lambda t: t[: int(len(t) * f)]), NAMES),
)


def flipped(content: bytes, flips) -> bytes:
    """The bytes with some of them replaced: [(position as a fraction, new byte)]."""
    data = bytearray(content)
    for fraction, value in flips:
        data[int(len(data) * fraction)] = value
    return bytes(data)


bit_flips = kind(
    "bit-flipped zip",
    st.tuples(
        st.lists(st.tuples(st.floats(0, 0.999), st.integers(0, 255)), min_size=1, max_size=8).map(
            lambda flips: lambda t: flipped(t, flips)
        ),
        NAMES,
    ),
)
zip_bombs = kind(
    "zip bomb",
    st.tuples(st.sampled_from(["ratio", "total", "members", "sheet", "lying"]), NAMES),
)
dimensions = kind(
    "enormous dimensions in the sheet XML",
    st.tuples(
        st.tuples(
            st.integers(django_settings.SHEET_MAX_ROWS + 1, 1_048_576),
            st.integers(1, 16_384),
            st.one_of(st.none(), st.integers(django_settings.SHEET_MAX_ROWS + 1, 1_048_576)),
            st.booleans(),
        ).map(
            lambda d: (
                lambda t: with_dimension(t, f"A1:XFD{d[0]}" if d[3] else f"A1:{_col(d[1])}1", d[2])
            )
        ),
        NAMES,
    ),
)


def _col(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


def _cells(edits):
    def edit(workbook):
        ws = workbook[SCORE_SHEET]
        for row, column, value in edits:
            put(ws, row, column, value)

    return edit


wrong_types = kind(
    "cells of the wrong type",
    st.tuples(
        st.lists(st.tuples(ROWS, COLUMNS, WRONG_VALUES), min_size=1, max_size=6).map(
            lambda e: lambda t: edited(t, _cells(e))
        ),
        NAMES,
    ),
)


def _merges(ranges):
    def edit(workbook):
        ws = workbook[SCORE_SHEET]
        for row, column, height, width in ranges:
            ws.merge_cells(
                start_row=row, start_column=column, end_row=row + height, end_column=column + width
            )

    return edit


merged = kind(
    "merged cells",
    st.tuples(
        st.lists(
            st.tuples(ROWS, COLUMNS, st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=4
        ).map(lambda m: lambda t: edited(t, _merges(m))),
        NAMES,
    ),
)
FORMULAS = st.one_of(
    st.sampled_from(["=1", "=D9*2", '=HYPERLINK("http://x","y")', "=SUM(1,2)", " =2"]),
    st.just("array"),
)


def _formulas(edits):
    def edit(workbook):
        ws = workbook[SCORE_SHEET]
        for row, column, formula in edits:
            coordinate = ws.cell(row, column).coordinate
            if formula == "array":
                formula = ArrayFormula(coordinate, "=SUM(D9:D10)")
            put(ws, row, column, formula)

    return edit


formulas = kind(
    "formulas",
    st.tuples(
        st.lists(st.tuples(ROWS, COLUMNS, FORMULAS), min_size=1, max_size=4).map(
            lambda e: lambda t: edited(t, _formulas(e))
        ),
        NAMES,
    ),
)
SHEET_STATES = st.sampled_from(["visible", "hidden", "veryHidden"])


def _sheets(score_state, meta_state, extra, rename, drop_meta):
    def edit(workbook):
        workbook[SCORE_SHEET].sheet_state = score_state
        workbook[META_SHEET].sheet_state = meta_state
        for title, state in extra:
            ws = workbook.create_sheet(title)
            ws["A1"] = "format"
            ws.sheet_state = state
        if rename:
            workbook[SCORE_SHEET].title = rename
        if drop_meta:
            del workbook[META_SHEET]
        if all(ws.sheet_state != "visible" for ws in workbook.worksheets):
            workbook.worksheets[0].sheet_state = "visible"  # Excel needs one visible sheet

    return edit


hidden_sheets = kind(
    "hidden, extra and renamed sheets",
    st.tuples(
        st.builds(
            _sheets,
            SHEET_STATES,
            SHEET_STATES,
            st.lists(
                st.tuples(st.sampled_from(["评分表 ", "meta2", "Sheet", "隐藏"]), SHEET_STATES),
                max_size=2,
                unique_by=lambda x: x[0],
            ),
            st.one_of(st.none(), st.sampled_from(["评分表2", "Sheet1"])),
            st.booleans(),
        ).map(lambda e: lambda t: edited(t, e)),
        NAMES,
    ),
)


def _anywhere(edits):
    def edit(workbook):
        for meta, row, column, value in edits:
            put(workbook[META_SHEET if meta else SCORE_SHEET], row, column, value)

    return edit


random_edits = kind(
    "template with random cell edits",
    st.tuples(
        st.lists(
            st.tuples(
                st.booleans(),
                st.integers(1, 14),
                st.integers(1, 9),
                st.one_of(WRONG_VALUES, st.decimals(0, 60, places=2).map(Decimal)),
            ),
            min_size=1,
            max_size=8,
        ).map(lambda e: lambda t: edited(t, _anywhere(e))),
        NAMES,
    ),
)
KINDS = {
    "random bytes": random_bytes,
    "legacy xls": legacy_xls,
    "truncated": truncated,
    "bit flips": bit_flips,
    "zip bombs": zip_bombs,
    "dimensions": dimensions,
    "wrong types": wrong_types,
    "merged": merged,
    "formulas": formulas,
    "hidden sheets": hidden_sheets,
    "random edits": random_edits,
}
HOSTILE = st.one_of(*KINDS.values())


def build(sheet: dict, drawn) -> tuple[str, str, bytes]:
    label, make, name = drawn
    if label == "zip bomb":
        shape = make
        if shape not in sheet["bombs"]:
            template = sheet["template"]
            sheet["bombs"][shape] = (
                lying_bomb(template) if shape == "lying" else bomb(template, shape)
            )
        return f"{label} ({shape})", name, sheet["bombs"][shape]
    return label, name, make(sheet["template"])


# --- the properties -------------------------------------------------------------------------


def imported(user, name: str, content: bytes):
    """Import under tracemalloc; return (result or ImportErrors, peak bytes)."""
    tracemalloc.start()
    try:
        try:
            outcome = scores_import(user=user, file=SimpleUploadedFile(name, content))
        except ImportErrors as exc:
            outcome = exc
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    OUTCOMES["refused" if isinstance(outcome, ImportErrors) else "imported"] += 1
    PEAK[0] = max(PEAK[0], peak)
    return outcome, peak


def check_outcome(outcome, before, user) -> None:
    if isinstance(outcome, ImportErrors):
        assert outcome.errors and all(e.code for e in outcome.errors)
        assert db_state() == before, "a refused upload wrote something"
    else:
        new = ScoreChange.objects.exclude(id__in=[row[0] for row in before[1]])
        assert new.count() == len(outcome.changes)
        assert set(new.values_list("changed_by", flat=True)) <= {user.id}


@pytest.mark.parametrize("kind", KINDS)
@HYPOTHESIS
@given(data=st.data())
def test_scores_import_survives_hostile_workbooks(sheet, kind, data):
    label, name, content = build(sheet, data.draw(KINDS[kind], label=kind))
    TRIED[label] += 1
    with transaction.atomic():
        before = db_state()
        outcome, peak = imported(sheet["user"], name, content)
        assert peak < MEMORY_LIMIT, f"{label}: {peak / 2**20:.1f} MB"
        check_outcome(outcome, before, sheet["user"])
        transaction.set_rollback(True)


@settings(HYPOTHESIS, max_examples=25)
@given(drawn=HOSTILE)
def test_the_upload_view_survives_hostile_workbooks(sheet, drawn):
    label, name, content = build(sheet, drawn)
    TRIED[f"{label} (view)"] += 1
    client = Client(raise_request_exception=True)
    client.force_login(sheet["user"])
    with transaction.atomic():
        before = db_state()
        response = client.post(sheet["url"], {"file": SimpleUploadedFile(name, content)})
        assert response.status_code == 200
        errors, result = response.context.get("import_errors"), response.context.get("result")
        form = response.context["form"]
        # Exactly one of: the form refused it (an empty file), the import listed its errors,
        # or it was imported.
        assert [bool(form.errors), errors is not None, result is not None].count(True) == 1
        if result is None:
            assert db_state() == before
        transaction.set_rollback(True)


# --- fixed cases the properties must include ------------------------------------------------


@pytest.mark.parametrize("shape", ["ratio", "total", "members", "sheet", "lying"])
def test_every_bomb_shape_is_refused_in_bounded_memory(sheet, shape):
    content = lying_bomb(sheet["template"]) if shape == "lying" else bomb(sheet["template"], shape)
    before = db_state()
    outcome, peak = imported(sheet["user"], "评分表.xlsx", content)
    TRIED[f"zip bomb ({shape}), fixed"] += 1
    assert isinstance(outcome, ImportErrors)
    expected = {"lying": {"unreadable"}, "sheet": {"zip_bomb"}}.get(shape, {"zip_bomb"})
    assert {e.code for e in outcome.errors} == expected
    assert peak < MEMORY_LIMIT
    assert db_state() == before


def test_a_good_upload_still_goes_through(sheet):
    """The hostile inputs above are refused, not everything: the template with one fair edit
    imports and is audited."""

    def fair(workbook):
        ws = workbook[SCORE_SHEET]
        column = next(c.column for c in ws[ROW_CODE] if c.value == "1.1")
        ws.cell(FIRST_DATA_ROW, column).value = 55
        ws.cell(FIRST_DATA_ROW, column + 1).value = "台账缺两页"

    before = db_state()
    outcome, peak = imported(sheet["user"], "评分表.xlsx", edited(sheet["template"], fair))
    assert not isinstance(outcome, ImportErrors), outcome.errors
    assert len(outcome.changes) == 1
    check_outcome(outcome, before, sheet["user"])
    assert peak < MEMORY_LIMIT


# --- oversize uploads -----------------------------------------------------------------------

OVER = django_settings.SHEET_MAX_BYTES + 1


def test_an_oversize_file_is_refused_from_its_size_before_parsing(sheet, monkeypatch):
    opened = []
    monkeypatch.setattr("scoring.services.sheets.check_container", lambda *a: opened.append(a))
    monkeypatch.setattr("scoring.services.sheets.load_workbook", lambda *a, **k: opened.append(a))
    content = sheet["template"] + b"\0" * (OVER - len(sheet["template"]))

    class Unread(SimpleUploadedFile):
        def read(self, *args):
            pytest.fail("the oversize file was read")

    upload = Unread("评分表.xlsx", content)
    tracemalloc.start()
    try:
        with pytest.raises(ImportErrors) as excinfo:
            scores_import(user=sheet["user"], file=upload)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [e.code for e in excinfo.value.errors] == ["too_large"]
    assert not opened
    assert peak < 2**20  # nothing of the 5 MB was copied


def test_the_upload_view_refuses_an_oversize_file_before_parsing(sheet, monkeypatch):
    opened = []
    monkeypatch.setattr("scoring.services.sheets.check_container", lambda *a: opened.append(a))
    client = Client()
    client.force_login(sheet["user"])
    before = db_state()
    response = client.post(
        sheet["url"], {"file": SimpleUploadedFile("评分表.xlsx", b"PK\x03\x04" + b"\0" * OVER)}
    )
    assert response.status_code == 200
    assert [e.code for e in response.context["import_errors"]] == ["too_large"]
    assert not opened
    assert db_state() == before


def test_an_oversize_form_field_is_refused_by_django_before_the_view(sheet, settings):
    """DATA_UPLOAD_MAX_MEMORY_SIZE caps what is read into memory besides files: 400."""
    client = Client()
    client.force_login(sheet["user"])
    response = client.post(sheet["url"], {"note": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    assert response.status_code == 400


def test_a_file_past_the_stream_limit_is_cut_off_while_it_arrives(client, sheet, settings):
    """SizeLimitUploadHandler stops a file part past MAX_UPLOAD_BYTES before it is spooled."""
    settings.MAX_UPLOAD_BYTES = 64 * 1024
    before = db_state()
    client.force_login(sheet["user"])
    big = SimpleUploadedFile("big.xlsx", sheet["template"] + b"\0" * (128 * 1024))
    response = client.post(sheet["url"], {"file": big})
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert db_state() == before
