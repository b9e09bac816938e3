"""Generate a benchmark world at county, city or province scale on PostgreSQL.

Everything lives under a fake province with division code 99xxxxxxxxxx and a campaign whose slug
starts with `bench-`, so the bench can tell its own rows from anything else.

Shape (per unit): 100 applicable indicators (villages and communities have catalogues of their
own, five dimensions of 20 each, so a score sheet has 200 indicator columns), four quarters of
2026: Q1–Q3 final with self, township and county scores, Q4 at the township stage with self and
township scores. Holdings and their history come from the Q1 and Q2 adjustments; every county
deduction of a final quarter is a rectification item.

Small tables go through the ORM. The big ones (assessments, scores, events, rectification items,
holdings) are streamed into COPY from generators: memory stays flat at any scale. Values come
from a few hundred pre-rendered "profiles" (a unit's scores for one quarter), so generating a
row is a string substitution, not Python arithmetic. For each big table that is empty before the
load, its secondary indexes, unique and foreign-key constraints are dropped, the data copied and
the very same definitions re-created (and so re-validated) in the same transaction: the schema
the app relies on is exactly what the migrations made, which `schema_fingerprint` checks.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
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
from scoring.models import (
    Assessment,
    AssessmentEvent,
    Holding,
    HoldingChange,
    Period,
    RectificationItem,
    Score,
    ScoreStage,
    Stage,
)
from scoring.rules import dimension_result
from villages.models import Department, Region, RegionLevel, Role, Unit, UnitKind, User

PROVINCE_CODE = "990000000000"
SLUG_PREFIX = "bench-"
USER_PREFIX = "bench_"
TOWNSHIP_USER = "bench_township"
COUNTY_USER = "bench_county"
ADMIN_USER = "bench_admin"
YEAR = 2026
QUARTERS = (1, 2, 3, 4)
DIMENSIONS_PER_KIND = 5
INDICATORS_PER_DIMENSION = 20  # 18 points items adding up to 100, one veto, one bonus
BONUS_MAX = Decimal("5")
PROFILES_PER_KIND = 64
UNITS_PER_COUNTY = 500
COUNTIES_PER_CITY = 10
UNITS_PER_TOWNSHIP = 31
SEED = 99

QUARTER_DATES = {
    1: (dt.date(YEAR, 1, 1), dt.date(YEAR, 3, 31)),
    2: (dt.date(YEAR, 4, 1), dt.date(YEAR, 6, 30)),
    3: (dt.date(YEAR, 7, 1), dt.date(YEAR, 9, 30)),
    4: (dt.date(YEAR, 10, 1), dt.date(YEAR, 12, 31)),
}
TREND = {1: -0.012, 2: -0.004, 3: 0.004, 4: 0.007}
DEDUCTION_NOTES = [
    "会议记录不全,佐证材料缺失",
    "台账资料未及时更新",
    "群众满意度调查未达标",
    "整改措施落实不到位",
    "宣传栏内容更新不及时",
    "制度上墙但执行记录不完整",
]
MEASURE = "对照评分细则补齐短板,完善台账资料,限期整改到位"
PEOPLE = ["王建国", "李秀英", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄敏"]


@dataclass(frozen=True)
class ScaleSpec:
    """How big a world is: all units, and the measured county and township inside it."""

    name: str
    units: int
    county_units: int = 532  # 内黄县: 532 villages and communities
    county_townships: int = 17
    township_units: int = 50


SCALES = {
    "smoke": ScaleSpec("smoke", units=24, county_units=24, county_townships=2, township_units=12),
    "county": ScaleSpec("county", units=532),
    "city": ScaleSpec("city", units=5000),
    "province": ScaleSpec("province", units=47000),
}


# --- layout ---------------------------------------------------------------------------------


@dataclass
class CountyPlan:
    code: str
    name: str
    townships: list[tuple[str, str, int]]  # code, name, units


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def layout(spec: ScaleSpec) -> list[list[CountyPlan]]:
    """Cities of counties of townships with their unit counts; the first county of the first
    city is the measured county, its first township the measured township."""
    counties = [spec.county_units]
    rest = spec.units - spec.county_units
    if rest > 0:
        counties += _split(rest, max(1, round(rest / UNITS_PER_COUNTY)))
    plans: list[CountyPlan] = []
    for index, n_units in enumerate(counties):
        city_no, county_no = divmod(index, COUNTIES_PER_CITY)
        code = f"99{city_no + 1:02d}{county_no + 1:02d}000000"
        if index == 0:
            sizes = [
                spec.township_units,
                *_split(n_units - spec.township_units, spec.county_townships - 1),
            ]
        else:
            sizes = _split(n_units, max(1, round(n_units / UNITS_PER_TOWNSHIP)))
        townships = [
            (code[:6] + f"{100 + t:03d}000", f"基准{index + 1}县{t + 1}镇", n)
            for t, n in enumerate(sizes)
        ]
        plans.append(CountyPlan(code, f"基准{index + 1}县", townships))
    return [plans[i : i + COUNTIES_PER_CITY] for i in range(0, len(plans), COUNTIES_PER_CITY)]


def campaign_region_code(spec: ScaleSpec) -> str:
    """The region a scale's campaign covers: the county, the city, or the whole province."""
    cities = layout(spec)
    if len(cities) > 1:
        return PROVINCE_CODE
    if len(cities[0]) > 1:
        return cities[0][0].code[:4] + "0" * 8
    return cities[0][0].code


