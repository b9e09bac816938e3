"""On-demand exports (score sheet, roster, ledger, ranking), streamed with write-only openpyxl.

Memory stays flat as the county grows: rows are read in chunks and written as they come.
"""

from __future__ import annotations

import os
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign, Dimension, Indicator, IndicatorKind, UnitTarget
from scoring.excel.cells import CHUNK, Progress, SheetWriter, chunks, new_workbook
from scoring.models import (
    Assessment,
    Holding,
    Period,
    RectificationItem,
    RectificationStatus,
    Score,
    ScoreStage,
    Stage,
)
from scoring.rules import DimensionParts, total_score
from scoring.selectors.levels import unit_levels
from scoring.selectors.rankings import rankings
from villages.models import Region, Unit, User

# --- score sheet ----------------------------------------------------------------------------


def write_scores(
    path: str | os.PathLike[str],
    *,
    period: Period,
    user: User | None = None,
    region: Region | None = None,
    progress: Progress | None = None,
) -> int:
    """Unit rows × indicator columns with dimension totals, level and stage. Returns rows.

    Values are those of the assessment's current stage (county's once final). One query per
    chunk of assessments reads the shown stage's scores; the dimension totals are worked out
    from those same rows, exactly as `stage_totals` does in SQL (capped points and bonus,
    triggered vetoes), so the sheet costs little more than openpyxl writing its cells.
    """
    campaign = period.campaign
    version = period.catalogue_version
    catalogue = list(
        Indicator.objects.filter(dimension__campaign=campaign)
        .select_related("dimension")
        .order_by("dimension__order", "dimension_id", "order", "id")
    )
    indicators = [
        i
        for i in catalogue
        if i.version_from <= version and (i.version_to is None or i.version_to > version)
    ]
    dims = list(
        Dimension.objects.filter(campaign=campaign)
        .select_related("campaign")
        .order_by("order", "id")
    )
    assessments = _assessments(period, user, region)
    levels = unit_levels(campaign, user)
    wb = new_workbook()
    headers = [_("Division code"), _("Unit"), _("Township"), _("Stage")]
    headers += [
        f"{i.code} {i.title}" + ("" if i.kind == IndicatorKind.VETO else f" ({i.max_points})")
        for i in indicators
    ]
    headers += [d.name for d in dims] + [_("Average"), _("Level held")]
    widths = [15, 14, 10, 12] + [9] * len(indicators) + [10] * len(dims) + [9, 9]
    sheet = SheetWriter(wb, _("Score sheet"), headers, widths)
    # What stage_totals reads from the catalogue: each indicator's dimension, what it adds to
    # (0 points, 1 bonus, 2 veto) and its cap, and what a dimension's points items are worth
    # together in this version. Where an indicator's value goes in the row, and whether it
    # shows as yes/no.
    slots = {IndicatorKind.POINTS: 0, IndicatorKind.BONUS: 1, IndicatorKind.VETO: 2}
    position = {i.id: n for n, i in enumerate(indicators)}
    info = {
        i.id: (i.dimension_id, slots[i.kind], i.max_points, position.get(i.id)) for i in catalogue
    }
    possible: dict[int, Decimal] = {}
    for i in indicators:
        if i.kind == IndicatorKind.POINTS:
            possible[i.dimension_id] = possible.get(i.dimension_id, Decimal(0)) + i.max_points
    yes, no = _("yes"), _("no")
    # Text sits in the first four columns and the veto columns; the rest are numbers.
    texts = [0, 1, 2, 3] + [4 + n for n, i in enumerate(indicators) if i.kind == IndicatorKind.VETO]
    stage_labels = {value: str(label) for value, label in Stage.choices}
    total = len(assessments)
    done = 0
    for chunk in chunks(assessments):
        shown = {
            a_id: stage if stage in ScoreStage.values else ScoreStage.COUNTY
            for a_id, stage, *_unit in chunk
        }
        cells_of = {a_id: [None] * len(indicators) for a_id in shown}
        parts_of: dict[int, dict[int, DimensionParts]] = {a_id: {} for a_id in shown}
        stages = set(shown.values())
        scores = Score.objects.filter(assessment_id__in=list(shown), stage__in=stages)
        if len(stages) == 1:  # the usual case: no need to read the stage back
            scores = scores.values_list("assessment_id", "indicator_id", "value", "vetoed")
        else:
            scores = (
                (a_id, ind_id, value, vetoed)
                for a_id, ind_id, stage, value, vetoed in scores.values_list(
                    "assessment_id", "indicator_id", "stage", "value", "vetoed"
                )
                if stage == shown[a_id]
            )
        for a_id, ind_id, value, vetoed in scores:
            dim_id, slot, maximum, at = info[ind_id]
            parts = parts_of[a_id]
            part = parts.get(dim_id)
            if part is None:
                part = parts[dim_id] = DimensionParts(possible=possible.get(dim_id, Decimal(0)))
            if slot == 2:
                part.vetoed = part.vetoed or vetoed is True
                if at is not None and vetoed is not None:
                    cells_of[a_id][at] = yes if vetoed else no
                continue
            if value is not None:
                capped = value if value <= maximum else maximum
                if slot == 0:
                    part.points += capped
                else:
                    part.bonus += capped
                if at is not None:
                    cells_of[a_id][at] = float(value)
        for a_id, stage, unit_id, code, name, township in chunk:
            cells, parts = cells_of[a_id], parts_of[a_id]
            row = [code, name, township, stage_labels[stage], *cells]
            results = [
                None
                if d.id not in parts
                else parts[d.id].result(d.bonus_cap, d.effective_threshold)
                for d in dims
            ]
            present = [r for r in results if r is not None]
            row += [None if r is None else float(r.score) for r in results]
            # The unit's average is the rules' total (two decimals), as rankings and reports use.
            row.append(float(total_score(present)) if present else None)
            row.append(levels.get(unit_id, 0))
            sheet.append_numbers(row, texts)
        done += len(chunk)
        if progress:
            progress(done, total)
    wb.save(path)
    return sheet.rows


