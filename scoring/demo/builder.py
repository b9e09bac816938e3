"""Build the demo: two counties, two campaigns, three finished quarters and one in progress.

Deterministic (fixed random seed) and idempotent: places and users are matched by natural key
and only missing ones are created; a campaign that already exists is left exactly as it is, and
each campaign is built in one transaction, so an interrupted run leaves nothing half-made.
All writes are bulk inserts; the scores of one period are generated in memory and written in
batches together with their audit rows.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connection, models, transaction
from django.utils import timezone

from campaigns.models import (
    AppliesTo,
    Campaign,
    CampaignStatus,
    Dimension,
    Indicator,
    IndicatorKind,
    LevelTarget,
    Scheme,
    UnitTarget,
)
from scoring.demo import catalogues, places
from scoring.models import (
    Assessment,
    AssessmentEvent,
    AssessmentEventKind,
    ChangeSource,
    Holding,
    HoldingChange,
    HoldingChangeKind,
    Period,
    RectificationItem,
    RectificationStatus,
    Score,
    ScoreChange,
    ScoreStage,
    Stage,
)
from scoring.rules import DimensionResult, dimension_result
from villages.models import Department, Region, RegionLevel, Role, Unit, UnitKind, User

SEED = 2026
BATCH = 4000
DEMO_PASSWORD = "HongQi-2026"
TODAY = dt.date(2026, 11, 21)  # the demo's "now": Q4 is under way
BONUS_MAX = Decimal("5")

NEIHUANG_TARGETS = {5: 6, 4: 30, 3: 149, 2: 208, 1: 114}
XIAXIAN_TARGETS = {5: 8, 4: 22, 3: 46, 2: 38, 1: 14}

QUARTERS = {
    1: (dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
    2: (dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
    3: (dt.date(2026, 7, 1), dt.date(2026, 9, 30)),
    4: (dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
}
# Quality drifts upwards over the year: more flags gained than lost, as in seed 000.
TREND = {1: -0.012, 2: -0.004, 3: 0.004, 4: 0.007}

DEMO_USERS = [
    # username, role, display name, place key
    ("demo_county", Role.COUNTY_STAFF, "县委组织部 李明", "county"),
    ("demo_township", Role.TOWNSHIP_OFFICIAL, "梁庄镇 王芳", "township"),
    ("demo_village", Role.VILLAGE_SECRETARY, "冯庄村 冯建国", "unit"),
    ("demo_department", Role.DEPARTMENT, "县农业农村局 赵强", "department"),
    ("demo_leader", Role.LEADER, "县委 张书记", "county"),
]
DEMO_TOWNSHIP = "梁庄镇"
DEMO_UNIT = "冯庄村"
DEMO_DEPARTMENT = "县农业农村局"

_M = TypeVar("_M", bound=models.Model)
# A dimension of scoring.demo.catalogues: (code, name, applies_to, lead department,
# [points titles], veto title, bonus title).
_DimensionSpec = tuple[str, str, str, str, list[str], str, str]
# The county-stage results of a final period: (unit id, dimension id) -> (assessment, result).
_Results = dict[tuple[int, int], tuple[Assessment, DimensionResult]]


@dataclass
class DemoReport:
    """What a run created (zero everywhere on a second run)."""

    created: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    users: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, name: str, n: int) -> None:
        self.created[name] = self.created.get(name, 0) + n


def aware(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def demo_load(*, log: Callable[[str], None] = lambda s: None) -> DemoReport:
    """Create whatever part of the demo is missing and report what was created."""
    report = DemoReport()
    with transaction.atomic():
        neihuang = _ensure_county(places.NEIHUANG, SEED, report)
    log(f"内黄县: {len(neihuang.units)} units")
    with transaction.atomic():
        _ensure_campaign(
            neihuang,
            slug="wuxing-2026",
            name="2026年内黄县“五星”支部创建",
            scheme=Scheme.STAR,
            dimensions=catalogues.WUXING_DIMENSIONS,
            targets=NEIHUANG_TARGETS,
            seed=SEED + 1,
            report=report,
            log=log,
        )
    with transaction.atomic():
        xiaxian = _ensure_county(places.XIAXIAN, SEED + 2, report)
    log(f"夏县: {len(xiaxian.units)} units")
    with transaction.atomic():
        _ensure_campaign(
            xiaxian,
            slug="hongqi-2026",
            name="2026年夏县“五面红旗”示范创建",
            scheme=Scheme.FLAG,
            dimensions=catalogues.HONGQI_DIMENSIONS,
            targets=XIAXIAN_TARGETS,
            seed=SEED + 3,
            report=report,
            log=log,
        )
    with transaction.atomic():
        _ensure_users(neihuang, report)
    return report


# --- places -------------------------------------------------------------------------------


@dataclass
class County:
    region: Region
    townships: list[Region]
    units: list[Unit]
    departments: dict[str, Department]


def _ensure_rows(
    model: type[_M], key: str, rows: list[dict[str, Any]], report: DemoReport, label: str
) -> dict[str, _M]:
    """Bulk-create the rows whose `key` value is not in the table yet; return key -> object."""
    keys = [row[key] for row in rows]
    existing = {getattr(o, key): o for o in model.objects.filter(**{f"{key}__in": keys})}
    missing = [model(**row) for row in rows if row[key] not in existing]
    if missing:
        model.objects.bulk_create(missing, batch_size=BATCH)
        report.add(label, len(missing))
        existing = {getattr(o, key): o for o in model.objects.filter(**{f"{key}__in": keys})}
    return existing


def _ensure_county(spec: dict, seed: int, report: DemoReport) -> County:
    rng = random.Random(seed)
    (p_code, p_name), (c_code, c_name), (k_code, k_name) = (
        spec["province"],
        spec["city"],
        spec["county"],
    )
    province = _ensure_rows(
        Region,
        "code",
        [dict(code=p_code, name=p_name, level=RegionLevel.PROVINCE)],
        report,
        "regions",
    )[p_code]
    city = _ensure_rows(
        Region,
        "code",
        [dict(code=c_code, name=c_name, level=RegionLevel.CITY, parent=province)],
        report,
        "regions",
    )[c_code]
    county = _ensure_rows(
        Region,
        "code",
        [dict(code=k_code, name=k_name, level=RegionLevel.COUNTY, parent=city)],
        report,
        "regions",
    )[k_code]

    township_rows, unit_rows = [], []
    taken: set[str] = set()
    for index, (t_name, n_villages, n_communities, fixed) in enumerate(spec["townships"]):
        # Towns (镇) are numbered from 100, townships (乡) from 200, as in the national scheme.
        serial = (100 if t_name.endswith("镇") else 200) + index
        t_code = k_code[:6] + f"{serial:03d}" + "000"
        township_rows.append(
            dict(code=t_code, name=t_name, level=RegionLevel.TOWNSHIP, parent=county)
        )
        names = places.community_names(rng, n_communities, taken)
        for i, name in enumerate(names, start=1):
            unit_rows.append((t_code, f"{i:03d}", name, UnitKind.COMMUNITY))
        for i, name in enumerate(places.village_names(rng, n_villages, taken, fixed), start=200):
            unit_rows.append((t_code, f"{i:03d}", name, UnitKind.VILLAGE))
    townships = _ensure_rows(Region, "code", township_rows, report, "regions")

    rows = []
    for t_code, serial, name, kind in unit_rows:
        population = (
            rng.randint(3000, 12000) if kind == UnitKind.COMMUNITY else rng.randint(600, 4200)
        )
        rows.append(
            dict(
                code=t_code[:9] + serial,
                name=name,
                kind=kind,
                township=townships[t_code],
                population=population,
                households=population // rng.randint(3, 4),
                party_members=max(12, population // rng.randint(25, 45)),
                secretary_name=places.person_name(rng),
                secretary_phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
            )
        )
    units = _ensure_rows(Unit, "code", rows, report, "units")
    departments = {
        d.name: d for d in _ensure_department_rows(county, catalogues.DEPARTMENTS, report)
    }
    return County(
        region=county,
        townships=sorted(townships.values(), key=lambda r: r.code),
        units=sorted(units.values(), key=lambda u: u.code),
        departments=departments,
    )


def _ensure_department_rows(
    county: Region, names: list[str], report: DemoReport
) -> list[Department]:
    existing = set(Department.objects.filter(region=county).values_list("name", flat=True))
    missing = [Department(region=county, name=n) for n in names if n not in existing]
    if missing:
        Department.objects.bulk_create(missing)
        report.add("departments", len(missing))
    return list(Department.objects.filter(region=county, name__in=names))


# --- campaign ------------------------------------------------------------------------------


def _spread_points(n: int, total: int = 100) -> list[Decimal]:
    """Split `total` points over n items as evenly as whole numbers allow, larger ones first."""
    base, extra = divmod(total, n)
    return [Decimal(base + (1 if i < extra else 0)) for i in range(n)]


def _ensure_campaign(
    county: County,
    *,
    slug: str,
    name: str,
    scheme: str,
    dimensions: list[_DimensionSpec],
    targets: dict[int, int],
    seed: int,
    report: DemoReport,
    log: Callable[[str], None],
) -> None:
    if Campaign.objects.filter(slug=slug).exists():
        report.skipped.append(slug)
        log(f"{slug}: exists, left unchanged")
        return
    rng = random.Random(seed)
    campaign = Campaign.objects.create(
        name=name,
        slug=slug,
        scheme=scheme,
        year=2026,
        region=county.region,
        status=CampaignStatus.ACTIVE,
        threshold=Decimal("90"),
        description=name,
    )
    report.add("campaigns", 1)
    dims = _create_catalogue(campaign, county, dimensions)
    report.add("dimensions", len(dims))
    report.add("indicators", sum(len(d.indicator_list) for d in dims))

    LevelTarget.objects.bulk_create(
        LevelTarget(campaign=campaign, region=county.region, level=level, count=count)
        for level, count in targets.items()
    )
    intended = _intended_levels(rng, county.units, targets)
    UnitTarget.objects.bulk_create(
        [
            UnitTarget(
                campaign=campaign,
                unit=unit,
                recommended_level=min(5, intended[unit.id] + (1 if rng.random() < 0.15 else 0)),
                recommended_at=aware(dt.date(2026, 1, 10)),
                decided_level=intended[unit.id],
                decided_at=aware(dt.date(2026, 1, 20)),
            )
            for unit in county.units
        ],
        batch_size=BATCH,
    )
    bases = _dimension_bases(rng, county.units, dims, intended)

    held: dict[tuple[int, int], Period] = {}  # (unit, dimension) -> period it was gained in
    for quarter in (1, 2, 3, 4):
        period = _create_period(campaign, quarter)
        report.add("periods", 1)
        results = _build_period(rng, campaign, period, quarter, county, dims, bases, report)
        # Q1 and Q2 have been adjusted (调旗); Q3 is final and waits for its adjustment run.
        if quarter in (1, 2):
            _apply_adjustment(period, quarter, results, held, dims, report)
        log(f"{slug} {period.label}: done")
    Holding.objects.bulk_create(
        [
            Holding(
                unit_id=unit_id,
                dimension_id=dim_id,
                since_period=period,
                since=_adjusted_at(period),
            )
            for (unit_id, dim_id), period in held.items()
        ],
        batch_size=BATCH,
    )
    report.add("holdings", len(held))


def _create_catalogue(
    campaign: Campaign, county: County, dimensions: list[_DimensionSpec]
) -> list[Dimension]:
    dims = []
    for order, (code, name, applies_to, *_rest) in enumerate(dimensions):
        dims.append(
            Dimension(
                campaign=campaign,
                code=code,
                name=name,
                applies_to=applies_to,
                order=order,
                bonus_cap=BONUS_MAX,
            )
        )
    Dimension.objects.bulk_create(dims)
    dims = list(campaign.dimensions.order_by("order"))
    indicators = []
    for n, (dim, spec) in enumerate(zip(dims, dimensions, strict=True), start=1):
        code, _name, _applies, lead, titles, veto, bonus = spec
        secondary = catalogues.SECONDARY_DEPARTMENTS.get(code, {})
        for i, (title, points) in enumerate(
            zip(titles, _spread_points(len(titles)), strict=True), start=1
        ):
            step = "0.5"
            indicators.append(
                Indicator(
                    dimension=dim,
                    code=f"{n}.{i}",
                    title=title,
                    rule_text=catalogues.RULE_TEMPLATE.format(title=title, step=step),
                    max_points=points,
                    kind=IndicatorKind.POINTS,
                    order=i,
                    lead_department=county.departments[secondary.get(i, lead)],
                )
            )
        indicators.append(
            Indicator(
                dimension=dim,
                code=f"{n}.{len(titles) + 1}",
                title=veto,
                rule_text=catalogues.VETO_RULE,
                max_points=Decimal("0"),
                kind=IndicatorKind.VETO,
                order=len(titles) + 1,
                lead_department=county.departments[lead],
            )
        )
        indicators.append(
            Indicator(
                dimension=dim,
                code=f"{n}.{len(titles) + 2}",
                title=bonus,
                rule_text=catalogues.BONUS_RULE,
                max_points=BONUS_MAX,
                kind=IndicatorKind.BONUS,
                order=len(titles) + 2,
                lead_department=county.departments[lead],
            )
        )
    Indicator.objects.bulk_create(indicators)
    by_dim: dict[int, list[Indicator]] = {d.id: [] for d in dims}
    for ind in Indicator.objects.filter(dimension__campaign=campaign).order_by("order"):
        by_dim[ind.dimension_id].append(ind)
    for dim in dims:
        dim.indicator_list = by_dim[dim.id]
    return dims


def _intended_levels(
    rng: random.Random, units: list[Unit], targets: dict[int, int]
) -> dict[int, int]:
    """Deal the county's target levels out over its units at random (the rest aim for 0)."""
    order = units[:]
    rng.shuffle(order)
    levels: list[int] = []
    for level in sorted(targets, reverse=True):
        levels += [level] * targets[level]
    levels += [0] * max(0, len(order) - len(levels))
    return {unit.id: levels[i] for i, unit in enumerate(order)}