# --- COPY -----------------------------------------------------------------------------------


class _Stream:
    """A file-like object over a generator of text chunks, for psycopg2's copy_expert."""

    def __init__(self, chunks: Iterable[str]):
        self._chunks = iter(chunks)
        self._buffer = bytearray()

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk.encode()
        if size < 0:
            size = len(self._buffer)
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out


def _columns(model, fields: list[str]) -> str:
    qn = connection.ops.quote_name
    return ", ".join(qn(model._meta.get_field(f).column) for f in fields)


def copy_rows(model, fields: list[str], chunks: Iterable[str]) -> None:
    """COPY text-format lines (tab-separated, \\N for NULL) streamed from `chunks`."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {table} ({_columns(model, fields)}) FROM STDIN WITH (FORMAT text)",
            _Stream(chunks),
            size=1 << 20,
        )


def _ts(value: dt.datetime) -> str:
    return value.isoformat()


def _aware(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _num(value: Decimal) -> str:
    return f"{value:f}"


@dataclass
class DeferredSchema:
    """Secondary indexes and unique / foreign-key constraints of a table, dropped for a load."""

    table: str
    indexes: list[tuple[str, str]] = field(default_factory=list)
    constraints: list[tuple[str, str, str]] = field(default_factory=list)  # name, type, def


def schema_defer(table: str) -> DeferredSchema:
    """Drop what makes a bulk load slow (to be restored by schema_restore in the same
    transaction). The primary key and check constraints stay."""
    schema = DeferredSchema(table)
    with connection.cursor() as cursor:
        # Deferred foreign-key checks of the rows inserted so far must run before the DDL.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('u', 'f') "
            "ORDER BY contype DESC, conname",
            [table],
        )
        schema.constraints = [(n, t, d) for n, t, d in cursor.fetchall()]
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid "
            "AND c.conrelid = x.indrelid) ORDER BY i.relname",
            [table],
        )
        schema.indexes = cursor.fetchall()
        qn = connection.ops.quote_name
        for name, _type, _definition in schema.constraints:
            cursor.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
        for name, _definition in schema.indexes:
            cursor.execute(f"DROP INDEX {qn(name)}")
    return schema


def schema_restore(schema: DeferredSchema) -> None:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for _name, definition in schema.indexes:
            cursor.execute(definition)
        for name, _type, definition in schema.constraints:  # unique first, then foreign keys
            cursor.execute(f"ALTER TABLE {qn(schema.table)} ADD CONSTRAINT {qn(name)} {definition}")


def schema_fingerprint() -> list[str]:
    """Every index and constraint definition of the app's tables, to prove a load changed none."""
    tables = sorted(
        model._meta.db_table
        for model in (Assessment, Score, AssessmentEvent, RectificationItem, Holding, HoldingChange)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname || ': ' || pg_get_indexdef(x.indexrelid) FROM pg_index x "
            "JOIN pg_class c ON c.oid = x.indrelid WHERE c.relname = ANY(%s) "
            "UNION ALL SELECT c.relname || ': ' || k.conname || ' ' || pg_get_constraintdef(k.oid) "
            "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid WHERE c.relname = ANY(%s) "
            "ORDER BY 1",
            [tables, tables],
        )
        return [row[0] for row in cursor.fetchall()]


