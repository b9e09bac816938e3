"""Writing cells: one write-only sheet with a bold frozen header, values as Excel wants them.

Text that Excel would take for a formula (starting with =, +, - or @) is always written as
text. Writers write to a path; callers keep a file only once it is complete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from copy import copy
from decimal import Decimal
from typing import TypeVar

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

CHUNK = 200  # assessments per database round trip
FORMULA_START = ("=", "+", "-", "@")
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="FDE2E1")
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="top")
Progress = Callable[[int, int], None]
_T = TypeVar("_T")


class SheetWriter:
    """One write-only worksheet with a bold, frozen header and set column widths."""

    def __init__(
        self, workbook: Workbook, title: str, headers: list[str], widths: list[int]
    ) -> None:
        self.ws = workbook.create_sheet(title=title[:31])
        for i, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(i)].width = width
        self.ws.freeze_panes = "C2" if len(headers) > 4 else "A2"
        self._header_style = None
        self.ws.append([self._header(h) for h in headers])
        self.rows = 0

    def _header(self, text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws, value=text)
        if self._header_style is None:
            cell.font, cell.fill = HEADER_FONT, HEADER_FILL
            cell.alignment = HEADER_ALIGNMENT
            self._header_style = cell._style
        else:
            # The same style, registered once: setting font, fill and alignment looks each
            # up in the workbook's style tables again (a wide sheet has hundreds of headers).
            cell._style = copy(self._header_style)
        cell.data_type = "s"
        return cell

    def append(self, values: Iterable, formats: dict[int, str] | None = None) -> None:
        """Append a row. Plain values go in as they are (fast path); a cell object is made only
        for text Excel would read as a formula and for values needing a number format."""
        row = []
        for i, value in enumerate(values):
            kind = value.__class__
            if kind is Decimal:
                value = float(value)
            elif value is not None and kind is not float and kind is not int:
                value = cell_value(value)
                if isinstance(value, str) and value.startswith(FORMULA_START):
                    cell = WriteOnlyCell(self.ws, value=value)
                    cell.data_type = "s"  # text, never a formula
                    row.append(cell)
                    continue
            if formats and i in formats and value is not None:
                cell = WriteOnlyCell(self.ws, value=value)
                cell.number_format = formats[i]
                value = cell
            row.append(value)
        self.ws.append(row)
        self.rows += 1

    def append_numbers(self, values: list, texts: Iterable[int]) -> None:
        """Append a row of numbers (int, float) and None, with text only at the positions
        `texts`, which alone are checked for what Excel would read as a formula. For wide
        sheets, where looking at every cell costs as much as writing it."""
        for i in texts:
            value = values[i]
            if isinstance(value, str) and value.startswith(FORMULA_START):
                cell = WriteOnlyCell(self.ws, value=value)
                cell.data_type = "s"  # text, never a formula
                values[i] = cell
        self.ws.append(values)
        self.rows += 1


def cell_value(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def new_workbook() -> Workbook:
    return Workbook(write_only=True)


def chunks(items: list[_T], size: int = CHUNK) -> Iterator[list[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
