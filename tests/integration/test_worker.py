"""A real Celery worker process: report runs and export jobs go through Redis to a worker that
writes to the test database, as in production.

Only on PostgreSQL with a Redis broker (CI has both): the worker is another process, so it can
share neither SQLite's in-memory test database nor the in-memory broker of eager mode.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from openpyxl import load_workbook

from config.celery import app as celery_app
from scoring import tasks
from scoring.models import ExportJob, ExportKind, JobStatus, ReportRun
from tests.scenarios import OCTOBER

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"),
        reason="needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL): a worker process can "
        "share neither SQLite's test database nor the in-memory broker",
    ),
    pytest.mark.django_db(transaction=True),
]

WAIT_SECONDS = 60


def worker_database_url() -> str:
    """DATABASE_URL of the test database this process uses (NAME is the test database now)."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = quote(str(db["PASSWORD"] or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = quote(db["HOST"] or "localhost", safe="")  # a socket directory is %-encoded
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}{host}{port}/{quote(db['NAME'], safe='')}"


class Worker:
    """`celery -A config worker` in a subprocess, its output in a file."""

    def __init__(self, media: Path, log: Path):
        self.log = log
        env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": os.environ.get("REDIS_URL", ""),
            "SECRET_KEY": settings.SECRET_KEY,
            "MEDIA_ROOT": str(media),
        }
        self._out = log.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=warning",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, model, pk: int, seen: list | None = None):
        """Poll a run or job until it is done or failed; fail with the worker's output."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            obj = model.objects.get(pk=pk)
            if seen is not None:
                seen.append(getattr(obj, "progress", None))
            if obj.status in (JobStatus.DONE, JobStatus.FAILED):
                return obj
            if self.process.poll() is not None:
                pytest.fail(f"worker exited with {self.process.returncode}:\n{self.output()}")
            time.sleep(0.1)
        pytest.fail(f"{model.__name__} {pk} not finished in {WAIT_SECONDS} s:\n{self.output()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._out.close()


@contextmanager
def running_worker(media: Path, log: Path):
    """A worker started on an empty queue; stopped however the block ends, its output printed
    when the block fails."""
    assert not celery_app.conf.task_always_eager
    celery_app.control.purge()
    worker = Worker(media, log)
    try:
        yield worker
    except BaseException:
        print(f"--- worker output ---\n{worker.output()}")
        raise
    finally:
        worker.stop()


def test_a_worker_produces_the_monthly_report(world, media, tmp_path):
    with running_worker(media, tmp_path / "worker.log") as worker:
        run = tasks.report_run_queue(campaign=world.campaign, month=OCTOBER, trigger="worker")
        run = worker.wait_for(ReportRun, run.pk)
        assert run.status == JobStatus.DONE, run.error
        assert run.attempts == 1
        assert run.data["rectification"] == {
            "opened": 2,
            "closed": 1,
            "overdue": 2,
            "still_open": 4,
        }
        assert run.data["ranking"][0]["township"] == "城关镇"
        assert run.file.path.startswith(str(media))
        wb = load_workbook(run.file.path)
        assert len(wb.sheetnames) == 7
        assert [c.value for c in wb.worksheets[-1][2]] == [2, 1, 2, 4]


def test_a_worker_runs_an_export_to_100_percent(world, media, tmp_path, county_staff):
    seen: list[int] = []
    with running_worker(media, tmp_path / "worker.log") as worker:
        job = tasks.export_job_queue(
            user=county_staff,
            kind=ExportKind.SCORES,
            campaign=world.campaign,
            period=world.periods["2026Q3"],
        )
        job = worker.wait_for(ExportJob, job.pk, seen)
        assert job.status == JobStatus.DONE, job.error
        assert seen == sorted(seen) and seen[-1] == 100
        assert (job.progress, job.rows) == (100, 4)
        ws = load_workbook(job.file.path).worksheets[0]
        units = [row[1].value for row in ws.iter_rows(min_row=2)]
        assert units == ["红星村", "前进村", "胜利村", "和平村"]