# --- profiles: one unit's scores in one quarter, pre-rendered -------------------------------


@dataclass
class Profile:
    """A unit's scores for one quarter, as COPY lines with placeholders for the ids."""

    score_lines: str  # "\x00" stands for the assessment id (score ids are the id + 3 digits)
    score_count: int
    results: dict[int, object]  # dimension id -> county DimensionResult
    item_lines: str  # rectification items, same placeholder
    item_count: int
    level: int = 0


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _county_value(rng, quality: float, maximum: Decimal) -> Decimal:
    step = Decimal("0.5")
    lam = max(0.0, 1 - quality) * float(maximum) / float(step)
    return max(Decimal("0"), maximum - step * _poisson(rng, lam))


def _lenient(rng, value: Decimal, maximum: Decimal, chance: float) -> Decimal:
    if value >= maximum or rng.random() > chance:
        return value
    return min(maximum, value + Decimal(rng.choice(("0.5", "1", "1", "2"))))


def stage_times(period: Period) -> dict[str, dt.datetime]:
    if period.label.endswith("Q4"):
        today = dt.date(YEAR, 11, 21)
        return {
            ScoreStage.SELF: _aware(today - dt.timedelta(days=8)),
            ScoreStage.TOWNSHIP: _aware(today - dt.timedelta(days=4)),
            ScoreStage.COUNTY: _aware(today - dt.timedelta(days=1)),
        }
    return {
        ScoreStage.SELF: _aware(period.self_due - dt.timedelta(days=2)),
        ScoreStage.TOWNSHIP: _aware(period.township_due - dt.timedelta(days=2)),
        ScoreStage.COUNTY: _aware(period.county_due - dt.timedelta(days=3)),
    }


def build_profiles(
    dims_by_kind: dict[str, list[Dimension]],
    indicators: dict[int, list[Indicator]],
    periods: dict[int, Period],
) -> dict[tuple[str, int, int], Profile]:
    """(kind, profile number, quarter) -> Profile, deterministic."""
    profiles = {}
    for kind, dims in dims_by_kind.items():
        for number in range(PROFILES_PER_KIND):
            rng = random.Random(f"{SEED}-{kind}-{number}")
            strong = set(d.id for d in rng.sample(dims, rng.choice((0, 1, 2, 2, 3, 3, 3, 4, 4, 5))))
            bases = {}
            for dim in dims:
                if dim.id in strong:
                    bases[dim.id] = rng.uniform(0.93, 0.975)
                elif rng.random() < 0.12:
                    bases[dim.id] = rng.uniform(0.885, 0.91)
                else:
                    bases[dim.id] = rng.uniform(0.76, 0.865)
            for quarter in QUARTERS:
                profile = _render_profile(
                    rng, kind, dims, indicators, bases, quarter, periods.get(quarter)
                )
                profile.level = len(strong)
                profiles[(kind, number, quarter)] = profile
    return profiles


