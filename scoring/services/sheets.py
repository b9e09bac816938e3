"""The all-or-nothing score-sheet upload: check every row and cell, then one `scores_save`.

Reads every row, collects every problem with its cell, and writes through `scores_save` in one
call (atomic, audited) or not at all. Only edited cells count (see `scores_import`).
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from django.core.files import File
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from campaigns.models import Indicator, IndicatorKind
from scoring.errors import ImportErrors, InputErrors, RowError, ScoringError, StaleScores
from scoring.excel.guard import (
    DAMAGED,
    CellWhere,
    SheetRefused,
    UploadCheck,
    check_container,
    damaged_message,
    read_bytes,
)
from scoring.excel.reading import (
    CellError,
    TemplateMeta,
    cell_note,
    cell_points,
    cell_text,
    cell_veto,
    formula_error,
    is_formula,
    note_token,
    read_meta,
    read_score_sheet,
    value_token,
)
from scoring.excel.template import SCORE_SHEET, Column, display_value, field_labels, fixed_headers
from scoring.inputs import ScoreInput
from scoring.models import (
    Assessment,
    ChangeSource,
    Score,
    ScoreStage,
    Stage,
)
from scoring.services.scores import scores_save
from villages.models import UnitKind, User
from villages.policy import Action, may


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
        return display_value(self.old_vetoed if self.is_veto else self.old_value)

    @property
    def new(self) -> str | None:
        return display_value(self.new_vetoed if self.is_veto else self.new_value)


@dataclass
class ImportResult:
    """What an upload wrote: number of units and of scores changed, and each change."""

    campaign: str
    period: str
    stage: str
    units: int = 0
    scores: int = 0
    changes: list[ImportChange] = field(default_factory=list)


def scores_import(
    *,
    user: User,
    file: str | os.PathLike[str] | File | IO[bytes],
    source: str = ChangeSource.UPLOAD,
) -> ImportResult:
    """Read a filled-in template and write its changed scores, all or nothing.

    `file` is a path or a file-like object (a Django UploadedFile). Raises ImportErrors listing
    every problem (sheet, row, column, reason) and writes nothing, or writes every change in one
    `scores_save` call (one transaction, one audit row per change) with the template's
    generation time as `changed_since`.

    What counts as a change: in a format 2 template, a cell that differs from what the sheet
    was generated with (its signed originals); untouched cells are not read, so they neither
    revert a later edit nor trip the stage check. An emptied note cell clears the note; an
    emptied points or veto cell is refused ("cleared"). In a format 1 template (no originals),
    empty cells leave the stored score unchanged and filled ones are compared with it.
    """
    upload = UploadCheck(user)
    if not any(may(user, Action.SCORE, state=stage) for stage in ScoreStage.values):
        # Asked before the file is read at all: a role that scores nothing sends no work here.
        upload.fail("forbidden", _("You may not enter scores at this stage."))
        raise ImportErrors(upload.errors)
    try:
        data = read_bytes(upload, file)
        check_container(upload, data)
        damaged = damaged_message()
        try:
            workbook = load_workbook(
                io.BytesIO(data), read_only=True, data_only=False, keep_links=False
            )
        except Exception as exc:
            # openpyxl raises whatever its XML and zip layers raise on a damaged file
            # (KeyError, ValueError, ParseError, BadZipFile...): all mean "cannot be read".
            raise upload.refuse("unreadable", damaged) from exc
        try:
            template = read_meta(upload, workbook)
            rows = read_score_sheet(upload, workbook, template)
        except DAMAGED as exc:
            # Read-only sheets are parsed while iterating, so damage shows up only here.
            raise upload.refuse("unreadable", damaged) from exc
        finally:
            workbook.close()
        inputs, context = _check_rows(upload, template, rows)
    except SheetRefused:
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


# A score as stored, read as values: (value, vetoed, note, updated_at, updated_by_id).
_Stored = tuple[Decimal | None, bool | None, str, dt.datetime, int | None]


@dataclass
class _Context:
    """What the rows were checked against; used to map service errors back to cells."""

    assessments: dict[int, Assessment] = field(default_factory=dict)
    indicators: dict[int, Indicator] = field(default_factory=dict)
    row_of: dict[int, int] = field(default_factory=dict)  # assessment id → sheet row
    column_of: dict[int, Column] = field(default_factory=dict)  # indicator id → columns
    exact: bool = False  # a format 2 sheet: only cells that differ from the originals count


def _unit_code(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # the code column was retyped as a number
    return cell_text(raw)


def _check_rows(
    upload: UploadCheck, template: TemplateMeta, rows: list[tuple[int, tuple]]
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
        exact=template.originals is not None,
    )
    applicable = {
        kind: set(
            Indicator.objects.applicable(
                template.campaign.id, period.catalogue_version, kind
            ).values_list("id", flat=True)
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
    stale: list[tuple[int, Column, _Stored]] = []
    seen: dict[str, int] = {}
    changes_anywhere = False
    for number, values in rows:
        raw_code = values[0]
        where: CellWhere = {"sheet": SCORE_SHEET, "row": number, "column": 1, "header": headers[1]}
        if is_formula(raw_code):
            upload.fail("formula", formula_error().reason, **where)
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
    if changes_anywhere and not period.is_open:
        upload.fail("period_closed", _("The period %(p)s is closed.") % {"p": period.label})
    _report_stale(upload, stale, headers, exact=context.exact)
    return inputs, context


def _check_cells(
    upload: UploadCheck,
    template: TemplateMeta,
    assessment: Assessment,
    values: tuple,
    stored: dict[tuple[int, int], _Stored],
    applicable: dict[str, set[int]],
    headers: dict[int, str],
    where: CellWhere,
) -> tuple[bool, list[ScoreInput], list[RowError], list[tuple[int, Column, _Stored]]]:
    """Check one unit row's edited cells. Return (changed?, inputs, deferred errors, stale).

    Errors of what was typed (formula, text, range, grey cell) are reported at once; those
    that only matter if the row may be written (note, department, stale) are deferred.
    """
    user, stage = upload.user, template.stage
    allowed = applicable[assessment.unit.kind]
    changed = False
    inputs: list[ScoreInput] = []
    deferred: list[RowError] = []
    stale: list[tuple[int, Column, _Stored]] = []

    def error(code: str, reason: str, column: int) -> RowError:
        return RowError(
            sheet=SCORE_SHEET,
            row=where["row"],
            column=get_column_letter(column),
            header=headers[column],
            reason=reason,
            code=code,
        )

    exact = template.originals is not None
    if exact:
        original_values, original_notes = template.original(assessment.unit.code)
    for column in template.columns:
        ind = column.indicator
        raw_value = values[column.value_col - 1]
        raw_note = values[column.note_col - 1]
        if exact:
            # Format 2: a cell is an edit only if it differs from what the sheet was generated
            # with; an untouched cell is not even read.
            position = template.positions[ind.id]
            value_edited = value_token(raw_value) != original_values[position]
            note_edited = note_token(raw_note) != original_notes[position]
        else:
            # Format 1: every filled cell is read; an empty one leaves the score unchanged.
            value_edited = note_edited = True
        if not (value_edited or note_edited):
            continue
        if ind.id not in allowed:
            for raw, col in ((raw_value, column.value_col), (raw_note, column.note_col)):
                if raw is not None and cell_text(raw) != "":
                    upload.errors.append(
                        error(
                            "not_applicable",
                            _("This indicator does not apply to this unit."),
                            col,
                        )
                    )
            continue
        # None: leave the stored value (or note) as it is.
        value = vetoed = note = None
        bad = False
        if value_edited:
            try:
                if ind.kind == IndicatorKind.VETO:
                    vetoed = cell_veto(raw_value)
                else:
                    value = cell_points(raw_value, ind)
            except CellError as exc:
                upload.errors.append(error(exc.code, exc.reason, column.value_col))
                bad = True
            else:
                if exact and value is None and vetoed is None:
                    upload.errors.append(
                        error(
                            "cleared",
                            _cleared_reason(original_values[position]),
                            column.value_col,
                        )
                    )
                    bad = True
        if note_edited:
            try:
                note = cell_note(raw_note)
            except CellError as exc:
                upload.errors.append(error(exc.code, exc.reason, column.note_col))
                bad = True
            else:
                if exact and note is None:
                    note = ""  # the note cell was emptied: clear the note
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
        if not may(
            user,
            Action.SCORE,
            state=stage,
            code=assessment.unit.code,
            department_id=ind.lead_department_id,
        ):
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


def _cleared_reason(original: str) -> str:
    return _(
        "Points cannot be cleared from a score sheet. This cell had %(value)s when the sheet was "
        "generated: type the new points, or put %(value)s back to leave the score as it is."
    ) % {"value": original}


def _column_headers(columns: list[Column]) -> dict[int, str]:
    headers = dict(enumerate(fixed_headers(), start=1))
    for column in columns:
        value_label, note_label = field_labels(column.indicator.kind)
        headers[column.value_col] = f"{column.indicator.code} {value_label}"
        headers[column.note_col] = f"{column.indicator.code} {note_label}"
    return headers


def _stale_reason(who: str, when: dt.datetime, current: str, *, exact: bool) -> str:
    """Why a cell edited in the sheet cannot be written; `exact`: a format 2 sheet, where
    putting the cells back as they were is what leaves a score alone."""
    params = {
        "who": who,
        "when": timezone.localtime(when).strftime("%Y-%m-%d %H:%M"),
        "value": current,
    }
    if exact:
        return (
            _(
                "%(who)s changed this score at %(when)s, after this template was generated; it "
                "is now %(value)s. Download a new template, or undo your changes to this "
                "indicator's cells (points and note) to keep the current score."
            )
            % params
        )
    return (
        _(
            "%(who)s changed this score at %(when)s, after this template was generated; it is "
            "now %(value)s. Download a new template, or empty both cells of this indicator "
            "(points and note) to keep the current score."
        )
        % params
    )


def _user_names(ids: Iterable[int | None]) -> dict[int, str]:
    return {
        u.id: u.get_full_name() or u.username
        for u in User.objects.filter(id__in={i for i in ids if i is not None})
    }


def _report_stale(
    upload: UploadCheck,
    stale: list[tuple[int, Column, _Stored]],
    headers: dict[int, str],
    *,
    exact: bool,
) -> None:
    if not stale:
        return
    names = _user_names(current[4] for _row, _column, current in stale)
    for number, column, current in stale:
        value, vetoed, _note, updated_at, updated_by_id = current
        shown = display_value(vetoed if column.indicator.kind == IndicatorKind.VETO else value)
        upload.fail(
            "stale",
            _stale_reason(
                names.get(updated_by_id, _("someone")), updated_at, shown or "—", exact=exact
            ),
            sheet=SCORE_SHEET,
            row=number,
            column=column.value_col,
            header=headers[column.value_col],
        )


def _map_service_error(upload: UploadCheck, exc: ScoringError, context: _Context) -> None:
    """Turn a refusal by scores_save (a race after our own checks) into cell errors."""
    headers = _column_headers(list(context.column_of.values()))

    def where(assessment_id: int, indicator_id: int, field_name: str = "value") -> CellWhere:
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
            shown = display_value(
                current.vetoed if indicator.kind == IndicatorKind.VETO else current.value
            )
            upload.fail(
                "stale",
                _stale_reason(
                    names.get(current.updated_by_id, _("someone")),
                    current.updated_at,
                    shown or "—",
                    exact=context.exact,
                ),
                **where(item.assessment_id, item.indicator_id),
            )
    else:  # LockedError and other refusals concern the whole upload
        upload.fail("refused", exc.message)
