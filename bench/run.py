"""Scale benchmark: generate a county, city or province and time the paths that grow with it.

    bench/run --scale county|city|province [--smoke] [--reset] [--regenerate] [--repeat N]
              [--only entry,work_list,...] [--quarters N] [--no-rss]

Needs PostgreSQL (DATABASE_URL), preferably a database of its own, e.g.
`createdb -h 127.0.0.1 -U postgres hongqi_bench` and
DATABASE_URL=postgres://postgres@127.0.0.1:5432/hongqi_bench. It refuses a database holding
anything but bench data unless --reset (which empties the whole database) is given. A world of
the requested scale that is already there is reused; another scale is dropped and rebuilt.

Every path runs in this process: pages through Django's test Client with a logged-in user
(server time, no network), the rest by calling the service or selector. Each is timed over
repeated runs after one warm-up (median and p95), its SQL queries counted with
CaptureQueriesContext, and, where memory matters, run once more in a fresh child process whose
peak RSS is read from /proc (VmHWM, reset after the set-up so only the path itself counts).
Beside each export and aggregate stands its bare limit measured in the same run: the same cells
written by openpyxl's write-only mode alone, or the same totals from one SQL aggregate query.

Django, the apps and the libraries they load are imported inside the functions that use them,
on purpose: the script picks its settings and database first, and each measured path imports
only what it needs (so a child process's peak RSS counts that path alone).
"""

from __future__ import annotations

import argparse
import gc
import io
import itertools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CHILD_MARK = "BENCH-CHILD "
MONTH = (2026, 10)  # the monthly report measured: October, while Q4 is under way


def configure() -> None:
    """Load Django with the project's settings (production defaults, DEBUG off)."""
    import logging

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # The settings refuse to start without a key while DEBUG is off; the bench signs nothing
    # that outlives it (sessions of its own users in its own database).
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret-hongqi")
    if not os.environ.get("DATABASE_URL"):
        sys.exit(
            "bench: set DATABASE_URL to a PostgreSQL database of its own, e.g.\n"
            "  createdb -h 127.0.0.1 -U postgres hongqi_bench\n"
            "  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/hongqi_bench\n"
            "  bench/run --scale county"
        )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    # django-axes logs every login at INFO; the bench logs in its users once per path.
    logging.getLogger("axes").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("bench: DATABASE_URL must point to PostgreSQL (the bench loads data with COPY).")
    # The test client talks to "testserver" (requests are sent as https, so no SSL redirect).
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # As in the test suite: plain static storage, so no collectstatic manifest is needed (a
    # manifest look-up is a dict access; page times do not depend on it).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


# --- the world ------------------------------------------------------------------------------


@dataclass
class World:
    spec: object
    campaign: object
    periods: dict
    county: object
    township: object
    township_user: object
    county_user: object
    entry: object  # a village's Q4 assessment at the township stage, in the measured township
    _delete_run: int | None = None  # an adjustment run to delete after a timed call


def world_load(spec) -> World:
    from bench import generate
    from campaigns.models import Campaign
    from scoring.models import Assessment, Stage
    from villages.models import Region, UnitKind, User

    campaign = Campaign.objects.select_related("region").get(
        slug=f"{generate.SLUG_PREFIX}{spec.name}"
    )
    periods = {p.label: p for p in campaign.periods.select_related("campaign__region")}
    township_user = User.objects.get(username=generate.TOWNSHIP_USER)
    county_user = User.objects.get(username=generate.COUNTY_USER)
    entry = (
        Assessment.objects.filter(
            period=periods["2026Q4"],
            stage=Stage.TOWNSHIP,
            unit__township=township_user.region,
            unit__kind=UnitKind.VILLAGE,
        )
        .order_by("unit__code")
        .first()
    )
    return World(
        spec=spec,
        campaign=campaign,
        periods=periods,
        county=Region.objects.get(pk=county_user.region_id),
        township=Region.objects.get(pk=township_user.region_id),
        township_user=township_user,
        county_user=county_user,
        entry=entry,
    )


