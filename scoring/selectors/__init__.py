"""Reads shared by scoring pages, uploads, exports and reports. Set-based: fixed query counts.

One module per subdomain (entry, progress, results, levels, rankings, monthly); the public
names are re-exported here for callers above the selectors."""

from scoring.selectors.department import (
    DepartmentSheet,
    department_sheet,
)
from scoring.selectors.entry import (
    EntryDimension,
    EntryRow,
    dimension_results,
    entry_sheet,
)
from scoring.selectors.levels import (
    level_changes,
    level_distribution,
    targets_by_township,
    unit_levels,
    units_for,
)
from scoring.selectors.monthly import (
    BOTTOM,
    month_bounds,
    monthly_figures,
    previous_month,
)
from scoring.selectors.progress import (
    campaigns_for_home,
    indicator_counts,
    stage_totals,
    work_due,
)
from scoring.selectors.rankings import (
    TownshipRank,
    UnitRank,
    effective_and_slow,
    rankings,
)
from scoring.selectors.results import (
    final_period_for,
    final_results,
    previous_period,
    unit_totals,
)

__all__ = [
    "BOTTOM",
    "DepartmentSheet",
    "EntryDimension",
    "EntryRow",
    "TownshipRank",
    "UnitRank",
    "campaigns_for_home",
    "department_sheet",
    "dimension_results",
    "effective_and_slow",
    "entry_sheet",
    "final_period_for",
    "final_results",
    "indicator_counts",
    "level_changes",
    "level_distribution",
    "month_bounds",
    "monthly_figures",
    "previous_month",
    "previous_period",
    "rankings",
    "stage_totals",
    "targets_by_township",
    "unit_levels",
    "unit_totals",
    "units_for",
    "work_due",
]