def _render_profile(rng, kind, dims, indicators, bases, quarter, period) -> Profile:
    final = quarter != 4
    stages = (
        [ScoreStage.SELF, ScoreStage.TOWNSHIP, ScoreStage.COUNTY]
        if final
        else [
            ScoreStage.SELF,
            ScoreStage.TOWNSHIP,
        ]
    )
    times = {s: _ts(t) for s, t in stage_times(period).items()} if period else {}
    lines: list[str] = []
    items: list[str] = []
    results = {}
    if period is not None and final:
        deadline_base = period.ends_on + dt.timedelta(days=50)
        created = _ts(_aware(period.county_due + dt.timedelta(days=2)))
    for dim in dims:
        quality = bases[dim.id] + TREND[quarter] + rng.gauss(0, 0.008)
        points, vetoes, bonus = [], [], []
        for ind in indicators[dim.id]:
            note = ""
            if ind.kind == IndicatorKind.VETO:
                vetoed = rng.random() < 0.006
                vetoes.append(vetoed)
                values = {
                    ScoreStage.SELF: False,
                    ScoreStage.TOWNSHIP: vetoed,
                    ScoreStage.COUNTY: vetoed,
                }
            elif ind.kind == IndicatorKind.BONUS:
                extra = BONUS_MAX if rng.random() < 0.05 else Decimal("0")
                bonus.append(extra)
                values = dict.fromkeys(ScoreStage.values, extra)
            else:
                county = _county_value(rng, quality, ind.max_points)
                township = _lenient(rng, county, ind.max_points, 0.3)
                values = {
                    ScoreStage.COUNTY: county,
                    ScoreStage.TOWNSHIP: township,
                    ScoreStage.SELF: _lenient(rng, township, ind.max_points, 0.5),
                }
                points.append((county, ind.max_points))
                if county < ind.max_points:
                    note = rng.choice(DEDUCTION_NOTES)
                    if final and period is not None:
                        items.append(
                            _item_line(
                                rng, len(items), ind, county, note, quarter, deadline_base, created
                            )
                        )
            for stage in stages:
                value = values[stage]
                if ind.kind == IndicatorKind.VETO:
                    body = f"\\N\t{'t' if value else 'f'}\t{'经核查存在否决情形' if value else ''}"
                else:
                    deducted = ind.kind == IndicatorKind.POINTS and value < ind.max_points
                    body = f"{_num(value)}\t\\N\t{note if deducted else ''}"
                when = times.get(stage, "")
                lines.append(f"\x00{len(lines):03d}\t\x00\t{ind.id}\t{stage}\t{body}\t1\t{when}\n")
        results[dim.id] = dimension_result(
            points, vetoes, bonus, dim.bonus_cap, dim.effective_threshold
        )
    assert len(lines) < 1000 and len(items) < 1000
    return Profile(
        score_lines="".join(lines),
        score_count=len(lines),
        results=results,
        item_lines="".join(items),
        item_count=len(items),
    )


def _item_line(rng, k, ind, county, note, quarter, deadline_base, created) -> str:
    """One rectification item: older quarters mostly closed out, the latest still worked on."""
    deadline = deadline_base + dt.timedelta(days=rng.randint(-10, 10))
    done = deadline - dt.timedelta(days=rng.randint(1, 20))
    r = rng.random()
    reported = r < {1: 0.99, 2: 0.95, 3: 0.55}[quarter]
    verified = r < {1: 0.98, 2: 0.9, 3: 0.4}[quarter]
    closed = r < {1: 0.97, 2: 0.85, 3: 0.25}[quarter]
    status = "closed" if closed else "verified" if verified else "reported" if reported else "open"
    reported_at = _ts(_aware(done, 11)) if reported else "\\N"
    verified_at = _ts(_aware(done + dt.timedelta(days=2), 15)) if verified else "\\N"
    closed_at = _ts(_aware(done + dt.timedelta(days=5), 17)) if closed else "\\N"
    report_note = "已按要求完成整改,佐证材料已上传" if reported else ""
    return (
        f"\x00{k:03d}\t\x00\t{ind.id}\t{_num(ind.max_points - county)}\t{note}\t"
        f"{rng.choice(PEOPLE)}\t{MEASURE}\t{deadline.isoformat()}\t{status}\t{report_note}\t"
        f"\\N\t{reported_at}\t\\N\t{verified_at}\t\\N\t{closed_at}\t\t{created}\n"
    )


