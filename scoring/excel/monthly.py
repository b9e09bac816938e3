"""The monthly analysis workbook: one sheet per section, Chinese headers."""

from __future__ import annotations

import os

from django.utils.translation import gettext as _

from scoring.excel.cells import SheetWriter, new_workbook


def write_monthly(path: str | os.PathLike[str], data: dict) -> None:
    """Write the month's figures as a workbook: one sheet per section, Chinese headers."""
    wb = new_workbook()
    stages = data["stages"]
    s = SheetWriter(wb, _("Progress"), [_("Township"), *stages], [12] + [10] * len(stages))
    for row in data["progress"]:
        s.append([row["township"], *row["counts"]])
    dims = data["dimensions"]
    s = SheetWriter(wb, _("Dimension averages"), [_("Township"), *dims], [12] + [11] * len(dims))
    for row in data["dimension_averages"]:
        s.append([row["township"], *row["averages"]])
    s = SheetWriter(wb, _("Levels"), [_("Level"), _("Now"), _("Target")], [8, 8, 8])
    for row in data["levels"]:
        s.append([row["level"], row["actual"], row["target"]])
    s = SheetWriter(
        wb,
        _("Changes"),
        [_("Township"), _("Unit"), _("Dimension"), _("Change"), _("Period"), _("Score")],
        [10, 14, 12, 8, 8, 8],
    )
    for row in data["changes"]:
        s.append(
            [
                row["township"],
                row["unit"],
                row["dimension"],
                row["kind_label"],
                row["period"],
                row["score"],
            ]
        )
    s = SheetWriter(
        wb,
        _("Township ranking"),
        [_("Rank"), _("Township"), _("Units"), _("Average"), _("Change"), _("Levels held")],
        [6, 12, 7, 9, 9, 9],
    )
    for row in data["ranking"]:
        s.append(
            [row["rank"], row["township"], row["units"], row["average"], row["change"], row["held"]]
        )
    s = SheetWriter(
        wb,
        _("Bottom units"),
        [_("Unit"), _("Township"), _("Total"), _("Level held")],
        [14, 12, 9, 9],
    )
    for row in data["bottom"]:
        s.append([row["unit"], row["township"], row["total"], row["level"]])
    r = data["rectification"]
    s = SheetWriter(
        wb,
        _("Rectification"),
        [_("Opened"), _("Closed"), _("Overdue"), _("Still open")],
        [9, 9, 9, 9],
    )
    s.append([r["opened"], r["closed"], r["overdue"], r["still_open"]])
    wb.save(path)