def _assessments(period: Period, user: User | None, region: Region | None) -> list[tuple]:
    """(id, stage, unit id, unit code, unit name, township name) in unit order."""
    qs = Assessment.objects.filter(period=period)
    if user is not None:
        qs = qs.visible_to(user)
    if region is not None:
        qs = qs.filter(unit__code__startswith=region.prefix)
    return list(
        qs.order_by("unit__code").values_list(
            "id", "stage", "unit_id", "unit__code", "unit__name", "unit__township__name"
        )
    )


# --- roster ---------------------------------------------------------------------------------


def write_roster(
    path: str | os.PathLike[str],
    *,
    campaign: Campaign,
    user: User | None = None,
    region: Region | None = None,
    progress: Progress | None = None,
) -> int:
    """Every unit with the flags or stars it holds now, by dimension, and its target."""
    units = Unit.objects.active().filter(code__startswith=campaign.region.prefix)
    if user is not None:
        units = units.visible_to(user)
    if region is not None:
        units = units.filter(code__startswith=region.prefix)
    units = list(units.select_related("township").order_by("code"))
    dims = list(Dimension.objects.filter(campaign=campaign).order_by("order", "id"))
    held = set(
        Holding.objects.filter(dimension__campaign=campaign, unit__in=units).values_list(
            "unit_id", "dimension_id"
        )
    )
    targets = dict(
        UnitTarget.objects.filter(campaign=campaign, unit__in=units).values_list(
            "unit_id", "decided_level"
        )
    )
    wb = new_workbook()
    headers = [
        _("Division code"),
        _("Unit"),
        _("Township"),
        _("Kind"),
        _("Level held"),
        _("Target"),
    ]
    headers += [d.name for d in dims]
    sheet = SheetWriter(wb, _("Roster"), headers, [15, 14, 10, 8, 9, 9] + [11] * len(dims))
    for i, u in enumerate(units, start=1):
        row = [u.code, u.name, u.township.name, u.get_kind_display()]
        marks = ["★" if (u.id, d.id) in held else "" for d in dims]
        row += [sum(1 for m in marks if m), targets.get(u.id), *marks]
        sheet.append(row)
        if progress and i % CHUNK == 0:
            progress(i, len(units))
    wb.save(path)
    return sheet.rows