SCORE_FIELDS = [
    "id",
    "assessment",
    "indicator",
    "stage",
    "value",
    "vetoed",
    "note",
    "version",
    "updated_at",
]
ITEM_FIELDS = [
    "id",
    "assessment",
    "indicator",
    "points_lost",
    "lost_note",
    "responsible_person",
    "measure",
    "deadline",
    "status",
    "report_note",
    "reported_by",
    "reported_at",
    "verified_by",
    "verified_at",
    "closed_by",
    "closed_at",
    "sent_back_reason",
    "created_at",
]


# --- the world ------------------------------------------------------------------------------


@dataclass
class GenerationReport:
    scale: str
    units: int
    steps: list[tuple[str, int, float]] = field(default_factory=list)  # what, rows, seconds
    started: float = field(default_factory=time.perf_counter)

    def step(self, what: str, rows: int, since: float) -> float:
        now = time.perf_counter()
        self.steps.append((what, rows, now - since))
        return now

    @property
    def seconds(self) -> float:
        return sum(s for _w, _r, s in self.steps)

    def as_dict(self) -> dict:
        return {
            "scale": self.scale,
            "units": self.units,
            "seconds": round(self.seconds, 1),
            "steps": [[w, r, round(s, 2)] for w, r, s in self.steps],
        }


def generate(
    spec: ScaleSpec, *, quarters: tuple[int, ...] = QUARTERS, log: Callable[[str], None] = print
) -> GenerationReport:
    """Build the world of `spec` in one transaction (the database holds no bench data yet)."""
    report = GenerationReport(spec.name, 0)
    before = schema_fingerprint()
    with transaction.atomic(), connection.cursor() as cursor:
        # Session settings of this load only: big sorts for the index builds, no wait for the
        # WAL flush at commit (a crash would lose the load, not corrupt anything).
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        world = _build(spec, quarters, report, log)
    t = time.perf_counter()
    with connection.cursor() as cursor:
        for model in (
            Score,
            RectificationItem,
            AssessmentEvent,
            Assessment,
            Holding,
            HoldingChange,
            Unit,
            UnitTarget,
        ):
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")
        # The small tables too (catalogue, regions...), as autovacuum would have by now.
        cursor.execute("ANALYZE")
    report.step("vacuum and analyze", 0, t)
    after = schema_fingerprint()
    if before != after:
        raise RuntimeError("the load changed the schema: " + repr(set(before) ^ set(after)))
    report.units = world["units"]
    campaign = Campaign.objects.get(slug=world["slug"])
    campaign.description = json.dumps({"bench": report.as_dict(), "quarters": list(quarters)})
    campaign.save(update_fields=["description"])
    return report


