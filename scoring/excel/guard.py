"""The upload guard: what a file must be before openpyxl parses it.

Refuses a file that is too big, not a zip, an old .xls (or encrypted) file, or a zip bomb,
and collects every problem found (UploadCheck) with its sheet, row and column.
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from typing import IO, TypedDict, Unpack

from django.conf import settings
from django.core.files import File
from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from scoring.errors import RowError
from villages.models import User

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and any password-protected workbook
ZIP_MAGIC = b"PK\x03\x04"


class SheetRefused(Exception):
    """Stop reading: the file as a whole cannot be used (errors already collected)."""


class CellWhere(TypedDict, total=False):
    """Where a problem is: the sheet, the row (1-based), the column (number or letter) and the
    column's header (the keywords of `UploadCheck.fail`)."""

    sheet: str
    row: int | None
    column: int | str | None
    header: str


class UploadCheck:
    """State of one upload: the errors found so far."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.errors: list[RowError] = []

    def fail(
        self,
        code: str,
        reason: str,
        *,
        sheet: str = "",
        row: int | None = None,
        column: int | str | None = None,
        header: str = "",
    ) -> None:
        self.errors.append(
            RowError(
                sheet=sheet,
                row=row,
                column=get_column_letter(column) if isinstance(column, int) else column,
                header=header,
                reason=reason,
                code=code,
            )
        )

    def refuse(self, code: str, reason: str, **where: Unpack[CellWhere]) -> SheetRefused:
        self.fail(code, reason, **where)
        return SheetRefused()


# What a damaged part of a workbook raises while openpyxl parses it (not database errors).
DAMAGED = (
    EOFError,
    IndexError,
    KeyError,
    OSError,
    SyntaxError,  # xml.etree.ElementTree.ParseError
    TypeError,
    ValueError,
    NotImplementedError,  # zipfile: a member needing a newer zip version or compression
    zipfile.BadZipFile,
    zlib.error,
)


def read_bytes(upload: UploadCheck, file: str | os.PathLike[str] | File | IO[bytes]) -> bytes:
    """Read at most the size limit (checked first from the size the file reports)."""
    limit_error = _("The file is larger than %(mb)d MB.") % {
        "mb": settings.SHEET_MAX_BYTES // 2**20
    }
    if isinstance(file, str | os.PathLike):
        if os.path.getsize(file) > settings.SHEET_MAX_BYTES:
            raise upload.refuse("too_large", limit_error)
        with open(file, "rb") as handle:
            data = handle.read(settings.SHEET_MAX_BYTES + 1)
    else:
        size = getattr(file, "size", None)
        if size is not None and size > settings.SHEET_MAX_BYTES:
            raise upload.refuse("too_large", limit_error)
        if hasattr(file, "seek"):
            file.seek(0)
        data = file.read(settings.SHEET_MAX_BYTES + 1)
    if len(data) > settings.SHEET_MAX_BYTES:
        raise upload.refuse("too_large", limit_error)
    return data


def check_container(upload: UploadCheck, data: bytes) -> None:
    """Refuse what is not an .xlsx, or would unpack into far more than any score sheet.

    Declared sizes are enough: Python's zipfile never inflates a member beyond its declared
    size (a lie ends in a CRC error), so openpyxl cannot be made to unpack more than this sum.
    """
    if data.startswith(OLE_MAGIC):
        raise upload.refuse(
            "legacy_xls",
            _(
                "This is an Excel 97–2003 (.xls) file or a password-protected workbook. Open it "
                "in Excel, save it as an Excel workbook (.xlsx) without a password, and upload "
                "that."
            ),
        )
    not_xlsx = _(
        "This is not an Excel workbook (.xlsx). Upload the score template downloaded from "
        "this system."
    )
    if not data.startswith(ZIP_MAGIC):
        raise upload.refuse("not_xlsx", not_xlsx)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise upload.refuse("not_xlsx", not_xlsx) from exc
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise upload.refuse("not_xlsx", not_xlsx)
    bomb = _(
        "The workbook unpacks to more than %(mb)d MB or is packed suspiciously tightly; it was "
        "not opened."
    ) % {"mb": settings.SHEET_MAX_UNPACKED_BYTES // 2**20}
    if len(members) > settings.SHEET_MAX_ZIP_MEMBERS:
        raise upload.refuse("zip_bomb", bomb)
    if sum(m.file_size for m in members) > settings.SHEET_MAX_UNPACKED_BYTES:
        raise upload.refuse("zip_bomb", bomb)
    for member in members:
        if (
            member.file_size > settings.SHEET_RATIO_CHECK_FROM_BYTES
            and member.file_size > settings.SHEET_MAX_PACKING_RATIO * max(member.compress_size, 1)
        ):
            raise upload.refuse("zip_bomb", bomb)
    check_xml_parts(upload, data, members)


def damaged_message() -> str:
    return _("The workbook cannot be read; it may be damaged. Download a new template.")


# Markup that declares entities: no spreadsheet part needs it, and nested entities expand a few
# KB into GB inside the XML parser (openpyxl reads with expat/lxml, which allow it).
_DECLARATIONS = (b"<!doctype", b"<!entity")
_SCAN_CHUNK = 64 * 1024


def check_xml_parts(upload: UploadCheck, data: bytes, members: list[zipfile.ZipInfo]) -> None:
    """Refuse a workbook any of whose XML parts declares a DOCTYPE or ENTITY, or is not UTF-8.

    A streaming scan of each inflated part (memory stays at one chunk), before openpyxl parses
    anything. Excel and LibreOffice write UTF-8 without a DOCTYPE; a UTF-16 part could hide a
    declaration from a byte scan, so it is refused too.
    """
    refused = _("The workbook contains XML declarations (DOCTYPE/ENTITY) that are not allowed.")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in members:
            if not member.filename.lower().endswith((".xml", ".rels", ".vml")):
                continue
            try:
                with archive.open(member) as part:
                    tail = b""
                    first = True
                    while chunk := part.read(_SCAN_CHUNK):
                        if first and (
                            chunk[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\0" in chunk[:4]
                        ):
                            raise upload.refuse("xml_declaration", refused)
                        first = False
                        window = (tail + chunk).lower()
                        if any(d in window for d in _DECLARATIONS):
                            raise upload.refuse("xml_declaration", refused)
                        tail = window[-16:]
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, zlib.error) as exc:
                # A part that does not inflate (a lying size, a bad CRC) is what openpyxl would
                # have found damaged: the same refusal, before it parses anything.
                raise upload.refuse("unreadable", damaged_message()) from exc