def database_check(spec, *, reset: bool, regenerate: bool, quarters: int, log) -> bool:
    """Make sure the database holds this scale's world and nothing else; True if it must be
    generated. Exits if there is data that is not the bench's and --reset was not given."""
    from django.core.management import call_command

    from bench import generate
    from campaigns.models import Campaign
    from villages.models import Region, Unit, User

    call_command("migrate", interactive=False, verbosity=0)
    foreign = (
        Region.objects.exclude(code__startswith="99").exists()
        or Unit.objects.exclude(code__startswith="99").exists()
        or Campaign.objects.exclude(slug__startswith=generate.SLUG_PREFIX).exists()
        or User.objects.exclude(username__startswith=generate.USER_PREFIX).exists()
    )
    if foreign and not reset:
        sys.exit(
            "bench: this database holds data that is not the bench's (regions outside 99…, "
            "other campaigns or users). Point DATABASE_URL at a database of its own, or give "
            "--reset to empty this one."
        )
    slug = f"{generate.SLUG_PREFIX}{spec.name}"
    campaigns = list(Campaign.objects.values_list("slug", "description"))
    current = [d for s, d in campaigns if s == slug]
    same = False
    if current and len(campaigns) == 1 and not foreign:
        try:
            same = json.loads(current[0]).get("quarters") == list(generate.QUARTERS[-quarters:])
        except ValueError:
            same = False
    if same and not regenerate:
        return False
    if foreign or campaigns or Region.objects.exists() or User.objects.exists():
        log("  emptying the database (bench data of another scale, or --reset/--regenerate)")
        call_command("flush", interactive=False, verbosity=0)
    return True


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Result:
    key: str
    label: str
    times: list[float] = field(default_factory=list)
    queries: int | None = None
    rss_mb: float | None = None
    rss_base_mb: float | None = None
    bare_label: str = ""
    bare_times: list[float] = field(default_factory=list)
    bare_rss_mb: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def p95(self) -> float | None:
        return percentile(self.times, 95) if self.times else None

    @property
    def bare_median(self) -> float | None:
        return statistics.median(self.bare_times) if self.bare_times else None

    @property
    def ratio(self) -> float | None:
        if self.median is None or not self.bare_median:
            return None
        return self.median / self.bare_median


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of fewer than 20 runs is their maximum)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def proc_status() -> dict[str, float]:
    """VmRSS and VmHWM (peak) of this process in MB."""
    values = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _sep, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values