def _build(spec: ScaleSpec, quarters, report: GenerationReport, log) -> dict:
    t = time.perf_counter()
    cities = layout(spec)
    province = Region.objects.create(code=PROVINCE_CODE, name="基准省", level=RegionLevel.PROVINCE)
    city_rows = [
        Region(
            code=c[0].code[:4] + "0" * 8,
            name=f"基准{i + 1}市",
            level=RegionLevel.CITY,
            parent=province,
        )
        for i, c in enumerate(cities)
    ]
    Region.objects.bulk_create(city_rows)
    county_rows, plan_of = [], {}
    for city, plans in zip(city_rows, cities, strict=True):
        for plan in plans:
            county_rows.append(
                Region(code=plan.code, name=plan.name, level=RegionLevel.COUNTY, parent=city)
            )
            plan_of[plan.code] = plan
    Region.objects.bulk_create(county_rows)
    township_rows, sizes = [], {}
    for county in county_rows:
        for code, name, n in plan_of[county.code].townships:
            township_rows.append(
                Region(code=code, name=name, level=RegionLevel.TOWNSHIP, parent=county)
            )
            sizes[code] = n
    Region.objects.bulk_create(township_rows, batch_size=2000)
    unit_rows = []
    for township in township_rows:
        n = sizes[township.code]
        communities = n // 10 if n >= 3 else 0
        for serial in range(1, n + 1):
            kind = UnitKind.COMMUNITY if serial <= communities else UnitKind.VILLAGE
            word = "社区" if kind == UnitKind.COMMUNITY else "村"
            unit_rows.append(
                Unit(
                    code=township.code[:9] + f"{serial:03d}",
                    name=f"{township.name[2:]}{serial}{word}",
                    kind=kind,
                    township=township,
                    population=1000 + (serial * 37) % 3000,
                    households=300 + (serial * 11) % 900,
                    party_members=20 + serial % 60,
                    secretary_name=PEOPLE[serial % len(PEOPLE)],
                )
            )
    Unit.objects.bulk_create(unit_rows, batch_size=5000)
    units = sorted(unit_rows, key=lambda u: u.code)
    t = report.step("regions and units", len(units) + len(township_rows) + len(county_rows), t)
    log(f"  {len(units)} units in {len(township_rows)} townships, {len(county_rows)} counties")

    region = Region.objects.get(code=campaign_region_code(spec))
    campaign = Campaign.objects.create(
        name=f"基准测试({spec.name})五星支部创建",
        slug=f"{SLUG_PREFIX}{spec.name}",
        scheme=Scheme.STAR,
        year=YEAR,
        region=region,
        status=CampaignStatus.ACTIVE,
        threshold=Decimal("90"),
    )
    departments = Department.objects.bulk_create(
        Department(region=region, name=f"基准部门{i + 1}") for i in range(6)
    )
    dims = []
    for n in range(2 * DIMENSIONS_PER_KIND):
        applies = AppliesTo.VILLAGE if n < DIMENSIONS_PER_KIND else AppliesTo.COMMUNITY
        dims.append(
            Dimension(
                campaign=campaign,
                code=f"d{n + 1}",
                name=f"维度{n + 1}",
                applies_to=applies,
                order=n,
                bonus_cap=BONUS_MAX,
            )
        )
    Dimension.objects.bulk_create(dims)
    dims = list(campaign.dimensions.select_related("campaign").order_by("order"))
    indicator_rows = []
    for n, dim in enumerate(dims, start=1):
        points = INDICATORS_PER_DIMENSION - 2
        big = 100 - 5 * points  # items worth 6 (the first `big`) and 5 add up to 100
        for i in range(1, INDICATORS_PER_DIMENSION + 1):
            if i <= points:
                kind, maximum = IndicatorKind.POINTS, Decimal(6 if i <= big else 5)
            elif i == points + 1:
                kind, maximum = IndicatorKind.VETO, Decimal(0)
            else:
                kind, maximum = IndicatorKind.BONUS, BONUS_MAX
            indicator_rows.append(
                Indicator(
                    dimension=dim,
                    code=f"{n}.{i}",
                    title=f"{dim.name}第{i}项考核指标(组织建设与制度落实情况)",
                    rule_text="对照评分细则逐项核查:资料齐全、记录规范得满分;"
                    "每发现一处缺项扣0.5分,扣完为止。",
                    max_points=maximum,
                    kind=kind,
                    order=i,
                    lead_department=departments[(n + i) % len(departments)],
                )
            )
    Indicator.objects.bulk_create(indicator_rows)
    indicators: dict[int, list[Indicator]] = {d.id: [] for d in dims}
    for ind in Indicator.objects.filter(dimension__campaign=campaign).order_by("order", "id"):
        indicators[ind.dimension_id].append(ind)
    periods = {}
    for quarter in quarters:
        start, end = QUARTER_DATES[quarter]
        after = end + dt.timedelta(days=1)
        if quarter == 4:
            dues = (dt.date(YEAR, 11, 15), dt.date(YEAR, 12, 5), dt.date(YEAR, 12, 20))
        else:
            dues = tuple(after + dt.timedelta(days=d) for d in (5, 12, 22))
        periods[quarter] = Period.objects.create(
            campaign=campaign,
            label=f"{YEAR}Q{quarter}",
            starts_on=start,
            ends_on=end,
            self_due=dues[0],
            township_due=dues[1],
            county_due=dues[2],
            opened_at=_aware(start, 9),
        )
    county = Region.objects.get(code=cities[0][0].code)
    township = Region.objects.get(code=cities[0][0].townships[0][0])
    users = [
        User(
            username=TOWNSHIP_USER,
            role=Role.TOWNSHIP_OFFICIAL,
            region=township,
            first_name="基准乡镇干部",
        ),
        User(
            username=COUNTY_USER, role=Role.COUNTY_STAFF, region=county, first_name="基准县委组织部"
        ),
        User(username=ADMIN_USER, is_superuser=True, is_staff=True, first_name="基准管理员"),
    ]
    for user in users:
        user.set_unusable_password()
    User.objects.bulk_create(users)
    t = report.step("campaign, catalogue, periods, users", len(indicator_rows), t)

    dims_by_kind = {
        kind: [d for d in dims if d.applies_to in (kind, AppliesTo.BOTH)]
        for kind in UnitKind.values
    }
    profiles = build_profiles(dims_by_kind, indicators, periods)
    t = report.step("score profiles", len(profiles), t)

    def profile_of(index: int) -> int:
        return (index * 2654435761 + 12345) % PROFILES_PER_KIND

    # Assessments: explicit ids, period by period in unit order (a period's scores lie together).
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Assessment._meta.db_table}")
        next_id = cursor.fetchone()[0] + 1
    plan: list[tuple[int, int, int, int]] = []  # assessment id, unit index, quarter, period id
    for quarter in quarters:
        for index in range(len(units)):
            plan.append((next_id, index, quarter, periods[quarter].id))
            next_id += 1

    def assessment_lines() -> Iterator[str]:
        for aid, index, quarter, period_id in plan:
            period = periods[quarter]
            if quarter == 4:
                stage, version, fin = Stage.TOWNSHIP, 2, "\\N"
                created = _ts(_aware(period.starts_on, 9))
                updated = _ts(stage_times(period)[ScoreStage.TOWNSHIP])
            else:
                stage, version = Stage.FINAL, 4
                fin = _ts(_aware(period.county_due, 16))
                created, updated = _ts(_aware(period.starts_on, 9)), fin
            yield (
                f"{aid}\t{period_id}\t{units[index].id}\t{stage}\t{version}\t\t\\N\t\\N\t\\N\t"
                f"{fin}\t{created}\t{updated}\n"
            )

    counts = {"assessments": len(plan), "scores": 0, "rectification items": 0, "events": 0}

    def score_chunks() -> Iterator[str]:
        last = time.perf_counter()
        for n, (aid, index, quarter, _period) in enumerate(plan, start=1):
            profile = profiles[(units[index].kind, profile_of(index), quarter)]
            counts["scores"] += profile.score_count
            yield profile.score_lines.replace("\x00", str(aid))
            if n % 10000 == 0 and time.perf_counter() - last > 30:
                last = time.perf_counter()
                log(f"    scores: {counts['scores']:,} rows ({n:,}/{len(plan):,} assessments)")

    def item_chunks() -> Iterator[str]:
        for aid, index, quarter, _period in plan:
            if quarter == 4:
                continue
            profile = profiles[(units[index].kind, profile_of(index), quarter)]
            if profile.item_count:
                counts["rectification items"] += profile.item_count
                yield profile.item_lines.replace("\x00", str(aid))

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {AssessmentEvent._meta.db_table}")
        first_event = cursor.fetchone()[0]

    def event_lines() -> Iterator[str]:
        eid = first_event
        for aid, _index, quarter, _period in plan:
            period = periods[quarter]
            steps = [("submit", "self", "township", _aware(period.self_due, 9))]
            if quarter != 4:
                steps += [
                    ("submit", "township", "county", _aware(period.township_due, 9)),
                    ("finalise", "county", "final", _aware(period.county_due, 16)),
                ]
            for kind, before, after, at in steps:
                eid += 1
                counts["events"] += 1
                yield f"{eid}\t{aid}\t{kind}\t{before}\t{after}\t\t\\N\t{_ts(at)}\n"

    assessment_fields = [
        "id",
        "period",
        "unit",
        "stage",
        "version",
        "returned_reason",
        "returned_by",
        "returned_at",
        "finalised_by",
        "finalised_at",
        "created_at",
        "updated_at",
    ]
    event_fields = ["id", "assessment", "kind", "from_stage", "to_stage", "reason", "actor", "at"]
    loads = [
        (Assessment, assessment_fields, assessment_lines, "assessments"),
        (Score, SCORE_FIELDS, score_chunks, "scores"),
        (RectificationItem, ITEM_FIELDS, item_chunks, "rectification items"),
        (AssessmentEvent, event_fields, event_lines, "events"),
    ]
    for model, fields, lines, label in loads:
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
            empty = not cursor.fetchone()[0]
        deferred = schema_defer(table) if empty else None
        copy_rows(model, fields, lines())
        t = report.step(f"{label}: COPY", counts[label], t)
        log(f"  {label}: {counts[label]:,} rows copied in {report.steps[-1][2]:.1f} s")
        if deferred is not None:
            schema_restore(deferred)
            t = report.step(f"{label}: indexes and constraints", 0, t)
            log(f"  {label}: indexes and constraints rebuilt in {report.steps[-1][2]:.1f} s")
        _reset_sequence(model)

    # Holdings and their history: Q1 and Q2 adjusted (the Q3 adjustment is what we measure).
    adjusted = [q for q in (1, 2) if q in periods]
    holdings, changes = [], []
    for index, unit in enumerate(units):
        number = profile_of(index)
        held: dict[int, int] = {}
        for quarter in (1, 2):
            results = profiles[(unit.kind, number, quarter)].results
            for dim_id, result in results.items():
                gained = result.reaches and dim_id not in held
                lost = not result.reaches and dim_id in held
                if gained:
                    held[dim_id] = quarter
                elif lost:
                    del held[dim_id]
                if (gained or lost) and quarter in adjusted:
                    period = periods[quarter]
                    changes.append(
                        HoldingChange(
                            unit_id=unit.id,
                            dimension_id=dim_id,
                            period=period,
                            kind="award" if gained else "withdraw",
                            score=result.score,
                            reason="单项得分达到90分以上" if gained else "单项得分低于90分",
                            decided_at=_aware(period.county_due + dt.timedelta(days=6)),
                        )
                    )
        for dim_id, quarter in held.items():
            period = periods.get(quarter)
            holdings.append(
                Holding(
                    unit_id=unit.id,
                    dimension_id=dim_id,
                    since_period=period,
                    since=_aware(QUARTER_DATES[quarter][1] + dt.timedelta(days=28)),
                )
            )
    Holding.objects.bulk_create(holdings, batch_size=5000)
    HoldingChange.objects.bulk_create(changes, batch_size=5000)
    t = report.step("holdings and history", len(holdings) + len(changes), t)
    levels: dict[int, int] = {}
    targets = []
    for index, unit in enumerate(units):
        level = profiles[(unit.kind, profile_of(index), 1)].level
        levels[level] = levels.get(level, 0) + 1
        targets.append(
            UnitTarget(
                campaign=campaign,
                unit_id=unit.id,
                recommended_level=level,
                decided_level=level,
                decided_at=_aware(dt.date(YEAR, 1, 20)),
            )
        )
    UnitTarget.objects.bulk_create(targets, batch_size=5000)
    LevelTarget.objects.bulk_create(
        LevelTarget(campaign=campaign, region=region, level=level, count=n)
        for level, n in levels.items()
        if level > 0
    )
    t = report.step("unit and level targets", len(targets), t)
    return {"units": len(units), "slug": campaign.slug}


def _reset_sequence(model) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
            f"GREATEST((SELECT MAX(id) FROM {table}), 1))",
            [table],
        )
