"""Excel score sheets: the template officials fill in offline, and its all-or-nothing upload.

The template (sheet 评分表) has one row per unit and two columns per indicator (points, note).
A hidden sheet `meta` names the campaign, period, stage and region, when and for whom it was
generated, and the column of every indicator. Those facts are also signed with the project's
secret key: the upload trusts only the signed copy, because the generation time decides which
scores count as "changed by someone else meanwhile", and an edited time would let an old sheet
silently overwrite newer scores.

The upload refuses a file before openpyxl sees it when it is too big, not a zip, an old .xls
(or encrypted) file, or a zip bomb; then it reads every row, collects every problem with its
cell, and writes through `scores_save` in one call (atomic, audited) or not at all.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
import zlib
from collections.abc import Iterator
from copy import copy
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import CellRange, MultiCellRange
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from campaigns.models import Campaign, Indicator, IndicatorKind
from scoring import permissions
from scoring.models import (
    Assessment,
    ChangeSource,
    Period,
    PeriodStatus,
    Score,
    ScoreStage,
    Stage,
)
from scoring.selectors import applicable_indicators
from scoring.services import (
    InputErrors,
    ScoreInput,
    ScoringError,
    StaleScores,
    parse_points,
    scores_save,
)
from villages.access import scope_for
from villages.models import Region, UnitKind, User

TEMPLATE_FORMAT = "hongqi-score-template/1"
SCORE_SHEET = "评分表"
META_SHEET = "meta"
SIGNING_SALT = "scoring.xlsx.template"
# Veto answers are part of the file format (the upload reads them back), not UI text.
VETO_YES = "是"
VETO_NO = "否"

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
# Spreadsheet XML compresses 5-30x; a large member packed far tighter is a bomb, not a sheet.
MAX_PACKING_RATIO = 200
RATIO_CHECK_FROM_BYTES = 1024 * 1024
MAX_ZIP_MEMBERS = 1000
MAX_ROWS = 5000
MAX_COLUMNS = 1000

# Layout of format 1: rows of the title block and the headers, then one row per unit.
ROW_TITLE, ROW_HELP, ROW_CONTEXT = 1, 2, 3
ROW_DIMENSION, ROW_CODE, ROW_INDICATOR, ROW_MAX, ROW_FIELD = 4, 5, 6, 7, 8
FIRST_DATA_ROW = 9
FIXED_COLUMNS = 3  # division code, unit name, township
FIRST_INDICATOR_COLUMN = FIXED_COLUMNS + 1

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and any password-protected workbook
ZIP_MAGIC = b"PK\x03\x04"

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


# --- results and errors ---------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem of an uploaded file, at a cell where there is one (row 1-based, column letter).

    `code` is stable (for tests and views); `reason` is the translated text for the user.
    """

    sheet: str
    row: int | None
    column: str | None
    header: str
    reason: str
    code: str

    @property
    def cell(self) -> str:
        return f"{self.column or ''}{self.row or ''}"

    def __str__(self) -> str:
        where = "!".join(part for part in (self.sheet, self.cell) if part)
        header = f" ({self.header})" if self.header else ""
        return f"{where}{header}: {self.reason}" if where else self.reason


class ImportErrors(ScoringError):
    """The upload was refused; `errors` lists every problem found. Nothing was written."""

    def __init__(self, errors: list[RowError]):
        super().__init__(
            _("The file was not imported: %(n)d problems. Nothing was saved.") % {"n": len(errors)}
        )
        self.errors = errors


@dataclass(frozen=True)
class ImportChange:
    """One score the upload changed, for the success page (`old`/`new` as displayed)."""

    unit_code: str
    unit: str
    indicator: str
    old_value: Decimal | None
    new_value: Decimal | None
    old_vetoed: bool | None
    new_vetoed: bool | None
    note: str
    is_veto: bool

    @property
    def old(self) -> str | None:
        return _display(self.old_vetoed if self.is_veto else self.old_value)

    @property
    def new(self) -> str | None:
        return _display(self.new_vetoed if self.is_veto else self.new_value)


@dataclass
class ImportResult:
    """What an upload wrote: number of units and of scores changed, and each change."""

    campaign: str
    period: str
    stage: str
    units: int = 0
    scores: int = 0
    changes: list[ImportChange] = field(default_factory=list)


