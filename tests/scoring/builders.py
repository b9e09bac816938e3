"""Builders for the decision and follow-up tests (adjustment, rectification, rankings, pages).

A campaign gets a hand-made catalogue described by `Spec` rows, so that every dimension score in
a test can be worked out by hand; final assessments get their county scores written directly
(no audit rows), full marks unless a test says otherwise. Only the tests of tests/scoring that
cover decisions use this module.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from campaigns.models import Campaign, Dimension, Indicator, IndicatorKind
from scoring.models import Assessment, Holding, Period, Score, ScoreStage, Stage
from tests import factories
from villages.models import Unit


@dataclass(frozen=True)
class Spec:
    """One dimension of a hand-made catalogue: points items (code, max), an optional veto code
    and an optional bonus item (code, max) with the dimension's bonus cap."""

    code: str
    name: str
    points: tuple[tuple[str, str], ...]
    veto: str | None = None
    bonus: tuple[str, str] | None = None
    bonus_cap: str = "0"


# Three dimensions: 1 and 2 add up to 100 and have a veto each; 3 adds up to 50 (normalised).
THREE_DIMENSIONS = (
    Spec("dangjian", "党建引领", (("1.1", "40"), ("1.2", "30"), ("1.3", "30")), veto="1.4"),
    Spec("chanye", "产业兴旺", (("2.1", "60"), ("2.2", "40")), veto="2.3"),
    Spec("shengtai", "生态宜居", (("3.1", "20"), ("3.2", "30"))),
)

# One dimension with one item worth 100: a unit's total is the points it was given.
ONE_ITEM = (Spec("zonghe", "综合", (("1.1", "100"),)),)


@dataclass
class Built:
    """A campaign with its catalogue, looked up by code."""

    campaign: Campaign
    dimensions: dict[str, Dimension] = field(default_factory=dict)
    indicators: dict[str, Indicator] = field(default_factory=dict)

    def dim(self, code: str) -> Dimension:
        return self.dimensions[code]


def campaign_build(*, region, specs=THREE_DIMENSIONS, **fields) -> Built:
    """Create an active campaign over `region` with the catalogue the specs describe."""
    fields.setdefault("name", "内黄县红旗创建（决策）")
    campaign = factories.CampaignFactory(region=region, **fields)
    built = Built(campaign=campaign)
    for order, spec in enumerate(specs, start=1):
        dimension = factories.DimensionFactory(
            campaign=campaign,
            code=spec.code,
            name=spec.name,
            order=order,
            bonus_cap=Decimal(spec.bonus_cap),
        )
        built.dimensions[spec.code] = dimension
        rows = [(code, IndicatorKind.POINTS, maximum) for code, maximum in spec.points]
        if spec.veto:
            rows.append((spec.veto, IndicatorKind.VETO, "0"))
        if spec.bonus:
            rows.append((spec.bonus[0], IndicatorKind.BONUS, spec.bonus[1]))
        for item_order, (code, kind, maximum) in enumerate(rows, start=1):
            built.indicators[code] = factories.IndicatorFactory(
                dimension=dimension,
                code=code,
                title=f"指标{code}",
                kind=kind,
                max_points=Decimal(maximum),
                order=item_order,
            )
    return built


def period_build(built: Built, label: str = "2026Q3", **fields) -> Period:
    return factories.PeriodFactory(campaign=built.campaign, label=label, **fields)


def county_scores(
    built: Built,
    assessment: Assessment,
    values: dict[str, str] | None = None,
    vetoed: set[str] = frozenset(),
    *,
    stage: str = ScoreStage.COUNTY,
    bonus: dict[str, str] | None = None,
) -> list[Score]:
    """Score every indicator of the catalogue at one stage: points items at full marks unless
    `values` names them (a deduction gets the note 扣分<code>), vetoes triggered when named in
    `vetoed`, bonus items 0 unless `bonus` names them."""
    values, bonus = values or {}, bonus or {}
    scores = []
    for code, indicator in built.indicators.items():
        score = Score(assessment=assessment, indicator=indicator, stage=stage)
        if indicator.kind == IndicatorKind.VETO:
            score.vetoed = code in vetoed
        elif indicator.kind == IndicatorKind.BONUS:
            score.value = Decimal(bonus.get(code, "0"))
        else:
            score.value = Decimal(values.get(code, indicator.max_points))
            if score.value < indicator.max_points:
                score.note = f"扣分{code}"
        scores.append(score)
    return Score.objects.bulk_create(scores)


def final_assessment(
    built: Built,
    period: Period,
    unit: Unit,
    values: dict[str, str] | None = None,
    vetoed: set[str] = frozenset(),
    *,
    stage: str = Stage.FINAL,
) -> Assessment:
    """An assessment of `unit` (final unless told) with its county scores."""
    assessment = factories.AssessmentFactory(
        period=period,
        unit=unit,
        stage=stage,
        finalised_at=timezone.now() if stage == Stage.FINAL else None,
    )
    county_scores(built, assessment, values, vetoed)
    return assessment


def holdings(built: Built, unit: Unit, *codes: str) -> None:
    Holding.objects.bulk_create(Holding(unit=unit, dimension=built.dim(c)) for c in codes)


def many_units(township, n: int, *, prefix: str = "村") -> list[Unit]:
    """`n` village units of a township, named <township><prefix><i>."""
    return [
        factories.UnitFactory(township=township, name=f"{township.name}{prefix}{i}")
        for i in range(n)
    ]


def shanghai(year, month, day, hour, minute) -> dt.datetime:
    """An aware datetime given in Asia/Shanghai wall-clock time (UTC+8, no daylight saving)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.timezone(dt.timedelta(hours=8)))