def _applies(dim: Dimension, kind: str) -> bool:
    return dim.applies_to in (AppliesTo.BOTH, kind)


def _dimension_bases(
    rng: random.Random, units: list[Unit], dims: list[Dimension], intended: dict[int, int]
) -> dict[tuple[int, int], float]:
    """Give each unit × dimension an underlying quality: strong where it aims to hold the level,
    weak elsewhere, and a few on the edge of the threshold so flags move between quarters."""
    bases = {}
    for unit in units:
        mine = [d for d in dims if _applies(d, unit.kind)]
        strong = set(d.id for d in rng.sample(mine, min(intended[unit.id], len(mine))))
        for dim in mine:
            if rng.random() < 0.05:
                base = rng.uniform(0.885, 0.91)
            elif dim.id in strong:
                base = rng.uniform(0.93, 0.97)
            else:
                base = rng.uniform(0.76, 0.865)
            bases[(unit.id, dim.id)] = base
    return bases


def _create_period(campaign: Campaign, quarter: int) -> Period:
    start, end = QUARTERS[quarter]
    after = end + dt.timedelta(days=1)
    if quarter == 4:
        dues = (dt.date(2026, 11, 15), dt.date(2026, 12, 5), dt.date(2026, 12, 20))
    else:
        dues = (
            after + dt.timedelta(days=5),
            after + dt.timedelta(days=12),
            after + dt.timedelta(days=22),
        )
    return Period.objects.create(
        campaign=campaign,
        label=f"2026Q{quarter}",
        starts_on=start,
        ends_on=end,
        catalogue_version=campaign.catalogue_version,
        self_due=dues[0],
        township_due=dues[1],
        county_due=dues[2],
        opened_at=aware(start, 9),
    )


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _county_value(rng: random.Random, quality: float, ind: Indicator) -> Decimal:
    """Points the county gives: full marks less a Poisson number of deduction steps."""
    maximum = ind.max_points
    step = Decimal("0.5")
    lam = max(0.0, (1 - quality)) * float(maximum) / float(step)
    lost = step * _poisson(rng, lam)
    return max(Decimal("0"), maximum - lost)


