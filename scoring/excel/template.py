"""The score-sheet template officials fill in offline (format 2): layout, styles, signed meta.

The template (sheet 评分表) has one row per unit and two columns per indicator (points, note).
A hidden sheet `meta` names the campaign, period, stage and region, when and for whom it was
generated, and the column of every indicator. Those facts are also signed with the project's
secret key: the upload trusts only the signed copy, because the generation time decides which
scores count as "changed by someone else meanwhile", and an edited time would let an old sheet
silently overwrite newer scores.

Format 2 also records what every unit row was generated with (the "originals" table of `meta`:
per unit, the points or veto answer of each indicator as shown, and a 32-bit digest of each
note), and signs the SHA-256 of that table. The upload counts a cell as an edit only when it
differs from that record: an untouched cell never writes and never trips the stage check, and
an emptied note cell clears the note. Format 1 sheets (no originals) still upload: there an
empty cell means "unchanged" and every filled cell is compared with the stored score.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
from collections.abc import Iterable, Iterator
from copy import copy
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.cell_range import CellRange, MultiCellRange
from openpyxl.worksheet.datavalidation import DataValidation

from campaigns.models import Indicator, IndicatorKind
from scoring.errors import ScoringError
from scoring.inputs import number_text
from scoring.models import (
    Assessment,
    Period,
    Score,
    Stage,
)
from villages.access import scope_for
from villages.errors import ErrorCode
from villages.models import Region, UnitKind, User
from villages.policy import Action, may

TEMPLATE_FORMAT = "hongqi-score-template/2"
TEMPLATE_FORMAT_1 = "hongqi-score-template/1"  # no originals; still accepted on upload
TEMPLATE_FORMATS = (TEMPLATE_FORMAT_1, TEMPLATE_FORMAT)
ORIGINALS_HEADER = ("unit_code", "values", "notes")
SCORE_SHEET = "评分表"
META_SHEET = "meta"
SIGNING_SALT = "scoring.xlsx.template"  # part of the file format: sheets already out stay valid
# Veto answers are part of the file format (the upload reads them back), not UI text.
VETO_YES = "是"
VETO_NO = "否"

# Layout (formats 1 and 2): rows of the title block and the headers, then one row per unit.
ROW_TITLE, ROW_HELP, ROW_CONTEXT = 1, 2, 3
ROW_DIMENSION, ROW_CODE, ROW_INDICATOR, ROW_MAX, ROW_FIELD = 4, 5, 6, 7, 8
FIRST_DATA_ROW = 9
FIXED_COLUMNS = 3  # division code, unit name, township
FIRST_INDICATOR_COLUMN = FIXED_COLUMNS + 1

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_DIMENSION_FILL = PatternFill("solid", fgColor="BDD7EE")
_GREY_FILL = PatternFill("solid", fgColor="D9D9D9")
_BOLD = Font(bold=True)
_TITLE_FONT = Font(bold=True, size=14)
_MUTED_FONT = Font(color="808080")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_WRAP = Alignment(vertical="top", wrap_text=True)
_UNLOCKED = Protection(locked=False)
_LOCKED = Protection(locked=True)


def display_value(value: Decimal | bool | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return VETO_YES if value else VETO_NO
    return number_text(value)


# --- what a row was generated with (format 2) -----------------------------------------------
# A row's originals are two strings with one comma-separated token per indicator column, in the
# order of the signed `columns`: the value shown (points as `number_text`, 是/否, '' for empty)
# and the note's digest ('' for no note). Trailing empty tokens are dropped.


def original_value(kind: str, value: Decimal | None, vetoed: bool | None) -> str:
    """The token of a points or veto cell as the template fills it in."""
    if kind == IndicatorKind.VETO:
        return display_value(vetoed) or ""
    return number_text(value) if value is not None else ""


def note_digest(note: str) -> str:
    """A short digest of a note as a cell shows it: '' for no note, else 6 characters.

    Line ends are normalised (XML reads \\r\\n back as \\n) and spaces at the ends dropped, as
    the upload reads cells. 32 bits: an edited note is taken for the original once in four
    billion edits; the signature over the whole table keeps the digests themselves honest.
    """
    text = note.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return ""
    digest = hashlib.blake2b(text.encode(), digest_size=4).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def join_tokens(tokens: Iterable[str]) -> str:
    return ",".join(tokens).rstrip(",")


def split_tokens(text: str, count: int) -> list[str] | None:
    """The `count` tokens of one originals string; None if it holds more."""
    tokens = text.split(",") if text else []
    if len(tokens) > count:
        return None
    return tokens + [""] * (count - len(tokens))


def originals_digest(rows: Iterable[tuple[str, str, str]]) -> str:
    """SHA-256 of the originals table (unit code, values, notes), in row order; signed."""
    digest = hashlib.sha256()
    for code, values, notes in rows:
        digest.update(f"{code}\x1f{values}\x1f{notes}\x1e".encode())
    return digest.hexdigest()


# --- the template ---------------------------------------------------------------------------


@dataclass
class Column:
    indicator: Indicator
    value_col: int  # 1-based; the note is the column after it

    @property
    def note_col(self) -> int:
        return self.value_col + 1


def template_build(
    *, user: User | None, period: Period, stage: str, region: Region | None = None
) -> bytes:
    """Build the .xlsx score template of `period` at `stage` for the units of `region`.

    Rows are the period's assessments whose unit lies in `region` (None: anywhere) and which
    `user` may see; `user=None` (command line, county IT staff) means every unit of the region.
    Department users get only the indicators their department leads. Cells hold the scores
    stored now at `stage`. Five queries whatever the size: assessments, indicators, those that
    apply to villages and to communities, and the scores (streamed in unit order, so memory
    stays flat for big regions).
    Raises ScoringError if the stage is not used, the user may not score at it, or the sheet
    would exceed the upload limits.
    """
    campaign = period.campaign
    if stage not in campaign.stages():
        raise ScoringError(
            _("This campaign does not use the stage “%(stage)s”.") % {"stage": Stage(stage).label},
            code=ErrorCode.WRONG_STAGE,
        )
    if user is not None and not may(user, Action.SCORE, state=stage, code=scope_for(user).code):
        raise ScoringError(_("You may not enter scores at this stage."), code=ErrorCode.FORBIDDEN)
    if region is None and user is None:
        region = campaign.region
    # Taken before anything is read: a score saved after this moment by someone else is stale
    # on upload, and nothing saved before it can be missing from the sheet.
    generated_at = timezone.now()

    assessments_qs = Assessment.objects.filter(period=period)
    if user is not None:
        assessments_qs = assessments_qs.visible_to(user)
    if region is not None:
        assessments_qs = assessments_qs.filter(unit__code__startswith=region.prefix)
    max_units = settings.SHEET_MAX_ROWS - FIRST_DATA_ROW + 1
    assessments = list(
        assessments_qs.select_related("unit__township").order_by("unit__code")[: max_units + 1]
    )
    if len(assessments) > max_units:
        raise ScoringError(
            _("More than %(n)d units for one sheet; choose a township.") % {"n": max_units}
        )

    indicators = [
        ind
        for ind in Indicator.objects.for_version(period.catalogue_version)
        .filter(dimension__campaign=campaign)
        .select_related("dimension")
        .order_by("dimension__order", "dimension_id", "order", "id")
        if user is None
        or may(
            user,
            Action.SCORE,
            state=stage,
            code=scope_for(user).code,
            department_id=ind.lead_department_id,
        )
    ]
    if not indicators:
        raise ScoringError(_("There are no indicators you may score in this campaign."))
    if FIXED_COLUMNS + 2 * len(indicators) > settings.SHEET_MAX_COLUMNS:
        raise ScoringError(_("The catalogue has too many indicators for one sheet."))
    columns = [Column(ind, FIRST_INDICATOR_COLUMN + 2 * i) for i, ind in enumerate(indicators)]
    applicable = {
        kind: set(
            Indicator.objects.applicable(campaign.id, period.catalogue_version, kind).values_list(
                "id", flat=True
            )
        )
        for kind in UnitKind.values
    }
    scores = (
        Score.objects.filter(stage=stage, assessment__in=assessments_qs)
        .order_by("assessment__unit__code")
        .values_list("assessment_id", "indicator_id", "value", "vetoed", "note")
        .iterator(chunk_size=2000)
    )

    payload = {
        "format": TEMPLATE_FORMAT,
        "campaign": campaign.slug,
        "period": period.label,
        "stage": stage,
        "region": region.code if region is not None else "",
        "generated_at": generated_at.isoformat(),
        "generated_by": user.username if user is not None else "",
        "columns": [[c.indicator.id, c.indicator.code, c.value_col] for c in columns],
    }
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SCORE_SHEET)
    meta = workbook.create_sheet(META_SHEET)
    meta.sheet_state = "hidden"
    _write_layout(sheet, columns)
    _write_headers(sheet, columns, period, stage, region, user, generated_at)
    editable_rows: dict[int, list[int]] = {c.indicator.id: [] for c in columns}
    originals = _write_unit_rows(
        sheet, columns, assessments, applicable, group_scores(scores), period, stage, editable_rows
    )
    _add_validations(sheet, columns, editable_rows)
    sheet.print_title_rows = f"{ROW_DIMENSION}:{ROW_FIELD}"
    payload["originals"] = originals_digest(originals)
    _write_meta(meta, payload, originals)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def group_scores(rows: Iterator[tuple]) -> Iterator[tuple[int, dict[int, tuple]]]:
    """Group (assessment, indicator, value, vetoed, note) rows, sorted by unit, by assessment."""
    current_id, current = None, {}
    for assessment_id, indicator_id, value, vetoed, note in rows:
        if assessment_id != current_id:
            if current_id is not None:
                yield current_id, current
            current_id, current = assessment_id, {}
        current[indicator_id] = (value, vetoed, note)
    if current_id is not None:
        yield current_id, current


def field_labels(kind: str) -> tuple[str, str]:
    if kind == IndicatorKind.VETO:
        return _("Triggered?"), _("Note")
    if kind == IndicatorKind.BONUS:
        return _("Bonus"), _("Note")
    return _("Points"), _("Reason for deduction")


def max_label(indicator: Indicator) -> str:
    if indicator.kind == IndicatorKind.VETO:
        return f"{VETO_YES}/{VETO_NO}"
    if indicator.kind == IndicatorKind.BONUS:
        return _("Bonus up to %(max)s") % {"max": number_text(indicator.max_points)}
    return _("Max %(max)s") % {"max": number_text(indicator.max_points)}


def fixed_headers() -> list[str]:
    return [_("Division code"), _("Village (community)"), _("Township it belongs to")]


def _write_layout(sheet: WriteOnlyWorksheet, columns: list[Column]) -> None:
    """Column widths, row heights, frozen headers and sheet protection (set before any row)."""
    for letter, width in zip("ABC", (15, 16, 12), strict=True):
        sheet.column_dimensions[letter].width = width
    for column in columns:
        sheet.column_dimensions[get_column_letter(column.value_col)].width = 9
        sheet.column_dimensions[get_column_letter(column.note_col)].width = 18
    sheet.row_dimensions[ROW_HELP].height = 140
    sheet.row_dimensions[ROW_INDICATOR].height = 75
    sheet.freeze_panes = f"{get_column_letter(FIRST_INDICATOR_COLUMN)}{FIRST_DATA_ROW}"
    # Protection guards against slips (typing into a grey cell, deleting a column); it has no
    # password, and the upload checks everything again anyway.
    protection = sheet.protection
    protection.sheet = True
    protection.formatColumns = False
    protection.formatRows = False
    protection.autoFilter = False
    sheet.page_setup.orientation = "landscape"


def _cell(sheet: WriteOnlyWorksheet, value: Any = None, **style: object) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value)
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def _write_headers(
    sheet: WriteOnlyWorksheet,
    columns: list[Column],
    period: Period,
    stage: str,
    region: Region | None,
    user: User | None,
    generated_at: dt.datetime,
) -> None:
    last_col = FIXED_COLUMNS + 2 * len(columns)
    campaign = period.campaign
    title = _("%(campaign)s %(period)s %(stage)s score sheet") % {
        "campaign": campaign.name,
        "period": period.label,
        "stage": Stage(stage).label,
    }
    help_lines = [
        _("How to fill in this sheet:"),
        _(
            "1. Type into the white cells only: points from 0 to the maximum (at most two "
            "decimals); for veto items %(yes)s (triggered) or %(no)s."
        )
        % {"yes": VETO_YES, "no": VETO_NO},
        _("2. Wherever points are below the maximum, say why in the note column next to them."),
        _("3. Grey cells: the indicator does not apply to this unit. Leave them empty."),
        _(
            "4. Only the cells you change are saved; the others leave the stored score as it "
            "is, even if it changed after this sheet was generated. Emptying a note cell clears "
            "the note; points cannot be cleared here."
        ),
        _("5. Formulas are not accepted: type the values themselves."),
        _(
            "6. Do not insert, delete or move rows or columns, do not change the headers, and "
            "do not touch the hidden sheet “meta”."
        ),
        _(
            "7. On upload the whole sheet is checked: if anything is wrong nothing is saved, "
            "and every problem is listed with its row, column and reason."
        ),
    ]
    by = (user.get_full_name() or user.username) if user is not None else _("command line")
    context = _(
        "Area: %(region)s    Generated: %(when)s by %(by)s    Scores changed by others after "
        "this time are not overwritten."
    ) % {
        "region": area_name(user, region),
        "when": timezone.localtime(generated_at).strftime("%Y-%m-%d %H:%M"),
        "by": by,
    }
    sheet.append([_cell(sheet, title, font=_TITLE_FONT)])
    sheet.append([_cell(sheet, "\n".join(help_lines), alignment=_WRAP)])
    sheet.append([_cell(sheet, context, font=_MUTED_FONT)])
    for row in (ROW_TITLE, ROW_HELP, ROW_CONTEXT):
        sheet.merged_cells.add(CellRange(min_col=1, min_row=row, max_col=last_col, max_row=row))

    def header(
        value: str | None = None, fill: PatternFill = _HEADER_FILL, font: Font = _BOLD
    ) -> WriteOnlyCell:
        return _cell(sheet, value, fill=fill, font=font, alignment=_CENTER, protection=_LOCKED)

    fixed = fixed_headers()
    dimension_row = [header(text) for text in fixed]
    code_row, title_row, max_row, field_row = ([header() for _i in fixed] for _j in range(4))
    previous_dimension = None
    for column in columns:
        ind = column.indicator
        first = ind.dimension_id != previous_dimension
        previous_dimension = ind.dimension_id
        dimension_row += [
            header(ind.dimension.name if first else None, fill=_DIMENSION_FILL),
            header(fill=_DIMENSION_FILL),
        ]
        code_row += [header(ind.code), header()]
        title_row += [header(ind.title, font=Font()), header()]
        max_row += [header(max_label(ind), font=Font()), header()]
        value_label, note_label = field_labels(ind.kind)
        field_row += [header(value_label), header(note_label)]
    for row in (dimension_row, code_row, title_row, max_row, field_row):
        sheet.append(row)

    for col in range(1, FIXED_COLUMNS + 1):
        sheet.merged_cells.add(
            CellRange(min_col=col, min_row=ROW_DIMENSION, max_col=col, max_row=ROW_FIELD)
        )
    spans: dict[int, list[int]] = {}
    for column in columns:
        spans.setdefault(column.indicator.dimension_id, []).append(column.value_col)
    for cols in spans.values():
        sheet.merged_cells.add(
            CellRange(
                min_col=cols[0], min_row=ROW_DIMENSION, max_col=cols[-1] + 1, max_row=ROW_DIMENSION
            )
        )
    for column in columns:
        for row in (ROW_CODE, ROW_INDICATOR, ROW_MAX):
            sheet.merged_cells.add(
                CellRange(
                    min_col=column.value_col, min_row=row, max_col=column.note_col, max_row=row
                )
            )


def area_name(user: User | None, region: Region | None) -> str:
    if region is not None:
        return region.name
    place = user.scope_place if user is not None else None
    return str(place) if place is not None else _("all units")


# Styles of unit-row cells, by role. Setting font, fill and protection one attribute at a time
# hashes each style object per cell (most of the time of a county sheet); a finished style
# array is built once per role and copied, as openpyxl's own worksheet copy does.
_ROW_STYLES = {
    "code": {"number_format": "@", "protection": _LOCKED},
    "text": {"protection": _LOCKED},
    "code_muted": {"number_format": "@", "protection": _LOCKED, "font": _MUTED_FONT},
    "text_muted": {"protection": _LOCKED, "font": _MUTED_FONT},
    "grey": {"fill": _GREY_FILL, "protection": _LOCKED},
    "input": {"protection": _UNLOCKED},
    "input_note": {"protection": _UNLOCKED, "number_format": "@"},
    "locked": {"protection": _LOCKED, "font": _MUTED_FONT},
    "locked_note": {"protection": _LOCKED, "font": _MUTED_FONT, "number_format": "@"},
}


class _RowCells:
    def __init__(self, sheet: WriteOnlyWorksheet) -> None:
        self.sheet = sheet
        self.arrays = {role: _cell(sheet, **style)._style for role, style in _ROW_STYLES.items()}

    def __call__(self, value: Any, role: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.sheet, value)
        cell._style = copy(self.arrays[role])
        return cell


def _write_unit_rows(
    sheet: WriteOnlyWorksheet,
    columns: list[Column],
    assessments: list[Assessment],
    applicable: dict[str, set[int]],
    score_groups: Iterable[tuple[int, dict[int, tuple]]],
    period: Period,
    stage: str,
    editable_rows: dict[int, list[int]],
) -> list[tuple[str, str, str]]:
    """Append one row per assessment; record which rows of each indicator take input.

    Return each row's originals: (unit code, value tokens, note digests).
    """
    make = _RowCells(sheet)
    originals: list[tuple[str, str, str]] = []
    groups = iter(score_groups)
    pending = next(groups, None)
    period_open = period.is_open
    for offset, assessment in enumerate(assessments):
        row_number = FIRST_DATA_ROW + offset
        stored: dict[int, tuple] = {}
        if pending is not None and pending[0] == assessment.id:
            stored = pending[1]
            pending = next(groups, None)
        unit = assessment.unit
        editable = period_open and assessment.stage == stage
        muted = "" if editable else "_muted"
        name = make(unit.name, "text" + muted)
        if not editable:
            name.comment = Comment(row_locked_reason(assessment, period, stage), "hongqi")
        cells = [make(unit.code, "code" + muted), name, make(unit.township.name, "text" + muted)]
        allowed = applicable[unit.kind]
        value_role, note_role = ("input", "input_note") if editable else ("locked", "locked_note")
        values: list[str] = []
        notes: list[str] = []
        for column in columns:
            ind = column.indicator
            if ind.id not in allowed:
                cells += [make(None, "grey"), make(None, "grey")]
                values.append("")
                notes.append("")
                continue
            value, vetoed, note = stored.get(ind.id, (None, None, ""))
            shown = display_value(vetoed) if ind.kind == IndicatorKind.VETO else value
            cells += [make(shown, value_role), make(note or None, note_role)]
            values.append(original_value(ind.kind, value, vetoed))
            notes.append(note_digest(note or ""))
            if editable:
                editable_rows[ind.id].append(row_number)
        sheet.append(cells)
        originals.append((unit.code, join_tokens(values), join_tokens(notes)))
    return originals


def row_locked_reason(assessment: Assessment, period: Period, stage: str) -> str:
    if not period.is_open:
        return _("The period %(p)s is closed.") % {"p": period.label}
    return _("Now at the stage “%(now)s”: this row cannot be changed in a “%(stage)s” sheet.") % {
        "now": Stage(assessment.stage).label,
        "stage": Stage(stage).label,
    }


def row_runs(rows: list[int]) -> Iterator[tuple[int, int]]:
    """[9, 10, 11, 14] → (9, 11), (14, 14)."""
    start = previous = None
    for row in rows:
        if start is None:
            start = previous = row
        elif row == previous + 1:
            previous = row
        else:
            yield start, previous
            start = previous = row
    if start is not None:
        yield start, previous


def _add_validations(
    sheet: WriteOnlyWorksheet, columns: list[Column], editable_rows: dict[int, list[int]]
) -> None:
    for column in columns:
        ind = column.indicator
        rows = editable_rows[ind.id]
        if not rows:
            continue
        if ind.kind == IndicatorKind.VETO:
            validation = DataValidation(
                type="list",
                formula1=f'"{VETO_YES},{VETO_NO}"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=_("Not a valid answer"),
                error=_("Choose %(yes)s or %(no)s.") % {"yes": VETO_YES, "no": VETO_NO},
            )
        else:
            maximum = number_text(ind.max_points)
            validation = DataValidation(
                type="decimal",
                operator="between",
                formula1="0",
                formula2=maximum,
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=_("Not a valid score"),
                error=_("Enter a number from 0 to %(max)s, with at most two decimals.")
                % {"max": maximum},
            )
        letter = get_column_letter(column.value_col)
        # One string parsed once: adding range by range is quadratic in openpyxl.
        validation.sqref = MultiCellRange(
            " ".join(f"{letter}{start}:{letter}{end}" for start, end in row_runs(rows))
        )
        sheet.data_validations.append(validation)


def _write_meta(
    meta: WriteOnlyWorksheet, payload: dict[str, Any], originals: list[tuple[str, str, str]]
) -> None:
    """The facts, their signature, the column table and the originals table (its SHA-256 is
    in the signed payload, so the table itself needs no signature of its own)."""
    for key in ("format", "campaign", "period", "stage", "region", "generated_at", "generated_by"):
        meta.append([key, payload[key]])
    meta.append(["signature", signing.dumps(payload, salt=SIGNING_SALT, compress=True)])
    meta.append([])
    meta.append(["indicator_id", "code", "value_column", "note_column"])
    for indicator_id, code, value_col in payload["columns"]:
        meta.append(
            [indicator_id, code, get_column_letter(value_col), get_column_letter(value_col + 1)]
        )
    meta.append([])
    meta.append(list(ORIGINALS_HEADER))
    for code, values, notes in originals:
        # Empty strings are written as empty cells; the reader takes a missing cell as ''.
        meta.append([code, values or None, notes or None])