def _display(value: Decimal | bool | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return VETO_YES if value else VETO_NO
    return _number_text(value)


def _number_text(value: Decimal) -> str:
    """10.00 → '10', 7.50 → '7.5' (no exponent)."""
    return f"{value.normalize():f}"


# --- the template ---------------------------------------------------------------------------


@dataclass
class _Column:
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
            _("This campaign does not use the stage “%(stage)s”.") % {"stage": Stage(stage).label}
        )
    if user is not None and not permissions.can_score(user, stage, scope_for(user).code):
        raise ScoringError(_("You may not enter scores at this stage."))
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
    max_units = MAX_ROWS - FIRST_DATA_ROW + 1
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
        or permissions.can_score(user, stage, scope_for(user).code, ind.lead_department_id)
    ]
    if not indicators:
        raise ScoringError(_("There are no indicators you may score in this campaign."))
    if FIXED_COLUMNS + 2 * len(indicators) > MAX_COLUMNS:
        raise ScoringError(_("The catalogue has too many indicators for one sheet."))
    columns = [_Column(ind, FIRST_INDICATOR_COLUMN + 2 * i) for i, ind in enumerate(indicators)]
    applicable = {
        kind: set(
            applicable_indicators(campaign.id, period.catalogue_version, kind).values_list(
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
    _write_unit_rows(
        sheet, columns, assessments, applicable, _group_scores(scores), period, stage, editable_rows
    )
    _add_validations(sheet, columns, editable_rows)
    sheet.print_title_rows = f"{ROW_DIMENSION}:{ROW_FIELD}"
    _write_meta(meta, payload)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _group_scores(rows: Iterator[tuple]) -> Iterator[tuple[int, dict[int, tuple]]]:
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


def _field_labels(kind: str) -> tuple[str, str]:
    if kind == IndicatorKind.VETO:
        return _("Triggered?"), _("Note")
    if kind == IndicatorKind.BONUS:
        return _("Bonus"), _("Note")
    return _("Points"), _("Reason for deduction")


def _max_label(indicator: Indicator) -> str:
    if indicator.kind == IndicatorKind.VETO:
        return f"{VETO_YES}/{VETO_NO}"
    if indicator.kind == IndicatorKind.BONUS:
        return _("Bonus up to %(max)s") % {"max": _number_text(indicator.max_points)}
    return _("Max %(max)s") % {"max": _number_text(indicator.max_points)}


def _fixed_headers() -> list[str]:
    return [_("Division code"), _("Village (community)"), _("Township it belongs to")]


def _write_layout(sheet, columns: list[_Column]) -> None:
    """Column widths, row heights, frozen headers and sheet protection (set before any row)."""
    for letter, width in zip("ABC", (15, 16, 12), strict=True):
        sheet.column_dimensions[letter].width = width
    for column in columns:
        sheet.column_dimensions[get_column_letter(column.value_col)].width = 9
        sheet.column_dimensions[get_column_letter(column.note_col)].width = 18
    sheet.row_dimensions[ROW_HELP].height = 125
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


def _cell(sheet, value: Any = None, **style) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value)
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def _write_headers(sheet, columns, period, stage, region, user, generated_at) -> None:
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
        _("4. An empty cell leaves the stored score (or note) unchanged."),
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
        "region": _area_name(user, region),
        "when": timezone.localtime(generated_at).strftime("%Y-%m-%d %H:%M"),
        "by": by,
    }
    sheet.append([_cell(sheet, title, font=_TITLE_FONT)])
    sheet.append([_cell(sheet, "\n".join(help_lines), alignment=_WRAP)])
    sheet.append([_cell(sheet, context, font=_MUTED_FONT)])
    for row in (ROW_TITLE, ROW_HELP, ROW_CONTEXT):
        sheet.merged_cells.add(CellRange(min_col=1, min_row=row, max_col=last_col, max_row=row))

    def header(value=None, fill=_HEADER_FILL, font=_BOLD):
        return _cell(sheet, value, fill=fill, font=font, alignment=_CENTER, protection=_LOCKED)

    fixed = _fixed_headers()
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
        max_row += [header(_max_label(ind), font=Font()), header()]
        value_label, note_label = _field_labels(ind.kind)
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


def _area_name(user: User | None, region: Region | None) -> str:
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
    def __init__(self, sheet):
        self.sheet = sheet
        self.arrays = {role: _cell(sheet, **style)._style for role, style in _ROW_STYLES.items()}

    def __call__(self, value: Any, role: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.sheet, value)
        cell._style = copy(self.arrays[role])
        return cell


def _write_unit_rows(
    sheet, columns, assessments, applicable, score_groups, period, stage, editable_rows
) -> None:
    """Append one row per assessment; record which rows of each indicator take input."""
    make = _RowCells(sheet)
    groups = iter(score_groups)
    pending = next(groups, None)
    period_open = period.status == PeriodStatus.OPEN
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
            name.comment = Comment(_row_locked_reason(assessment, period, stage), "hongqi")
        cells = [make(unit.code, "code" + muted), name, make(unit.township.name, "text" + muted)]
        allowed = applicable[unit.kind]
        value_role, note_role = ("input", "input_note") if editable else ("locked", "locked_note")
        for column in columns:
            ind = column.indicator
            if ind.id not in allowed:
                cells += [make(None, "grey"), make(None, "grey")]
                continue
            value, vetoed, note = stored.get(ind.id, (None, None, ""))
            shown = _display(vetoed) if ind.kind == IndicatorKind.VETO else value
            cells += [make(shown, value_role), make(note or None, note_role)]
            if editable:
                editable_rows[ind.id].append(row_number)
        sheet.append(cells)


def _row_locked_reason(assessment: Assessment, period: Period, stage: str) -> str:
    if period.status != PeriodStatus.OPEN:
        return _("The period %(p)s is closed.") % {"p": period.label}
    return _("Now at the stage “%(now)s”: this row cannot be changed in a “%(stage)s” sheet.") % {
        "now": Stage(assessment.stage).label,
        "stage": Stage(stage).label,
    }


def _runs(rows: list[int]) -> Iterator[tuple[int, int]]:
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


def _add_validations(sheet, columns, editable_rows) -> None:
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
            maximum = _number_text(ind.max_points)
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
            " ".join(f"{letter}{start}:{letter}{end}" for start, end in _runs(rows))
        )
        sheet.data_validations.append(validation)