# --- rectification ledger -------------------------------------------------------------------


def write_ledger(
    path: str | os.PathLike[str],
    *,
    campaign: Campaign,
    user: User | None = None,
    region: Region | None = None,
    period: Period | None = None,
    progress: Progress | None = None,
) -> int:
    """Every lost-points item: unit, indicator, points lost, why, who, measure, deadline, status."""
    items = RectificationItem.objects.filter(assessment__period__campaign=campaign)
    if user is not None:
        items = items.visible_to(user)
    if region is not None:
        items = items.filter(assessment__unit__code__startswith=region.prefix)
    if period is not None:
        items = items.filter(assessment__period=period)
    total = items.count()
    today = timezone.localdate()
    wb = new_workbook()
    headers = [
        _("Period"),
        _("Township"),
        _("Unit"),
        _("Indicator"),
        _("Points lost"),
        _("Why points were lost"),
        _("Responsible person"),
        _("Measure"),
        _("Deadline"),
        _("Status"),
        _("Overdue"),
        _("Closed"),
    ]
    sheet = SheetWriter(
        wb, _("Rectification ledger"), headers, [8, 10, 14, 30, 8, 28, 10, 28, 11, 10, 6, 16]
    )
    labels = dict(RectificationStatus.choices)
    rows = (
        items.order_by("assessment__period__starts_on", "assessment__unit__code", "indicator__code")
        .values_list(
            "assessment__period__label",
            "assessment__unit__township__name",
            "assessment__unit__name",
            "indicator__code",
            "indicator__title",
            "points_lost",
            "lost_note",
            "responsible_person",
            "measure",
            "deadline",
            "status",
            "closed_at",
        )
        .iterator(chunk_size=5000)
    )
    yes = _("yes")
    for i, (
        label,
        township,
        unit,
        code,
        title,
        lost,
        note,
        person,
        measure,
        deadline,
        status,
        closed_at,
    ) in enumerate(rows, start=1):
        overdue = RectificationItem.overdue_when(status, deadline, today)
        sheet.append(
            [
                label,
                township,
                unit,
                f"{code} {title}",
                lost,
                note,
                person,
                measure,
                deadline,
                str(labels[status]),
                yes if overdue else "",
                closed_at,
            ],
            formats={8: "yyyy-mm-dd", 11: "yyyy-mm-dd hh:mm"},
        )
        if progress and i % 5000 == 0:
            progress(i, total)
    wb.save(path)
    return sheet.rows


# --- ranking --------------------------------------------------------------------------------


def write_ranking(
    path: str | os.PathLike[str],
    *,
    period: Period,
    user: User | None = None,
    progress: Progress | None = None,
) -> int:
    """Townships by average final score (赛马), and every unit ranked."""
    township_rows, unit_rows = rankings(period, user)
    wb = new_workbook()
    towns = SheetWriter(
        wb,
        _("Townships"),
        [
            _("Rank"),
            _("Township"),
            _("Units"),
            _("Average"),
            _("Change"),
            _("Levels held"),
            _("Gained/lost"),
        ],
        [6, 12, 7, 9, 9, 9, 9],
    )
    for t in township_rows:
        towns.append([t.rank, t.township.name, t.units, t.average, t.rise, t.held, t.change])
    units = SheetWriter(
        wb,
        _("Units"),
        [
            _("Rank"),
            _("Unit"),
            _("Township"),
            _("Total"),
            _("Change"),
            _("Level held"),
            _("Gained/lost"),
        ],
        [6, 14, 10, 9, 9, 9, 9],
    )
    for i, r in enumerate(unit_rows, start=1):
        units.append([i, r.unit.name, r.unit.township.name, r.total, r.rise, r.level, r.change])
    wb.save(path)
    return towns.rows + units.rows
