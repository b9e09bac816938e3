"""Uploads that declare XML entities never reach openpyxl, and a role that scores nothing is
refused before the file is read (issue 13: a 3 MB workbook with nested entities took a worker
from 388 MB to 1.97 GB, and a read-only leader could send it)."""

from __future__ import annotations

import io
import zipfile

import pytest

from scoring.errors import ImportErrors
from scoring.services.sheets import scores_import

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<si><t>&lol2;</t></si></sst>"
)


def workbook_with(part: str, content: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr(part, content)
    return buf.getvalue()


@pytest.fixture
def no_parsing(monkeypatch):
    def parse(*args, **kwargs):
        raise AssertionError("openpyxl must not see this file")

    monkeypatch.setattr("scoring.services.sheets.load_workbook", parse)


@pytest.mark.parametrize(
    "content",
    [
        BILLION_LAUGHS,
        BILLION_LAUGHS.replace(b"DOCTYPE", b"doctype"),
        b"<sst>" + b" " * 70_000 + BILLION_LAUGHS[22:],  # across a scan-chunk boundary
        "<?xml version='1.0' encoding='utf-16'?><sst/>".encode("utf-16"),
    ],
    ids=["entities", "lower-case", "chunk-boundary", "utf-16"],
)
def test_declarations_are_refused_before_parsing(township_official, no_parsing, content):
    data = workbook_with("xl/sharedStrings.xml", content)
    with pytest.raises(ImportErrors) as excinfo:
        scores_import(user=township_official, file=io.BytesIO(data))
    assert [e.code for e in excinfo.value.errors] == ["xml_declaration"]


def test_a_role_that_scores_nothing_is_refused_before_reading(leader, monkeypatch):
    read = []
    monkeypatch.setattr("scoring.services.sheets.read_bytes", lambda *a: read.append(a))
    with pytest.raises(ImportErrors) as excinfo:
        scores_import(user=leader, file=io.BytesIO(workbook_with("xl/x.xml", BILLION_LAUGHS)))
    assert [e.code for e in excinfo.value.errors] == ["forbidden"]
    assert read == []