def _write_meta(meta, payload: dict) -> None:
    for key in ("format", "campaign", "period", "stage", "region", "generated_at", "generated_by"):
        meta.append([key, payload[key]])
    meta.append(["signature", signing.dumps(payload, salt=SIGNING_SALT, compress=True)])
    meta.append([])
    meta.append(["indicator_id", "code", "value_column", "note_column"])
    for indicator_id, code, value_col in payload["columns"]:
        meta.append(
            [indicator_id, code, get_column_letter(value_col), get_column_letter(value_col + 1)]
        )


# --- the upload -----------------------------------------------------------------------------


class _Refused(Exception):
    """Stop reading: the file as a whole cannot be used (errors already collected)."""


@dataclass
class _Template:
    campaign: Campaign
    period: Period
    stage: str
    region: Region | None
    generated_at: dt.datetime
    columns: list[_Column]


class _Upload:
    """State of one upload: the errors found so far."""

    def __init__(self, user: User):
        self.user = user
        self.errors: list[RowError] = []

    def fail(self, code: str, reason: str, *, sheet: str = "", row=None, column=None, header=""):
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

    def refuse(self, code: str, reason: str, **where) -> _Refused:
        self.fail(code, reason, **where)
        return _Refused()


def scores_import(*, user: User, file, source: str = ChangeSource.UPLOAD) -> ImportResult:
    """Read a filled-in template and write its changed scores, all or nothing.

    `file` is a path or a file-like object (a Django UploadedFile). Raises ImportErrors listing
    every problem (sheet, row, column, reason) and writes nothing, or writes every change in one
    `scores_save` call (one transaction, one audit row per change) with the template's
    generation time as `changed_since`. Empty cells leave the stored score unchanged.
    """
    upload = _Upload(user)
    try:
        data = _read_bytes(upload, file)
        _check_container(upload, data)
        damaged = _("The workbook cannot be read; it may be damaged. Download a new template.")
        try:
            workbook = load_workbook(
                io.BytesIO(data), read_only=True, data_only=False, keep_links=False
            )
        except Exception as exc:
            # openpyxl raises whatever its XML and zip layers raise on a damaged file
            # (KeyError, ValueError, ParseError, BadZipFile...): all mean "cannot be read".
            raise upload.refuse("unreadable", damaged) from exc
        try:
            template = _read_meta(upload, workbook)
            rows = _read_score_sheet(upload, workbook, template)
        except _DAMAGED as exc:
            # Read-only sheets are parsed while iterating, so damage shows up only here.
            raise upload.refuse("unreadable", damaged) from exc
        finally:
            workbook.close()
        inputs, context = _check_rows(upload, template, rows)
    except _Refused:
        inputs = None
    if upload.errors:
        raise ImportErrors(upload.errors)
    result = ImportResult(
        campaign=template.campaign.name, period=template.period.label, stage=template.stage
    )
    if not inputs:
        return result
    try:
        saved = scores_save(
            user=user,
            stage=template.stage,
            inputs=inputs,
            source=source,
            changed_since=template.generated_at,
        )
    except ScoringError as exc:
        _map_service_error(upload, exc, context)
        raise ImportErrors(upload.errors) from exc
    assessments, indicators = context.assessments, context.indicators
    for change in saved.changes:
        unit = assessments[change.assessment_id].unit
        indicator = indicators[change.indicator_id]
        result.changes.append(
            ImportChange(
                unit_code=unit.code,
                unit=unit.name,
                indicator=indicator.code,
                old_value=change.old_value,
                new_value=change.new_value,
                old_vetoed=change.old_vetoed,
                new_vetoed=change.new_vetoed,
                note=change.note,
                is_veto=indicator.kind == IndicatorKind.VETO,
            )
        )
    result.scores = len(result.changes)
    result.units = len({c.unit_code for c in result.changes})
    return result