def _lenient(rng: random.Random, value: Decimal, maximum: Decimal, chance: float) -> Decimal:
    """A lower stage's view: the same, or some of the deducted points given back."""
    if value >= maximum or rng.random() > chance:
        return value
    return min(maximum, value + Decimal(rng.choice(("0.5", "1", "1", "2"))))


@dataclass
class Q4Plan:
    stage: str
    self_share: float  # share of indicators filled in at each stage
    township_share: float
    county_share: float
    returned: bool = False


def _q4_plan(rng: random.Random, unit: Unit) -> Q4Plan:
    """Where a unit stands in the quarter under way. A stage that was submitted passed its
    scores on (carried), so stages before the current one are complete; only the village's own
    self-assessment can be part-filled."""
    if unit.name == DEMO_UNIT:
        return Q4Plan(Stage.SELF, 0.6, 0, 0)
    r = rng.random()
    if r < 0.08:
        return Q4Plan(Stage.SELF, 0, 0, 0)
    if r < 0.30:
        return Q4Plan(Stage.SELF, rng.choice((0.3, 0.7, 1.0)), 0, 0)
    if r < 0.38:
        return Q4Plan(Stage.SELF, 1.0, 1.0, 0, returned=True)
    if r < 0.72:
        return Q4Plan(Stage.TOWNSHIP, 1.0, 1.0, 0)
    return Q4Plan(Stage.COUNTY, 1.0, 1.0, 1.0)


