"""A lead department's page: its indicators across every unit of a period, with progress, and
one indicator's rows (a unit each) at the county stage, where departments score.

Five queries whatever the number of units or indicators: the indicators, the assessments per
unit kind, the scored counts per indicator, and for the chosen indicator its assessments and
their county scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q

from campaigns.models import AppliesTo, Indicator
from scoring.models import Assessment, Period, Score, ScoreStage
from villages.models import UnitKind, User


@dataclass
class DepartmentIndicator:
    indicator: Indicator
    scored: int = 0  # units with a county score (points or veto)
    total: int = 0  # units the indicator applies to


@dataclass
class DepartmentRow:
    assessment: Assessment
    score: Score | None
    editable: bool = False
    form: object = None


@dataclass
class DepartmentSheet:
    indicators: list[DepartmentIndicator] = field(default_factory=list)
    chosen: Indicator | None = None
    rows: list[DepartmentRow] = field(default_factory=list)


def _kinds(indicator: Indicator) -> set[str]:
    applies = indicator.dimension.applies_to
    return set(UnitKind.values) if applies == AppliesTo.BOTH else {applies}


def department_sheet(user: User, period: Period, indicator_id: int | None) -> DepartmentSheet:
    """The user's department's indicators in `period` (a superuser: every led indicator), with
    n/m progress, and the rows of the chosen one (default: the first). Fixed queries (5)."""
    indicators = (
        Indicator.objects.for_version(period.catalogue_version)
        .filter(dimension__campaign_id=period.campaign_id)
        .select_related("dimension")
        .order_by("dimension__order", "dimension__id", "order", "code")
    )
    if user.is_superuser and not user.department_id:
        indicators = indicators.filter(lead_department__isnull=False)
    else:
        indicators = indicators.filter(lead_department_id=user.department_id)
    sheet = DepartmentSheet(indicators=[DepartmentIndicator(ind) for ind in indicators])
    if not sheet.indicators:
        return sheet
    assessments = Assessment.objects.visible_to(user).filter(period=period)
    per_kind = dict(
        assessments.order_by()
        .values("unit__kind")
        .annotate(n=Count("id"))
        .values_list("unit__kind", "n")
    )
    ids = [item.indicator.id for item in sheet.indicators]
    scored = dict(
        Score.objects.filter(
            stage=ScoreStage.COUNTY, assessment__in=assessments, indicator_id__in=ids
        )
        .filter(Q(value__isnull=False) | Q(vetoed__isnull=False))
        .order_by()
        .values("indicator_id")
        .annotate(n=Count("id"))
        .values_list("indicator_id", "n")
    )
    for item in sheet.indicators:
        item.total = sum(per_kind.get(kind, 0) for kind in _kinds(item.indicator))
        item.scored = scored.get(item.indicator.id, 0)
    chosen = next(
        (i.indicator for i in sheet.indicators if i.indicator.id == indicator_id),
        sheet.indicators[0].indicator,
    )
    sheet.chosen = chosen
    rows = list(
        assessments.filter(unit__kind__in=_kinds(chosen))
        .select_related("unit__township")
        .order_by("unit__code")
    )
    scores = {
        s.assessment_id: s
        for s in Score.objects.filter(
            stage=ScoreStage.COUNTY, indicator=chosen, assessment__in=[a.id for a in rows]
        )
    }
    sheet.rows = [DepartmentRow(a, scores.get(a.id)) for a in rows]
    return sheet