def peak_reset() -> float:
    """Forget the peak so far (Linux clear_refs 5); return the resident size now, in MB."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return proc_status()["VmRSS"]


def child_measure(case: str, args) -> dict | None:
    """Run one case once in a fresh process and return what it reports (peak RSS included)."""
    command = [sys.executable, "-m", "bench.run", "--child", case, "--scale", args.scale]
    if args.smoke:
        command.append("--smoke")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith(CHILD_MARK):
            return json.loads(line[len(CHILD_MARK) :])
    print(done.stdout[-2000:], done.stderr[-4000:], file=sys.stderr)
    return None


# --- the cases ------------------------------------------------------------------------------
# Each case has `setup(world)` (once, untimed), `prepare(world, i)` (before each run, untimed;
# the set-up state unless a run needs its own) and `act(world, state, i)`, the timed call. Cases
# with a bare limit have `bare(world, state, i)`, timed the same way.


class Case:
    key = ""
    label = ""
    target = ""
    repeats = {"smoke": 2, "county": 30, "city": 30, "province": 30}
    child = False  # measure peak RSS in a fresh process

    shared = None

    def setup(self, world):
        return None

    def prepare(self, world, i):
        return self.shared

    def act(self, world, state, i):
        raise NotImplementedError

    bare = None
    bare_label = ""

    def judge(self, result: Result, world) -> None:
        """Set result.met (and .note) against the target."""


class EntryPage(Case):
    key = "entry"
    label = "score entry page (1 unit, 100 indicators)"
    target = "≤ 15 queries, p95 < 150 ms"

    def setup(self, world):
        from django.test import Client
        from django.urls import reverse

        client = Client()
        client.force_login(world.township_user, backend="django.contrib.auth.backends.ModelBackend")
        url = reverse("scoring:entry", args=[world.entry.pk]) + "?stage=township"
        return client, url

    def act(self, world, state, i):
        client, url = state
        response = client.get(url, secure=True)
        assert response.status_code == 200, response.status_code
        assert response.content.count(b'class="entry-row') == 100, "not 100 rows"

    def judge(self, result, world):
        result.met = result.queries <= 15 and result.p95 < 0.150


class WorkList(EntryPage):
    key = "work_list"
    label = "township work list ({township} units)"

    def user(self, world):
        return world.township_user

    def setup(self, world):
        from django.test import Client
        from django.urls import reverse

        client = Client()
        client.force_login(self.user(world), backend="django.contrib.auth.backends.ModelBackend")
        url = reverse("scoring:work_list", args=[world.campaign.slug, "2026Q4"])
        return client, url

    def act(self, world, state, i):
        client, url = state
        response = client.get(url, secure=True)
        assert response.status_code == 200, response.status_code
        rows = len(response.context["rows"]) if response.context else None
        assert rows in (None, min(50, world.spec.township_units)), rows


class WorkListCounty(WorkList):
    key = "work_list_county"
    label = "county work list ({county} units, page of 50, progress by township)"

    def user(self, world):
        return world.county_user

    def act(self, world, state, i):
        client, url = state
        response = client.get(url, secure=True)
        assert response.status_code == 200, response.status_code


class SaveOne(Case):
    key = "save"
    label = "save one score with its audit row (scores_save)"
    target = "p95 < 30 ms"

    def setup(self, world):
        from campaigns.models import IndicatorKind
        from scoring.models import Score

        score = (
            Score.objects.filter(
                assessment=world.entry, stage="township", indicator__kind=IndicatorKind.POINTS
            )
            .select_related("indicator")
            .order_by("indicator__dimension__order", "indicator__order")
            .first()
        )
        return {"score": score, "version": score.version, "value": score.value}

    def act(self, world, state, i):
        from scoring.inputs import ScoreInput
        from scoring.services import scores_save

        score = state["score"]
        maximum = score.indicator.max_points
        # Always a real change: full marks and half a point less, in turn.
        value = maximum - Decimal("0.5") if state["value"] == maximum else maximum
        state["value"] = value
        result = scores_save(
            user=world.township_user,
            stage="township",
            inputs=[
                ScoreInput(
                    assessment_id=score.assessment_id,
                    indicator_id=score.indicator_id,
                    value=value,
                    note="" if value == maximum else "基准测试:资料不全",
                    expected_version=state["version"],
                )
            ],
        )
        assert len(result.changes) == 1, "nothing saved"
        state["version"] = result.scores[(score.assessment_id, score.indicator_id)].version

    def judge(self, result, world):
        result.met = result.p95 < 0.030


class TemplateBuild(Case):
    key = "template"
    label = "township template download ({township} units × 100 indicators, template_build)"
    target = "(part of the upload round trip)"
    repeats = {"smoke": 2, "county": 10, "city": 10, "province": 10}

    def act(self, world, state, i):
        from scoring.excel.template import template_build

        content = template_build(
            user=world.township_user, period=world.periods["2026Q4"], stage="township"
        )
        assert content.startswith(b"PK")


def edited_upload(world, variant: int) -> bytes:
    """A fresh township template with every applicable cell changed to variant A or B."""
    from openpyxl import load_workbook

    from campaigns.models import Indicator, IndicatorKind
    from scoring.excel.template import SCORE_SHEET, template_build
    from villages.models import Unit, UnitKind

    period = world.periods["2026Q4"]
    content = template_build(user=world.township_user, period=period, stage="township")
    wb = load_workbook(io.BytesIO(content))
    ws, meta = wb[SCORE_SHEET], wb["meta"]
    columns, started = [], False
    for row in meta.iter_rows(values_only=True):
        if started and row and row[0] == "unit_code":
            break  # format 2: the table of generated values follows the columns
        if started and row and row[0] is not None:
            columns.append((int(row[0]), row[2], row[3]))
        if row and row[0] == "indicator_id":
            started = True
    kinds = dict(Unit.objects.filter(township=world.township).values_list("code", "kind"))
    applicable = {
        kind: {
            ind.id: ind
            for ind in Indicator.objects.applicable(
                world.campaign.id, period.catalogue_version, kind
            )
        }
        for kind in UnitKind.values
    }
    cells = 0
    for r in range(9, ws.max_row + 1):
        code = ws[f"A{r}"].value
        if code not in kinds:
            continue
        for indicator_id, value_col, note_col in columns:
            ind = applicable[kinds[code]].get(indicator_id)
            if ind is None:
                continue
            cells += 1
            if ind.kind == IndicatorKind.VETO:
                ws[f"{value_col}{r}"] = "是" if variant else "否"
            elif ind.kind == IndicatorKind.BONUS:
                ws[f"{value_col}{r}"] = 2 if variant else 0
            else:
                ws[f"{value_col}{r}"] = float(ind.max_points - Decimal("0.5") * variant)
                if variant:
                    ws[f"{note_col}{r}"] = "基准测试:台账不全"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), cells


class Upload(Case):
    key = "upload"
    label = "township Excel upload, {township} units × 100 cells edited (scores_import)"
    target = "p95 < 3 s"
    repeats = {"smoke": 2, "county": 6, "city": 6, "province": 6}
    child = True

    def prepare(self, world, i):
        from django.core.files.uploadedfile import SimpleUploadedFile

        from campaigns.models import IndicatorKind
        from scoring.models import Score

        # Every run writes the edit the sheet does not hold yet (A: full marks, B: half a point
        # less), so every cell changes every time; the warm-up makes the sheet uniform. The
        # score looked at is the last unit's, which the "save" path never touches.
        probe = (
            Score.objects.filter(
                assessment__period=world.periods["2026Q4"],
                assessment__unit__township=world.township,
                stage="township",
                indicator__kind=IndicatorKind.POINTS,
            )
            .select_related("indicator")
            .order_by("-assessment__unit__code", "indicator__dimension__order", "indicator__order")
            .first()
        )
        variant = 1 if probe.value == probe.indicator.max_points else 0
        content, cells = edited_upload(world, variant)
        return SimpleUploadedFile("sheet.xlsx", content), cells

    def act(self, world, state, i):
        from scoring.services.sheets import scores_import

        upload, cells = state
        result = scores_import(user=world.township_user, file=upload)
        # (The warm-up starts from generated values, a few of which equal the edit.)
        assert i < 0 or result.scores == cells, (result.scores, cells)

    def judge(self, result, world):
        result.met = result.p95 < 3.0


class Adjustment(Case):
    key = "adjust_dry"
    label = "adjustment proposals, whole scale (adjustment_propose save=False)"
    target = "province < 60 s"
    repeats = {"smoke": 2, "county": 5, "city": 3, "province": 3}
    child = True
    save = False
    bare_label = "one SQL aggregate: unit × dimension county totals"

    def act(self, world, state, i):
        from scoring.services import adjustment_propose

        run, proposals, summary = adjustment_propose(
            user=None, period=world.periods["2026Q3"], save=self.save
        )
        assert summary.units > 0
        if run is not None:
            # Deleted again after the timed call (untimed), so every run inserts into a
            # proposals table of the same size.
            world._delete_run = run.pk
        return proposals

    def bare(self, world, state, i):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(adjustment_sql(), [world.periods["2026Q3"].id])
            return cursor.fetchall()

    def judge(self, result, world):
        if world.spec.name == "province":
            result.met = result.median < 60
        else:
            result.note = "target is set for the province"


class AdjustmentSave(Adjustment):
    key = "adjust_save"
    label = "adjustment proposals, whole scale, saved (save=True)"
    save = True


def _tables() -> dict[str, str]:
    from campaigns.models import Dimension, Indicator
    from scoring.models import Assessment, Score
    from villages.models import Unit

    return {
        "score": Score._meta.db_table,
        "assessment": Assessment._meta.db_table,
        "indicator": Indicator._meta.db_table,
        "dimension": Dimension._meta.db_table,
        "unit": Unit._meta.db_table,
    }


def adjustment_sql() -> str:
    """Per unit × dimension: capped points, bonus and veto of the county stage, final only."""
    t = _tables()
    return f"""
        SELECT a.unit_id, i.dimension_id,
               COALESCE(SUM(LEAST(s.value, i.max_points)) FILTER (WHERE i.kind = 'points'), 0),
               COALESCE(SUM(s.value) FILTER (WHERE i.kind = 'bonus'), 0),
               COALESCE(BOOL_OR(s.vetoed) FILTER (WHERE i.kind = 'veto'), false)
        FROM {t["score"]} s
        JOIN {t["assessment"]} a ON a.id = s.assessment_id
        JOIN {t["indicator"]} i ON i.id = s.indicator_id
        WHERE a.period_id = %s AND a.stage = 'final' AND s.stage = 'county'
        GROUP BY a.unit_id, i.dimension_id
    """


def monthly_sql() -> str:
    """Township × dimension averages and unit totals of two periods, in one statement."""
    t = _tables()
    return f"""
        WITH dim AS (
            SELECT a.period_id, a.unit_id, u.township_id, i.dimension_id,
                   COALESCE(SUM(LEAST(s.value, i.max_points))
                            FILTER (WHERE i.kind = 'points'), 0) AS points,
                   COALESCE(SUM(s.value) FILTER (WHERE i.kind = 'bonus'), 0) AS bonus
            FROM {t["score"]} s
            JOIN {t["assessment"]} a ON a.id = s.assessment_id
            JOIN {t["unit"]} u ON u.id = a.unit_id
            JOIN {t["indicator"]} i ON i.id = s.indicator_id
            WHERE a.period_id = ANY(%s) AND a.stage = 'final' AND s.stage = 'county'
            GROUP BY 1, 2, 3, 4
        ), scored AS (
            SELECT dim.*, ROUND(LEAST(dim.points * 100 / m.possible
                                      + LEAST(dim.bonus, d.bonus_cap), 100), 2) AS score
            FROM dim
            JOIN (SELECT dimension_id, SUM(max_points) AS possible FROM {t["indicator"]}
                  WHERE kind = 'points' GROUP BY 1) m USING (dimension_id)
            JOIN {t["dimension"]} d ON d.id = dim.dimension_id
        )
        SELECT period_id, township_id, dimension_id, unit_id, AVG(score)
        FROM scored
        GROUP BY GROUPING SETS ((period_id, township_id, dimension_id), (period_id, unit_id))
    """


class Export(Case):
    key = "export"
    label = "county score-sheet export ({county} units × 216 columns, write_scores)"
    target = "≤ 1.5 × bare openpyxl, peak RSS < 200 MB"
    repeats = {"smoke": 2, "county": 15, "city": 15, "province": 15}
    child = True
    bare_label = "the same cells, openpyxl write-only alone"

    def setup(self, world):
        return tempfile.mkdtemp(prefix="bench-export-")

    def act(self, world, state, i):
        from scoring.excel.exports import write_scores

        rows = write_scores(
            os.path.join(state, "scores.xlsx"),
            period=world.periods["2026Q3"],
            user=world.county_user,
        )
        assert rows == world.spec.county_units, rows

    def bare_prepare(self, world):
        """The cells our export wrote, read back (untimed), to be written again bare."""
        from openpyxl import load_workbook

        folder = tempfile.mkdtemp(prefix="bench-export-")
        path = os.path.join(folder, "scores.xlsx")
        self.act(world, folder, 0)
        wb = load_workbook(path, read_only=True)
        rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
        return folder, rows

    def bare(self, world, state, i):
        from openpyxl import Workbook

        folder, rows = state
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Sheet")
        for row in rows:
            ws.append(row)
        wb.save(os.path.join(folder, "bare.xlsx"))

    def judge(self, result, world):
        ok_ratio = result.ratio is not None and result.ratio <= 1.5
        ok_rss = result.rss_mb is None or result.rss_mb < 200
        result.met = ok_ratio and ok_rss


class Monthly(Case):
    key = "monthly"
    label = "monthly report, whole scale (monthly_figures + write_monthly)"
    target = "province < 120 s"
    repeats = {"smoke": 2, "county": 5, "city": 3, "province": 3}
    child = True
    bare_label = "one SQL aggregate: township × dimension averages and unit totals"

    def setup(self, world):
        return tempfile.mkdtemp(prefix="bench-monthly-")

    def act(self, world, state, i):
        import datetime as dt

        from scoring.excel.monthly import write_monthly
        from scoring.selectors.monthly import monthly_figures

        data = monthly_figures(world.campaign, dt.date(*MONTH, 1))
        assert data["ranking"], "no ranking"
        write_monthly(os.path.join(state, "monthly.xlsx"), data)

    def bare(self, world, state, i):
        from django.db import connection

        ids = [world.periods["2026Q3"].id, world.periods["2026Q2"].id]
        with connection.cursor() as cursor:
            cursor.execute(monthly_sql(), [ids])
            return cursor.fetchall()

    def judge(self, result, world):
        if world.spec.name == "province":
            result.met = result.median < 120
        else:
            result.note = "target is set for the province"


CASES = [
    EntryPage(),
    WorkList(),
    WorkListCounty(),
    SaveOne(),
    TemplateBuild(),
    Upload(),
    Adjustment(),
    AdjustmentSave(),
    Export(),
    Monthly(),
]
CASE_BY_KEY = {c.key: c for c in CASES}


def _drop_run(world) -> None:
    from scoring.models import AdjustmentRun

    pk = getattr(world, "_delete_run", None)
    if pk:
        AdjustmentRun.objects.filter(pk=pk).delete()
        world._delete_run = None


def run_case(case: Case, world, args, log) -> Result:
    label = case.label.format(county=world.spec.county_units, township=world.spec.township_units)
    result = Result(key=case.key, label=label, target=case.target, bare_label=case.bare_label)
    repeats = args.repeat or case.repeats[world.spec.name]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    case.shared = case.setup(world)
    bare_state = None
    if case.bare is not None:
        bare_state = case.bare_prepare(world) if hasattr(case, "bare_prepare") else None
    # One untimed warm-up, then the timed runs; each run's state is prepared before it
    # (untimed), and the bare limit runs right after ours, so both see the same machine.
    for i in [-1, *range(repeats)]:
        state = case.prepare(world, i)
        gc.collect()
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            case.act(world, state, i)
            elapsed = time.perf_counter() - start
        del state
        _drop_run(world)
        if i >= 0:
            result.times.append(elapsed)
            result.queries = len(ctx.captured_queries)
        if case.bare is not None:
            gc.collect()
            start = time.perf_counter()
            case.bare(world, bare_state, i)
            if i >= 0:
                result.bare_times.append(time.perf_counter() - start)
    if case.child and not args.no_rss:
        child = child_measure(case.key, args)
        if child:
            result.rss_mb, result.rss_base_mb = child["peak_mb"], child["base_mb"]
            result.bare_rss_mb = child.get("bare_peak_mb")
    case.judge(result, world)
    log(
        f"  {case.key}: median {fmt_s(result.median)}, p95 {fmt_s(result.p95)}, "
        f"{result.queries} queries"
        + (f", bare {fmt_s(result.bare_median)}" if result.bare_times else "")
        + (f", peak RSS {result.rss_mb:.0f} MB" if result.rss_mb else "")
    )
    return result


def child_main(key: str, world) -> None:
    """One run of one case in this fresh process; print its peak RSS (and the bare one's)."""
    from django.db import connection

    case = CASE_BY_KEY[key]
    count = {"n": 0}

    def counter(execute, sql, params, many, context):
        count["n"] += 1
        return execute(sql, params, many, context)

    out: dict = {}
    case.shared = case.setup(world)
    state = case.prepare(world, 0)
    out["base_mb"] = peak_reset()
    with connection.execute_wrapper(counter):
        start = time.perf_counter()
        case.act(world, state, 0)
        out["seconds"] = time.perf_counter() - start
    out["peak_mb"] = proc_status()["VmHWM"]
    out["queries"] = count["n"]
    _drop_run(world)
    if case.bare is not None and hasattr(case, "bare_prepare"):
        bare_state = case.bare_prepare(world)
        peak_reset()
        case.bare(world, bare_state, 0)
        out["bare_peak_mb"] = proc_status()["VmHWM"]
    print(CHILD_MARK + json.dumps(out), flush=True)


# --- output ---------------------------------------------------------------------------------


def fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def machine() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared = cursor.fetchone()[0]
        cursor.execute("SHOW work_mem")
        work = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    with open("/proc/meminfo") as fh:
        total_kb = int(fh.readline().split()[1])
    import django

    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(total_kb / 1024 / 1024, 1),
        "postgresql": pg,
        "shared_buffers": shared,
        "work_mem": work,
        "database_size": size,
        "python": platform.python_version(),
        "django": django.get_version(),
    }