RETURN_REASONS = [
    "佐证材料不全,请补充会议记录和照片后重新提交",
    "自评分数偏高,请对照评分细则逐项核实",
    "部分指标未填写说明,请补充扣分原因",
]


def _build_period(
    rng: random.Random,
    campaign: Campaign,
    period: Period,
    quarter: int,
    county: County,
    dims: list[Dimension],
    bases: dict[tuple[int, int], float],
    report: DemoReport,
) -> _Results:
    """Create one period's assessments, scores, audit rows, events and rectification items.

    Returns the county-stage dimension results of final assessments:
    {(unit_id, dim_id): (assessment, DimensionResult)}.
    """
    final = quarter < 4
    stages = campaign.stages()
    plans = {u.id: (None if final else _q4_plan(rng, u)) for u in county.units}
    finalised_at = aware(period.county_due - dt.timedelta(days=rng.randint(0, 4)), 16)
    assessments = []
    for unit in county.units:
        plan = plans[unit.id]
        stage = Stage.FINAL if final else plan.stage
        a = Assessment(period=period, unit=unit, stage=stage, version=4 if final else 2)
        if final:
            a.finalised_at = finalised_at
        elif plan.returned:
            a.returned_reason = rng.choice(RETURN_REASONS)
            a.returned_at = aware(dt.date(2026, 11, 17), 15)
        assessments.append(a)
    Assessment.objects.bulk_create(assessments, batch_size=BATCH)
    report.add("assessments", len(assessments))
    assessments = list(period.assessments.select_related("unit"))

    if final:
        stage_times = {
            ScoreStage.SELF: aware(period.self_due - dt.timedelta(days=2)),
            ScoreStage.TOWNSHIP: aware(period.township_due - dt.timedelta(days=2)),
            ScoreStage.COUNTY: aware(period.county_due - dt.timedelta(days=3)),
        }
    else:
        stage_times = {
            s: aware(TODAY - dt.timedelta(days=d))
            for s, d in ((ScoreStage.SELF, 8), (ScoreStage.TOWNSHIP, 4), (ScoreStage.COUNTY, 1))
        }
    db_times = {s: _db_datetime(t) for s, t in stage_times.items()}
    full = {ScoreStage.SELF: 1, ScoreStage.TOWNSHIP: 1, ScoreStage.COUNTY: 1}
    notes = catalogues.DEDUCTION_NOTES
    results = {}
    score_rows: list[tuple] = []  # (assessment, indicator, stage, value, vetoed, note)
    lost_rows: list[tuple] = []  # (assessment, indicator, points lost, note)
    for a in assessments:
        unit = a.unit
        plan = plans[unit.id]
        shares = (
            full
            if final
            else {
                ScoreStage.SELF: plan.self_share,
                ScoreStage.TOWNSHIP: plan.township_share,
                ScoreStage.COUNTY: plan.county_share,
            }
        )
        for dim in dims:
            if not _applies(dim, unit.kind):
                continue
            quality = bases[(unit.id, dim.id)] + TREND[quarter] + rng.gauss(0, 0.008)
            points, vetoes, bonus = [], [], []
            for ind in dim.indicator_list:
                note = ""
                if ind.kind == IndicatorKind.VETO:
                    vetoed = rng.random() < 0.006
                    vetoes.append(vetoed)
                    values = {
                        ScoreStage.COUNTY: vetoed,
                        ScoreStage.TOWNSHIP: vetoed,
                        ScoreStage.SELF: False,
                    }
                elif ind.kind == IndicatorKind.BONUS:
                    extra = BONUS_MAX if rng.random() < 0.05 else Decimal("0")
                    bonus.append(extra)
                    values = dict.fromkeys(ScoreStage.values, extra)
                else:
                    county_p = _county_value(rng, quality, ind)
                    township_p = _lenient(rng, county_p, ind.max_points, 0.3)
                    self_p = _lenient(rng, township_p, ind.max_points, 0.5)
                    values = {
                        ScoreStage.COUNTY: county_p,
                        ScoreStage.TOWNSHIP: township_p,
                        ScoreStage.SELF: self_p,
                    }
                    points.append((county_p, ind.max_points))
                    if county_p < ind.max_points:
                        note = rng.choice(notes)
                        if final:
                            lost_rows.append((a.id, ind.id, ind.max_points - county_p, note))
                for stage in stages:
                    if shares[stage] < 1 and rng.random() >= shares[stage]:
                        continue
                    value = values[stage]
                    if ind.kind == IndicatorKind.VETO:
                        row = (
                            a.id,
                            ind.id,
                            stage,
                            None,
                            value,
                            "经核查存在否决情形" if value else "",
                        )
                    else:
                        deducted = ind.kind == IndicatorKind.POINTS and value < ind.max_points
                        row = (a.id, ind.id, stage, value, None, note if deducted else "")
                    score_rows.append(row)
            if final:
                results[(unit.id, dim.id)] = (
                    a,
                    dimension_result(points, vetoes, bonus, dim.bonus_cap, dim.effective_threshold),
                )
    _write_scores(period, score_rows, db_times, report)
    _write_events(assessments, plans, period, final, stages, report)
    if final:
        _write_rectifications(rng, period, quarter, lost_rows, report)
    return results