# What a damaged part of a workbook raises while openpyxl parses it (not database errors).
_DAMAGED = (
    EOFError,
    IndexError,
    KeyError,
    OSError,
    SyntaxError,  # xml.etree.ElementTree.ParseError
    TypeError,
    ValueError,
    zipfile.BadZipFile,
    zlib.error,
)


def _read_bytes(upload: _Upload, file) -> bytes:
    """Read at most the size limit (checked first from the size the file reports)."""
    limit_error = _("The file is larger than %(mb)d MB.") % {"mb": MAX_UPLOAD_BYTES // 2**20}
    if isinstance(file, str | os.PathLike):
        if os.path.getsize(file) > MAX_UPLOAD_BYTES:
            raise upload.refuse("too_large", limit_error)
        with open(file, "rb") as handle:
            data = handle.read(MAX_UPLOAD_BYTES + 1)
    else:
        size = getattr(file, "size", None)
        if size is not None and size > MAX_UPLOAD_BYTES:
            raise upload.refuse("too_large", limit_error)
        if hasattr(file, "seek"):
            file.seek(0)
        data = file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise upload.refuse("too_large", limit_error)
    return data


def _check_container(upload: _Upload, data: bytes) -> None:
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
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise upload.refuse("not_xlsx", not_xlsx) from exc
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise upload.refuse("not_xlsx", not_xlsx)
    bomb = _(
        "The workbook unpacks to more than %(mb)d MB or is packed suspiciously tightly; it was "
        "not opened."
    ) % {"mb": MAX_UNPACKED_BYTES // 2**20}
    if len(members) > MAX_ZIP_MEMBERS:
        raise upload.refuse("zip_bomb", bomb)
    if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
        raise upload.refuse("zip_bomb", bomb)
    for member in members:
        if member.file_size > RATIO_CHECK_FROM_BYTES and member.file_size > MAX_PACKING_RATIO * max(
            member.compress_size, 1
        ):
            raise upload.refuse("zip_bomb", bomb)


def _read_meta(upload: _Upload, workbook) -> _Template:
    """Find the two sheets, check the format marker and the signature, resolve the names."""
    names = workbook.sheetnames
    not_template = _(
        "This workbook is not a score template of this system. Download the template from the "
        "score-sheet page and fill that in."
    )
    if META_SHEET not in names:
        if SCORE_SHEET not in names and all(_sheet_is_empty(workbook[n]) for n in names):
            raise upload.refuse("empty", _("The workbook is empty."))
        raise upload.refuse("not_template", not_template)
    facts: dict[str, Any] = {}
    for row in workbook[META_SHEET].iter_rows(min_row=1, max_row=20, max_col=2, values_only=True):
        if row and isinstance(row[0], str):
            facts[row[0]] = row[1] if len(row) > 1 else None
    if facts.get("format") != TEMPLATE_FORMAT:
        raise upload.refuse("not_template", not_template, sheet=META_SHEET)
    try:
        payload = signing.loads(str(facts.get("signature") or ""), salt=SIGNING_SALT)
        generated_at = dt.datetime.fromisoformat(payload["generated_at"])
        columns_raw = [(int(i), str(code), int(col)) for i, code, col in payload["columns"]]
        if generated_at.tzinfo is None or payload["format"] != TEMPLATE_FORMAT:
            raise ValueError(payload["format"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise upload.refuse(
            "meta_changed",
            _(
                "The hidden information of this template was changed or is damaged. Download a "
                "new template."
            ),
            sheet=META_SHEET,
        ) from exc
    if SCORE_SHEET not in names:
        raise upload.refuse(
            "missing_sheet",
            _("The sheet “%(sheet)s” is missing; do not rename or delete the template's sheets.")
            % {"sheet": SCORE_SHEET},
        )
    user = upload.user
    if payload["stage"] not in ScoreStage.values:
        raise upload.refuse("unknown_stage", _("The stage of this template is unknown."))
    stage = payload["stage"]
    campaign = Campaign.objects.visible_to(user).filter(slug=payload["campaign"]).first()
    if campaign is None:
        raise upload.refuse(
            "unknown_campaign",
            _("The campaign of this template does not exist or is not visible to you."),
        )
    period = Period.objects.filter(campaign=campaign, label=payload["period"]).first()
    if period is None:
        raise upload.refuse(
            "unknown_period",
            _("The period %(p)s of this template does not exist.") % {"p": payload["period"]},
        )
    region = None
    if payload["region"]:
        region = Region.objects.filter(code=payload["region"]).first()
        if region is None:
            raise upload.refuse(
                "unknown_region", _("The region of this template no longer exists.")
            )
    if not permissions.can_score(user, stage, scope_for(user).code):
        raise upload.refuse("not_permitted", _("You may not enter scores at this stage."))
    indicators = Indicator.objects.for_version(period.catalogue_version).filter(
        dimension__campaign=campaign, id__in=[i for i, _code, _col in columns_raw]
    )
    by_id = {ind.id: ind for ind in indicators}
    columns = []
    for indicator_id, code, value_col in columns_raw:
        indicator = by_id.get(indicator_id)
        if indicator is None or indicator.code != code:
            upload.fail(
                "catalogue_changed",
                _(
                    "The indicator %(code)s is no longer in the campaign's catalogue; download "
                    "a new template."
                )
                % {"code": code},
                sheet=SCORE_SHEET,
                row=ROW_CODE,
                column=value_col,
                header=code,
            )
            continue
        columns.append(_Column(indicator, value_col))
    if upload.errors:
        raise _Refused()
    return _Template(campaign, period, stage, region, generated_at, columns)


def _sheet_is_empty(sheet) -> bool:
    for number, row in enumerate(sheet.iter_rows(values_only=True)):
        if number > 1000 or any(value not in (None, "") for value in row):
            return False
    return True


def _read_score_sheet(upload: _Upload, workbook, template: _Template) -> list[tuple[int, tuple]]:
    """Check the sheet's size and headers; return its non-empty unit rows with their numbers."""
    sheet = workbook[SCORE_SHEET]
    # The declared size is cheap to read and refuses absurd sheets early; it can lie, so the
    # loop below counts as well, and the declared size is then dropped so that a too-small
    # one cannot hide rows from openpyxl.
    if sheet.max_row is not None and sheet.max_row > MAX_ROWS:
        raise upload.refuse(
            "too_many_rows",
            _("The sheet has more than %(n)d rows.") % {"n": MAX_ROWS},
            sheet=SCORE_SHEET,
        )
    if sheet.max_column is not None and sheet.max_column > MAX_COLUMNS:
        raise upload.refuse(
            "too_many_columns",
            _("The sheet has more than %(n)d columns.") % {"n": MAX_COLUMNS},
            sheet=SCORE_SHEET,
        )
    sheet.reset_dimensions()
    last_col = max([FIXED_COLUMNS, *(c.note_col for c in template.columns)])
    rows: list[tuple[int, tuple]] = []
    codes_seen = False
    for number, values in enumerate(
        sheet.iter_rows(min_row=1, max_col=last_col, values_only=True), start=1
    ):
        if number > MAX_ROWS:
            raise upload.refuse(
                "too_many_rows",
                _("The sheet has more than %(n)d rows.") % {"n": MAX_ROWS},
                sheet=SCORE_SHEET,
            )
        if number == ROW_CODE:
            codes_seen = True
            _check_codes(upload, template, values)
        elif number >= FIRST_DATA_ROW and any(v is not None and v != "" for v in values):
            rows.append((number, tuple(values) + (None,) * (last_col - len(values))))
    if not codes_seen:
        _check_codes(upload, template, ())
    if upload.errors:
        raise _Refused()
    return rows


def _check_codes(upload: _Upload, template: _Template, values: tuple) -> None:
    for column in template.columns:
        found = values[column.value_col - 1] if column.value_col <= len(values) else None
        if _text(found) != column.indicator.code:
            upload.fail(
                "header_mismatch",
                _(
                    "Expected the indicator code %(expected)s here but found “%(found)s”: "
                    "columns were moved, inserted or deleted. Download a new template."
                )
                % {"expected": column.indicator.code, "found": _text(found)},
                sheet=SCORE_SHEET,
                row=ROW_CODE,
                column=column.value_col,
                header=column.indicator.code,
            )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


class _CellError(Exception):
    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _is_formula(value: Any) -> bool:
    return isinstance(value, ArrayFormula | DataTableFormula) or (
        isinstance(value, str) and value.lstrip().startswith("=")
    )


def _formula_error() -> _CellError:
    return _CellError("formula", _("Formulas are not accepted; type the value itself."))


def _cell_points(raw: Any, indicator: Indicator) -> Decimal | None:
    """Points typed into a cell, checked against the indicator; None for an empty cell."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if _is_formula(raw):
        raise _formula_error()
    not_number = _CellError(
        "not_a_number", _("“%(value)s” is not a number.") % {"value": _text(raw)}
    )
    if isinstance(raw, bool):
        raise not_number
    if isinstance(raw, int | Decimal):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(repr(raw))  # shortest repr: 7.3, not 7.29999...
    elif isinstance(raw, str):
        try:
            value = parse_points(raw)
        except ValueError:
            raise not_number from None
    else:  # dates and times: Excel turned the typing into something else
        raise not_number
    if not value.is_finite():
        raise not_number
    if value < 0:
        raise _CellError("negative", _("Points cannot be negative."))
    if value > indicator.max_points:
        raise _CellError(
            "above_max",
            _("At most %(max)s points for this indicator.")
            % {"max": _number_text(indicator.max_points)},
        )
    if value != value.quantize(Decimal("0.01")):
        raise _CellError("decimals", _("Use at most two decimal places."))
    return value


def _cell_veto(raw: Any) -> bool | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if _is_formula(raw):
        raise _formula_error()
    text = _text(raw)
    if text == VETO_YES:
        return True
    if text == VETO_NO:
        return False
    raise _CellError(
        "veto_value",
        _("Enter %(yes)s or %(no)s, not “%(value)s”.")
        % {"yes": VETO_YES, "no": VETO_NO, "value": text},
    )


def _cell_note(raw: Any) -> str | None:
    if raw is None:
        return None
    if _is_formula(raw):
        raise _formula_error()
    if isinstance(raw, dt.datetime | dt.date | dt.time):
        return raw.isoformat()
    return _text(raw) or None


@dataclass
class _Context:
    """What the rows were checked against; used to map service errors back to cells."""

    assessments: dict[int, Assessment] = field(default_factory=dict)
    indicators: dict[int, Indicator] = field(default_factory=dict)
    row_of: dict[int, int] = field(default_factory=dict)  # assessment id → sheet row
    column_of: dict[int, _Column] = field(default_factory=dict)  # indicator id → columns


def _unit_code(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # the code column was retyped as a number
    return _text(raw)


def _check_rows(
    upload: _Upload, template: _Template, rows: list[tuple[int, tuple]]
) -> tuple[list[ScoreInput], _Context]:
    """Check every row and cell against the database; return the inputs for what changed.

    Four queries: the assessments of the codes found, the indicators that apply to villages and
    to communities, and their stored scores at the stage (one more, names, if any are stale).
    """
    user, stage, period = upload.user, template.stage, template.period
    headers = _column_headers(template.columns)
    codes = {_unit_code(values[0]) for _number, values in rows} - {""}
    found = Assessment.objects.visible_to(user).filter(period=period, unit__code__in=codes)
    if template.region is not None:
        found = found.filter(unit__code__startswith=template.region.prefix)
    by_code = {a.unit.code: a for a in found.select_related("unit")}
    context = _Context(
        assessments={a.id: a for a in by_code.values()},
        indicators={c.indicator.id: c.indicator for c in template.columns},
        column_of={c.indicator.id: c for c in template.columns},
    )
    applicable = {
        kind: set(
            applicable_indicators(template.campaign.id, period.catalogue_version, kind).values_list(
                "id", flat=True
            )
        )
        for kind in UnitKind.values
    }
    stored = {
        (a_id, i_id): (value, vetoed, note, updated_at, updated_by_id)
        for a_id, i_id, value, vetoed, note, updated_at, updated_by_id in Score.objects.filter(
            assessment_id__in=list(context.assessments), stage=stage
        ).values_list(
            "assessment_id",
            "indicator_id",
            "value",
            "vetoed",
            "note",
            "updated_at",
            "updated_by_id",
        )
    }

    inputs: list[ScoreInput] = []
    stale: list[tuple[int, _Column, tuple]] = []
    seen: dict[str, int] = {}
    changes_anywhere = False
    for number, values in rows:
        raw_code = values[0]
        where = {"sheet": SCORE_SHEET, "row": number, "column": 1, "header": headers[1]}
        if _is_formula(raw_code):
            upload.fail("formula", _formula_error().reason, **where)
            continue
        code = _unit_code(raw_code)
        if not code:
            upload.fail("missing_code", _("The division code is missing."), **where)
            continue
        if code in seen:
            upload.fail(
                "duplicate_unit",
                _("The unit %(code)s is already on row %(row)d.")
                % {"code": code, "row": seen[code]},
                **where,
            )
            continue
        seen[code] = number
        assessment = by_code.get(code)
        if assessment is None:
            upload.fail(
                "unknown_unit",
                _("Unknown division code “%(code)s”: no unit of this sheet that you may score.")
                % {"code": code},
                **where,
            )
            continue
        context.row_of[assessment.id] = number
        changed, row_inputs, row_errors, row_stale = _check_cells(
            upload, template, assessment, values, stored, applicable, headers, where
        )
        if not changed:
            continue
        changes_anywhere = True
        if assessment.stage == Stage.FINAL:
            upload.fail(
                "locked", _("%(unit)s is already final.") % {"unit": assessment.unit.name}, **where
            )
        elif assessment.stage != stage:
            upload.fail(
                "wrong_stage",
                _(
                    "%(unit)s is at the stage “%(now)s”; scores of “%(stage)s” cannot be changed "
                    "now."
                )
                % {
                    "unit": assessment.unit.name,
                    "now": Stage(assessment.stage).label,
                    "stage": Stage(stage).label,
                },
                **where,
            )
        else:
            # Problems that only matter for a row that could be written.
            upload.errors += row_errors
            stale += row_stale
            inputs += row_inputs
    if changes_anywhere and period.status != PeriodStatus.OPEN:
        upload.fail("period_closed", _("The period %(p)s is closed.") % {"p": period.label})
    _report_stale(upload, stale, headers)
    return inputs, context


def _check_cells(upload, template, assessment, values, stored, applicable, headers, where):
    """Check one unit row's cells. Return (changed?, inputs, deferred errors, stale cells).

    Errors of what was typed (formula, text, range, grey cell) are reported at once; those
    that only matter if the row may be written (note, department, stale) are deferred.
    """
    user, stage = upload.user, template.stage
    allowed = applicable[assessment.unit.kind]
    changed = False
    inputs: list[ScoreInput] = []
    deferred: list[RowError] = []
    stale: list[tuple[int, _Column, tuple]] = []

    def error(code: str, reason: str, column: int) -> RowError:
        return RowError(
            sheet=SCORE_SHEET,
            row=where["row"],
            column=get_column_letter(column),
            header=headers[column],
            reason=reason,
            code=code,
        )

    for column in template.columns:
        ind = column.indicator
        raw_value = values[column.value_col - 1]
        raw_note = values[column.note_col - 1]
        if ind.id not in allowed:
            for raw, col in ((raw_value, column.value_col), (raw_note, column.note_col)):
                if raw is not None and _text(raw) != "":
                    upload.errors.append(
                        error(
                            "not_applicable",
                            _("This indicator does not apply to this unit."),
                            col,
                        )
                    )
            continue
        value = vetoed = note = None
        bad = False
        try:
            if ind.kind == IndicatorKind.VETO:
                vetoed = _cell_veto(raw_value)
            else:
                value = _cell_points(raw_value, ind)
        except _CellError as exc:
            upload.errors.append(error(exc.code, exc.reason, column.value_col))
            bad = True
        try:
            note = _cell_note(raw_note)
        except _CellError as exc:
            upload.errors.append(error(exc.code, exc.reason, column.note_col))
            bad = True
        if bad:
            continue
        current = stored.get((assessment.id, ind.id))
        old = (current[0], current[1], current[2]) if current else (None, None, "")
        new = (
            value if value is not None else old[0],
            vetoed if vetoed is not None else old[1],
            note if note is not None else old[2],
        )
        if new == old:
            continue
        changed = True
        if not permissions.can_score(user, stage, assessment.unit.code, ind.lead_department_id):
            deferred.append(
                error(
                    "department",
                    _("Only the lead department of this indicator may score it."),
                    column.value_col,
                )
            )
            continue
        if (
            ind.kind == IndicatorKind.POINTS
            and new[0] is not None
            and new[0] < ind.max_points
            and not new[2]
        ):
            deferred.append(
                error("note_required", _("Say why points were deducted."), column.note_col)
            )
            continue
        if current is not None and current[3] > template.generated_at and current[4] != user.id:
            stale.append((where["row"], column, current))
            continue
        inputs.append(
            ScoreInput(
                assessment_id=assessment.id,
                indicator_id=ind.id,
                value=new[0],
                vetoed=new[1],
                note=new[2],
            )
        )
    return changed, inputs, deferred, stale


def _column_headers(columns: list[_Column]) -> dict[int, str]:
    headers = dict(enumerate(_fixed_headers(), start=1))
    for column in columns:
        value_label, note_label = _field_labels(column.indicator.kind)
        headers[column.value_col] = f"{column.indicator.code} {value_label}"
        headers[column.note_col] = f"{column.indicator.code} {note_label}"
    return headers


def _stale_reason(who: str, when: dt.datetime, current: str) -> str:
    return _(
        "%(who)s changed this score at %(when)s, after this template was generated; it is now "
        "%(value)s. Download a new template, or empty both cells of this indicator (points and "
        "note) to keep the current score."
    ) % {
        "who": who,
        "when": timezone.localtime(when).strftime("%Y-%m-%d %H:%M"),
        "value": current,
    }


def _user_names(ids) -> dict[int, str]:
    return {
        u.id: u.get_full_name() or u.username
        for u in User.objects.filter(id__in={i for i in ids if i is not None})
    }


def _report_stale(upload: _Upload, stale: list, headers: dict[int, str]) -> None:
    if not stale:
        return
    names = _user_names(current[4] for _row, _column, current in stale)
    for number, column, current in stale:
        value, vetoed, _note, updated_at, updated_by_id = current
        shown = _display(vetoed if column.indicator.kind == IndicatorKind.VETO else value)
        upload.fail(
            "stale",
            _stale_reason(names.get(updated_by_id, _("someone")), updated_at, shown or "—"),
            sheet=SCORE_SHEET,
            row=number,
            column=column.value_col,
            header=headers[column.value_col],
        )


def _map_service_error(upload: _Upload, exc: ScoringError, context: _Context) -> None:
    """Turn a refusal by scores_save (a race after our own checks) into cell errors."""
    headers = _column_headers(list(context.column_of.values()))

    def where(assessment_id: int, indicator_id: int, field_name: str = "value") -> dict:
        column = context.column_of[indicator_id]
        col = column.note_col if field_name == "note" else column.value_col
        return {
            "sheet": SCORE_SHEET,
            "row": context.row_of.get(assessment_id),
            "column": col,
            "header": headers[col],
        }

    if isinstance(exc, InputErrors):
        for (assessment_id, indicator_id), problems in exc.errors.items():
            for field_name, message in problems:
                upload.fail("invalid", message, **where(assessment_id, indicator_id, field_name))
    elif isinstance(exc, StaleScores):
        names = _user_names(s.current.updated_by_id for s in exc.stale if s.current)
        for item in exc.stale:
            current = item.current
            indicator = context.indicators[item.indicator_id]
            shown = _display(
                current.vetoed if indicator.kind == IndicatorKind.VETO else current.value
            )
            upload.fail(
                "stale",
                _stale_reason(
                    names.get(current.updated_by_id, _("someone")), current.updated_at, shown or "—"
                ),
                **where(item.assessment_id, item.indicator_id),
            )
    else:  # LockedError and other refusals concern the whole upload
        upload.fail("refused", exc.message)
