"""Reading an uploaded template back: its signed meta, its rows, and each cell as a value."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula
from openpyxl.worksheet.worksheet import Worksheet

from campaigns.models import Campaign, Indicator
from scoring.excel.guard import SheetRefused, UploadCheck
from scoring.excel.template import (
    FIRST_DATA_ROW,
    FIXED_COLUMNS,
    META_SHEET,
    ORIGINALS_HEADER,
    ROW_CODE,
    SCORE_SHEET,
    SIGNING_SALT,
    TEMPLATE_FORMAT,
    TEMPLATE_FORMATS,
    VETO_NO,
    VETO_YES,
    Column,
    note_digest,
    originals_digest,
    split_tokens,
)
from scoring.inputs import number_text, parse_points, points_problem
from scoring.models import (
    Period,
    ScoreStage,
)
from villages.access import scope_for
from villages.models import Region
from villages.policy import Action, may


@dataclass
class TemplateMeta:
    """The signed facts of an uploaded template.

    `originals` (format 2; None for format 1): unit code → (value tokens, note digests) as
    generated, one string each, tokens in the order of `positions` (indicator id → index).
    """

    campaign: Campaign
    period: Period
    stage: str
    region: Region | None
    generated_at: dt.datetime
    columns: list[Column]
    originals: dict[str, tuple[str, str]] | None = None
    positions: dict[int, int] = field(default_factory=dict)

    def original(self, unit_code: str) -> tuple[list[str], list[str]]:
        """The value tokens and note digests a unit's row was generated with, by position.

        A unit the sheet was not generated with (a row typed in) had empty cells.
        """
        count = len(self.positions)
        values, notes = (self.originals or {}).get(unit_code, ("", ""))
        # Both strings were checked to fit `count` when the meta was read.
        return split_tokens(values, count) or [], split_tokens(notes, count) or []


def read_meta(upload: UploadCheck, workbook: Workbook) -> TemplateMeta:
    """Find the two sheets, check the format marker and the signature, resolve the names."""
    names = workbook.sheetnames
    not_template = _(
        "This workbook is not a score template of this system. Download the template from the "
        "score-sheet page and fill that in."
    )
    if META_SHEET not in names:
        if SCORE_SHEET not in names and all(sheet_is_empty(workbook[n]) for n in names):
            raise upload.refuse("empty", _("The workbook is empty."))
        raise upload.refuse("not_template", not_template)
    facts, table = _meta_rows(workbook[META_SHEET])
    if facts.get("format") not in TEMPLATE_FORMATS:
        raise upload.refuse("not_template", not_template, sheet=META_SHEET)
    originals = None
    try:
        payload = signing.loads(str(facts.get("signature") or ""), salt=SIGNING_SALT)
        generated_at = dt.datetime.fromisoformat(payload["generated_at"])
        columns_raw = [(int(i), str(code), int(col)) for i, code, col in payload["columns"]]
        if generated_at.tzinfo is None or payload["format"] != facts["format"]:
            raise ValueError(payload["format"])
        if payload["format"] == TEMPLATE_FORMAT:
            originals = _originals(table, payload["originals"], len(columns_raw))
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
    if not may(user, Action.SCORE, state=stage, code=scope_for(user).code):
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
        columns.append(Column(indicator, value_col))
    if upload.errors:
        raise SheetRefused()
    positions = {indicator_id: i for i, (indicator_id, _code, _col) in enumerate(columns_raw)}
    return TemplateMeta(
        campaign, period, stage, region, generated_at, columns, originals, positions
    )


def _meta_rows(
    meta: Worksheet | ReadOnlyWorksheet,
) -> tuple[dict[str, Any], list[tuple[str, str, str]] | None]:
    """The facts (key, value rows among the first 20) and the originals table, as text.

    The table is None if there is none or it does not end within the rows a template can have
    (the sheet's declared size can lie; rows are counted as they are read).
    """
    facts: dict[str, Any] = {}
    table: list[tuple[str, str, str]] | None = None
    limit = settings.SHEET_MAX_ROWS + settings.SHEET_MAX_COLUMNS + 50
    for number, cells in enumerate(meta.iter_rows(min_row=1, max_col=3, values_only=True), 1):
        if number > limit:
            return facts, None
        row = tuple(cells) + (None,) * (3 - len(cells))
        if number <= 20 and isinstance(row[0], str):
            facts[row[0]] = row[1]
        if table is None:
            if tuple(cell_text(v) for v in row) == ORIGINALS_HEADER:
                table = []
        elif row[0] is None or cell_text(row[0]) == "":
            break
        else:
            table.append((cell_text(row[0]), cell_text(row[1]), cell_text(row[2])))
    return facts, table


def _originals(
    table: list[tuple[str, str, str]] | None, signed: str, count: int
) -> dict[str, tuple[str, str]]:
    """Check the originals table against its signed digest; key it by unit code.

    Raises ValueError if it is missing, altered, or does not fit the signed columns.
    """
    if table is None or originals_digest(table) != signed:
        raise ValueError("originals")
    originals: dict[str, tuple[str, str]] = {}
    for code, values, notes in table:
        if split_tokens(values, count) is None or split_tokens(notes, count) is None:
            raise ValueError(code)
        originals[code] = (values, notes)
    return originals


def sheet_is_empty(sheet: Worksheet | ReadOnlyWorksheet) -> bool:
    for number, row in enumerate(sheet.iter_rows(values_only=True)):
        if number > 1000 or any(value not in (None, "") for value in row):
            return False
    return True


def read_score_sheet(
    upload: UploadCheck, workbook: Workbook, template: TemplateMeta
) -> list[tuple[int, tuple]]:
    """Check the sheet's size and headers; return its non-empty unit rows with their numbers."""
    sheet = workbook[SCORE_SHEET]
    # The declared size is cheap to read and refuses absurd sheets early; it can lie, so the
    # loop below counts as well, and the declared size is then dropped so that a too-small
    # one cannot hide rows from openpyxl.
    if sheet.max_row is not None and sheet.max_row > settings.SHEET_MAX_ROWS:
        raise upload.refuse(
            "too_many_rows",
            _("The sheet has more than %(n)d rows.") % {"n": settings.SHEET_MAX_ROWS},
            sheet=SCORE_SHEET,
        )
    if sheet.max_column is not None and sheet.max_column > settings.SHEET_MAX_COLUMNS:
        raise upload.refuse(
            "too_many_columns",
            _("The sheet has more than %(n)d columns.") % {"n": settings.SHEET_MAX_COLUMNS},
            sheet=SCORE_SHEET,
        )
    sheet.reset_dimensions()
    last_col = max([FIXED_COLUMNS, *(c.note_col for c in template.columns)])
    rows: list[tuple[int, tuple]] = []
    codes_seen = False
    for number, values in enumerate(
        sheet.iter_rows(min_row=1, max_col=last_col, values_only=True), start=1
    ):
        if number > settings.SHEET_MAX_ROWS:
            raise upload.refuse(
                "too_many_rows",
                _("The sheet has more than %(n)d rows.") % {"n": settings.SHEET_MAX_ROWS},
                sheet=SCORE_SHEET,
            )
        if number == ROW_CODE:
            codes_seen = True
            check_codes(upload, template, values)
        elif number >= FIRST_DATA_ROW and any(v is not None and v != "" for v in values):
            rows.append((number, tuple(values) + (None,) * (last_col - len(values))))
    if not codes_seen:
        check_codes(upload, template, ())
    if upload.errors:
        raise SheetRefused()
    return rows


def check_codes(upload: UploadCheck, template: TemplateMeta, values: tuple) -> None:
    for column in template.columns:
        found = values[column.value_col - 1] if column.value_col <= len(values) else None
        if cell_text(found) != column.indicator.code:
            upload.fail(
                "header_mismatch",
                _(
                    "Expected the indicator code %(expected)s here but found “%(found)s”: "
                    "columns were moved, inserted or deleted. Download a new template."
                )
                % {"expected": column.indicator.code, "found": cell_text(found)},
                sheet=SCORE_SHEET,
                row=ROW_CODE,
                column=column.value_col,
                header=column.indicator.code,
            )


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


class CellError(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def is_formula(value: Any) -> bool:
    return isinstance(value, ArrayFormula | DataTableFormula) or (
        isinstance(value, str) and value.lstrip().startswith("=")
    )


def formula_error() -> CellError:
    return CellError("formula", _("Formulas are not accepted; type the value itself."))


def cell_points(raw: Any, indicator: Indicator) -> Decimal | None:
    """Points typed into a cell, checked against the indicator; None for an empty cell."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if is_formula(raw):
        raise formula_error()
    not_number = CellError(
        "not_a_number", _("“%(value)s” is not a number.") % {"value": cell_text(raw)}
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
    problem = points_problem(value, indicator.max_points)
    if problem is not None:
        raise CellError(*problem)
    return value


def cell_veto(raw: Any) -> bool | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if is_formula(raw):
        raise formula_error()
    text = cell_text(raw)
    if text == VETO_YES:
        return True
    if text == VETO_NO:
        return False
    raise CellError(
        "veto_value",
        _("Enter %(yes)s or %(no)s, not “%(value)s”.")
        % {"yes": VETO_YES, "no": VETO_NO, "value": text},
    )


def cell_note(raw: Any) -> str | None:
    if raw is None:
        return None
    if is_formula(raw):
        raise formula_error()
    if isinstance(raw, dt.datetime | dt.date | dt.time):
        return raw.isoformat()
    return cell_text(raw) or None


# --- is a cell what the template was generated with? (format 2) ------------------------------


def value_token(raw: Any) -> str | None:
    """A points or veto cell as the template's originals spell it ('' when empty); None for
    what a template never writes (formulas, dates, true/false), which is always an edit.

    7.0, "7", " 7,00 " all read as "7": retyping the same value is not an edit.
    """
    if raw is None:
        return ""
    if isinstance(raw, bool) or is_formula(raw):
        return None
    if isinstance(raw, str):
        text = raw.strip()
        try:
            value = parse_points(text)
        except ValueError:
            return text  # 是, 否, or words: compared as typed
        return "" if value is None else number_text(value)
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            return None
        return number_text(Decimal(repr(raw)))
    if isinstance(raw, int | Decimal):
        return number_text(Decimal(raw)) if Decimal(raw).is_finite() else None
    return None


def note_token(raw: Any) -> str | None:
    """The digest of a note cell as the template's originals spell it ('' when empty); None for
    a formula (always an edit)."""
    try:
        text = cell_note(raw)
    except CellError:
        return None
    return note_digest(text or "")