def _db_datetime(value: dt.datetime) -> object:
    return connection.ops.adapt_datetimefield_value(value)


def _fast_insert(model: type[models.Model], fields: list[str], rows: list[tuple]) -> None:
    """Insert plain value tuples in large batches, skipping model instances entirely.

    The demo writes about a million rows (scores and their audit); building model instances and
    compiling bulk_create's SQL costs most of a minute on SQLite, a prepared executemany (or
    PostgreSQL's COPY) a few seconds. Values must already be database-ready.
    """
    if not rows:
        return
    qn = connection.ops.quote_name
    meta = model._meta
    columns = ", ".join(qn(meta.get_field(f).column) for f in fields)
    table = qn(meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY is the fastest way into PostgreSQL: one stream, no per-row statements.
            for start in range(0, len(rows), BATCH * 10):
                buffer = io.StringIO()
                for row in rows[start : start + BATCH * 10]:
                    buffer.write("\t".join(_copy_value(v) for v in row))
                    buffer.write("\n")
                buffer.seek(0)
                cursor.cursor.copy_expert(
                    f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT text)", buffer
                )
        else:
            marks = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
            for start in range(0, len(rows), BATCH):
                cursor.executemany(sql, rows[start : start + BATCH])


def _copy_value(value: object) -> str:
    """Render one value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _write_scores(
    period: Period, score_rows: list[tuple], db_times: dict[str, object], report: DemoReport
) -> None:
    """Insert the period's scores and, in the same transaction, the audit row of each
    (nothing → value, source demo)."""
    _fast_insert(
        Score,
        ["assessment", "indicator", "stage", "value", "vetoed", "note", "version", "updated_at"],
        [(*row, 1, db_times[row[2]]) for row in score_rows],
    )
    ids = {
        (a, i, s): pk
        for pk, a, i, s in Score.objects.filter(assessment__period=period).values_list(
            "id", "assessment_id", "indicator_id", "stage"
        )
    }
    _fast_insert(
        ScoreChange,
        [
            "score",
            "assessment",
            "indicator",
            "stage",
            "new_value",
            "new_vetoed",
            "note",
            "source",
            "after_submission",
            "changed_at",
        ],
        [
            (
                ids[(a, i, s)],
                a,
                i,
                s,
                value,
                vetoed,
                note,
                ChangeSource.DEMO.value,
                False,
                db_times[s],
            )
            for a, i, s, value, vetoed, note in score_rows
        ],
    )
    report.add("scores", len(score_rows))
    report.add("score changes", len(score_rows))


def _write_events(
    assessments: list[Assessment],
    plans: dict[int, Q4Plan | None],
    period: Period,
    final: bool,
    stages: list[str],
    report: DemoReport,
) -> None:
    """Record the transitions each assessment went through to reach its stage."""
    order = [*stages, Stage.FINAL]
    if final:
        submitted = {
            Stage.SELF: aware(period.self_due, 9),
            Stage.TOWNSHIP: aware(period.township_due, 9),
            Stage.COUNTY: aware(period.county_due, 9),
        }
    else:
        submitted = {s: aware(TODAY - dt.timedelta(days=6 - i)) for i, s in enumerate(stages)}
    events = []
    for a in assessments:
        for before, after in itertools.pairwise(order):
            if order.index(before) >= order.index(a.stage):
                break
            if after == Stage.FINAL:
                kind, at = AssessmentEventKind.FINALISE, a.finalised_at
            else:
                kind, at = AssessmentEventKind.SUBMIT, submitted[before]
            events.append(
                AssessmentEvent(assessment=a, kind=kind, from_stage=before, to_stage=after, at=at)
            )
        if not final and plans[a.unit_id].returned:
            events.append(
                AssessmentEvent(
                    assessment=a,
                    kind=AssessmentEventKind.SUBMIT,
                    from_stage=Stage.SELF,
                    to_stage=Stage.TOWNSHIP,
                    at=aware(TODAY - dt.timedelta(days=7)),
                )
            )
            events.append(
                AssessmentEvent(
                    assessment=a,
                    kind=AssessmentEventKind.RETURN,
                    from_stage=Stage.TOWNSHIP,
                    to_stage=Stage.SELF,
                    reason=a.returned_reason,
                    at=a.returned_at,
                )
            )
    AssessmentEvent.objects.bulk_create(events, batch_size=BATCH)
    report.add("assessment events", len(events))


def _write_rectifications(
    rng: random.Random, period: Period, quarter: int, lost_rows: list[tuple], report: DemoReport
) -> None:
    """Every deduction in the final (county) stage becomes a lost-points item (失分清单)."""
    deadline = period.ends_on + dt.timedelta(days=rng.choice((45, 52, 60)))
    created = aware(period.county_due + dt.timedelta(days=2))
    items = []
    for assessment_id, indicator_id, lost, note in lost_rows:
        item = RectificationItem(
            assessment_id=assessment_id,
            indicator_id=indicator_id,
            points_lost=lost,
            lost_note=note,
            responsible_person=places.person_name(rng),
            measure="对照评分细则补齐短板,完善台账资料,限期整改到位",
            deadline=deadline + dt.timedelta(days=rng.randint(-10, 10)),
            created_at=created,
        )
        _rectification_status(rng, item, quarter)
        items.append(item)
    RectificationItem.objects.bulk_create(items, batch_size=BATCH)
    report.add("rectification items", len(items))


def _rectification_status(rng: random.Random, item: RectificationItem, quarter: int) -> None:
    """Older quarters are mostly closed out; the latest is still being worked on."""
    r = rng.random()
    closed_share = {1: 0.97, 2: 0.85, 3: 0.25}[quarter]
    reported_share = {1: 0.99, 2: 0.95, 3: 0.55}[quarter]
    verified_share = {1: 0.98, 2: 0.9, 3: 0.4}[quarter]
    done_day = min(item.deadline - dt.timedelta(days=rng.randint(1, 20)), TODAY)
    if r < reported_share:
        item.status = RectificationStatus.REPORTED
        item.report_note = "已按要求完成整改,佐证材料已上传"
        item.reported_at = aware(done_day, 11)
    if r < verified_share:
        item.status = RectificationStatus.VERIFIED
        item.verified_at = aware(min(done_day + dt.timedelta(days=2), TODAY), 15)
    if r < closed_share:
        item.status = RectificationStatus.CLOSED
        item.closed_at = aware(min(done_day + dt.timedelta(days=5), TODAY), 17)


def _adjusted_at(period: Period) -> dt.datetime:
    return aware(period.county_due + dt.timedelta(days=6), 10)


def _apply_adjustment(
    period: Period,
    quarter: int,
    results: _Results,
    held: dict[tuple[int, int], Period],
    dims: list[Dimension],
    report: DemoReport,
) -> None:
    """Decide gains and losses for a finished quarter, as the county's 调旗 would have."""
    changes = []
    decided_at = _adjusted_at(period)
    for (unit_id, dim_id), (_a, result) in results.items():
        key = (unit_id, dim_id)
        if result.reaches and key not in held:
            held[key] = period
            kind, reason = HoldingChangeKind.AWARD, "单项得分达到90分以上"
        elif not result.reaches and key in held:
            del held[key]
            kind = HoldingChangeKind.WITHDRAW
            reason = "触发否决项" if result.vetoed else "单项得分低于90分"
        else:
            continue
        changes.append(
            HoldingChange(
                unit_id=unit_id,
                dimension_id=dim_id,
                period=period,
                kind=kind,
                score=result.score,
                reason=reason,
                decided_at=decided_at,
            )
        )
    HoldingChange.objects.bulk_create(changes, batch_size=BATCH)
    report.add("holding changes", len(changes))


# --- users ---------------------------------------------------------------------------------


def _ensure_users(county: County, report: DemoReport) -> None:
    township = next(t for t in county.townships if t.name == DEMO_TOWNSHIP)
    unit = next(u for u in county.units if u.name == DEMO_UNIT and u.township_id == township.id)
    places_by_key = {
        "county": dict(region=county.region),
        "township": dict(region=township),
        "unit": dict(unit=unit),
        "department": dict(department=county.departments[DEMO_DEPARTMENT]),
    }
    existing = set(
        User.objects.filter(username__in=[u[0] for u in DEMO_USERS] + ["demo_admin"]).values_list(
            "username", flat=True
        )
    )
    for username, role, display, key in DEMO_USERS:
        report.users.append((username, str(role.label), display))
        if username in existing:
            continue
        user = User(username=username, role=role, first_name=display, **places_by_key[key])
        user.set_password(DEMO_PASSWORD)
        user.save()
        report.add("users", 1)
    report.users.append(("demo_admin", "superuser", "系统管理员"))
    if "demo_admin" not in existing:
        User.objects.create_superuser("demo_admin", password=DEMO_PASSWORD, first_name="系统管理员")
        report.add("users", 1)
