"""A zip whose directory asks for a newer zip version is refused as not a workbook, not a 500.

One changed byte ("version needed to extract" = 6.4) makes `zipfile` raise NotImplementedError
instead of BadZipFile; the hostile-uploads property test met it by chance.
"""

from __future__ import annotations

import io
import zipfile

import pytest

from scoring.errors import ImportErrors
from scoring.services.sheets import scores_import


def newer_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("[Content_Types].xml", "<x/>")
        archive.writestr("xl/workbook.xml", "<x/>")
    data = bytearray(buf.getvalue())
    data[data.rfind(b"PK\x01\x02") + 6] = 64  # the last directory entry needs zip 6.4
    return bytes(data)


def test_a_zip_needing_a_newer_version_is_not_a_workbook(township_official):
    with pytest.raises(NotImplementedError):  # what zipfile raises for it
        zipfile.ZipFile(io.BytesIO(newer_zip())).testzip()
    with pytest.raises(ImportErrors) as excinfo:
        scores_import(user=township_official, file=io.BytesIO(newer_zip()))
    assert [e.code for e in excinfo.value.errors] == ["not_xlsx"]