def markdown(results: list[Result]) -> str:
    lines = [
        "| path | runs | median | p95 | queries | peak RSS | bare limit | bare | ours/bare "
        "| target | met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- | --- |",
    ]
    for r in results:
        rss = f"{r.rss_mb:.0f} MB" if r.rss_mb else "–"
        if r.rss_mb and r.bare_rss_mb:
            rss += f" (bare {r.bare_rss_mb:.0f})"
        ratio = f"{r.ratio:.2f}×" if r.ratio else "–"
        met = "–" if r.met is None else ("yes" if r.met else "**no**")
        if r.note and r.met is None:
            met = r.note
        lines.append(
            f"| {r.label} | {len(r.times)} | {fmt_s(r.median)} | {fmt_s(r.p95)} | {r.queries} "
            f"| {rss} | {r.bare_label or '–'} | {fmt_s(r.bare_median)} | {ratio} | {r.target} "
            f"| {met} |"
        )
    return "\n".join(lines)


def result_from(data: dict) -> Result:
    names = Result.__dataclass_fields__
    return Result(**{k: v for k, v in data.items() if k in names})


# --- main -----------------------------------------------------------------------------------


def parse(argv):
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=["county", "city", "province"])
    parser.add_argument("--smoke", action="store_true", help="a tiny world, two runs per path")
    parser.add_argument(
        "--reset",
        action="store_true",
        help="empty a database that holds data other than the bench's",
    )
    parser.add_argument(
        "--regenerate",
        action="store_true",
        help="rebuild the world even if this scale is already there",
    )
    parser.add_argument("--repeat", type=int, help="timed runs per path (default per path)")
    parser.add_argument("--only", help="comma-separated paths: " + ",".join(CASE_BY_KEY))
    parser.add_argument(
        "--quarters",
        type=int,
        default=4,
        choices=[3, 4],
        help="generate only the last N quarters (a documented reduction)",
    )
    parser.add_argument("--no-rss", action="store_true", help="skip the child processes")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--json", help="where to write the results (default bench/results/)")
    parser.add_argument(
        "--summary",
        action="store_true",
        help="print how each path grows from county to city to province (saved results)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.scale and not args.summary:
        parser.error("--scale is required")
    return args


def summary() -> str:
    """Median per path at each scale from bench/results/, and the growth between scales."""
    data = {}
    for scale in ("county", "city", "province"):
        path = RESULTS / f"{scale}.json"
        if path.exists():
            data[scale] = json.loads(path.read_text())
    if not data:
        return "no results yet: run bench/run --scale county (city, province) first"
    units = {s: d["generation"]["units"] for s, d in data.items() if d.get("generation")}
    scales = list(data)
    head = " | ".join(f"{s} ({units.get(s, 0):,} units)" for s in scales)
    lines = [f"| path | {head} | growth |", "| --- |" + " ---: |" * len(scales) + " --- |"]
    labels, medians = {}, {}
    for scale, d in data.items():
        for r in d["results"]:
            labels.setdefault(r["key"], r["label"])
            medians.setdefault(r["key"], {})[scale] = r["median"]
    for case in CASES:
        if case.key not in medians:
            continue
        m = medians[case.key]
        cells = " | ".join(fmt_s(m.get(s)) for s in scales)
        steps = [
            f"{b}/{a} {m[b] / m[a]:.1f}×"
            for a, b in itertools.pairwise(scales)
            if m.get(a) and m.get(b)
        ]
        lines.append(f"| {labels[case.key]} | {cells} | {', '.join(steps) or '–'} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse(argv)
    if args.summary:
        print(summary())
        return 0
    configure()
    from bench import generate

    spec = generate.SCALES["smoke" if args.smoke else args.scale]
    if args.child:
        child_main(args.child, world_load(spec))
        return 0

    def log(text: str) -> None:
        print(text, flush=True)

    log(f"bench: scale {spec.name} ({spec.units:,} units)")
    gen = None
    if database_check(
        spec, reset=args.reset, regenerate=args.regenerate, quarters=args.quarters, log=log
    ):
        log("generating…")
        report = generate.generate(spec, quarters=generate.QUARTERS[-args.quarters :], log=log)
        gen = report.as_dict()
        log(f"generated in {report.seconds:.1f} s")
    world = world_load(spec)
    stored = json.loads(world.campaign.description or "{}")
    gen = gen or stored.get("bench")
    if gen:
        log(f"world: {gen['units']:,} units, generated in {gen['seconds']} s:")
        for what, rows, seconds in gen["steps"]:
            log(f"  {what:<45} {rows:>12,} rows {seconds:>9.1f} s")
    if args.generate_only:
        return 0
    keys = args.only.split(",") if args.only else [c.key for c in CASES]
    results = []
    for key in keys:
        results.append(run_case(CASE_BY_KEY[key], world, args, log))
    info = machine()
    table = markdown(results)
    log("")
    log(f"machine: {info}")
    log(table)
    out = Path(args.json) if args.json else RESULTS / f"{spec.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "command": "bench/run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "when": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": info,
        "generation": gen,
        "quarters": stored.get("quarters"),
        "results": [
            {
                **asdict(r),
                "median": r.median,
                "p95": r.p95,
                "bare_median": r.bare_median,
                "ratio": r.ratio,
            }
            for r in results
        ],
        "markdown": table,
    }
    if out.exists() and args.only:
        # Keep the other paths of an earlier full run of this scale.
        previous = json.loads(out.read_text())
        fresh = {r["key"] for r in payload["results"]}
        payload["results"] = [
            r for r in previous.get("results", []) if r["key"] not in fresh
        ] + payload["results"]
        order = {c.key: n for n, c in enumerate(CASES)}
        payload["results"].sort(key=lambda r: order.get(r["key"], 99))
    payload["markdown"] = markdown([result_from(r) for r in payload["results"]])
    out.write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str))
    log(f"results: {out}")
    missed = [r.key for r in results if r.met is False]
    if missed:
        log(f"targets missed: {', '.join(missed)}")
    # At smoke size the targets mean nothing: only a crash fails it.
    return 1 if missed and not args.smoke else 0


if __name__ == "__main__":
    sys.exit(main())
