"""Dimension totals have one implementation: the rules. Every path that shows a total gets the
same number for any set of scores — the SQL aggregate (`stage_totals`, used by work lists,
adjustments, rankings and reports), the streamed export (`write_scores`), the entry page
(`entry_sheet`) and `rules.dimension_result` over the raw items.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils.translation import gettext as _
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from campaigns.models import IndicatorKind
from scoring.excel.exports import write_scores
from scoring.models import Score, ScoreStage, Stage
from scoring.rules import dimension_result, total_score
from scoring.selectors import entry_sheet, stage_totals
from tests import factories

# Two dimensions: one with uneven maxima (scaled to 100) and a bonus cap, one summing to 100.
CATALOGUE = {
    "党建引领": {"maxima": ["7.5", "12", "20.25"], "bonus_cap": "5", "threshold": "90"},
    "服务优质": {"maxima": ["40", "60"], "bonus_cap": "0", "threshold": "85"},
}


class _Rollback(Exception):
    """Undo one example's scores (the catalogue stays for the next example)."""


@pytest.fixture
def catalogue(unit_a):
    campaign = factories.CampaignFactory(region=unit_a.township.parent)
    period = factories.PeriodFactory(campaign=campaign, label="2026Q3")
    assessment = factories.AssessmentFactory(period=period, unit=unit_a, stage=Stage.COUNTY)
    dims = []
    for order, (name, spec) in enumerate(CATALOGUE.items()):
        dim = factories.DimensionFactory(
            campaign=campaign,
            name=name,
            order=order,
            bonus_cap=Decimal(spec["bonus_cap"]),
            threshold=Decimal(spec["threshold"]),
        )
        points = [
            factories.IndicatorFactory(dimension=dim, code=f"{order}.{n}", max_points=Decimal(m))
            for n, m in enumerate(spec["maxima"], start=1)
        ]
        bonus = factories.IndicatorFactory(
            dimension=dim, code=f"{order}.8", kind=IndicatorKind.BONUS, max_points=Decimal("3")
        )
        veto = factories.IndicatorFactory(
            dimension=dim, code=f"{order}.9", kind=IndicatorKind.VETO, max_points=Decimal("0")
        )
        dims.append((dim, points, bonus, veto))
    return assessment, dims


def cents(maximum: Decimal):
    """A score as typed: None (unscored) or 0..max in steps of 0.01, sometimes over the max
    (an upload of an older catalogue) to check every path caps it the same way."""
    top = int(maximum * 100) + 150
    return st.one_of(st.none(), st.integers(0, top).map(lambda n: Decimal(n) / 100))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_totals_agree_for_any_scores(catalogue, tmp_path, data):
    assessment, dims = catalogue
    expected = {}
    try:
        with transaction.atomic():
            rows = []
            for dim, points, bonus, veto in dims:
                values = [data.draw(cents(i.max_points), label=i.code) for i in points]
                extra = data.draw(cents(bonus.max_points), label=bonus.code)
                vetoed = data.draw(st.sampled_from([None, False, True]), label=veto.code)
                rows += [
                    Score(assessment=assessment, indicator=i, stage=ScoreStage.COUNTY, value=v)
                    for i, v in zip(points, values, strict=True)
                ]
                rows.append(
                    Score(assessment=assessment, indicator=bonus, stage="county", value=extra)
                )
                rows.append(
                    Score(assessment=assessment, indicator=veto, stage="county", vetoed=vetoed)
                )
                expected[dim.id] = dimension_result(
                    [(v, i.max_points) for v, i in zip(values, points, strict=True)],
                    [vetoed],
                    [min(extra, bonus.max_points) if extra is not None else None],
                    dim.bonus_cap,
                    dim.effective_threshold,
                )
            Score.objects.bulk_create(rows)

            period = assessment.period
            sql = stage_totals([assessment.id], period.campaign, period.catalogue_version)
            by_sql = sql[assessment.id][ScoreStage.COUNTY]

            entry = {d.dimension.id: d.result for d in entry_sheet(assessment, Stage.COUNTY)}

            path = tmp_path / "scores.xlsx"
            write_scores(path, period=period)
            sheet = load_workbook(path, read_only=True).worksheets[0]
            header, row = list(sheet.iter_rows(min_row=1, max_row=2, values_only=True))
            by_export = {
                dim.id: Decimal(str(row[header.index(dim.name)])).quantize(Decimal("0.01"))
                for dim, *_items in dims
            }
            average = Decimal(str(row[header.index(_("Average"))]))
            raise _Rollback
    except _Rollback:
        pass

    for dim, *_items in dims:
        assert by_sql[dim.id] == expected[dim.id], dim.name
        assert entry[dim.id] == expected[dim.id], dim.name
        assert by_export[dim.id] == expected[dim.id].score, dim.name
    assert average == total_score(expected.values())
