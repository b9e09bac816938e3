"""Faults in the job machinery: a worker killed mid-report, and Redis gone.

Killed worker (PostgreSQL + Redis only): a real worker (tests/security/fault_worker.py) starts
the monthly report and stalls with the workbook half-written in its private temporary folder;
it is killed with SIGKILL there. The run is left "running" with no file (the download answers
404, nothing half-written is offered); a new worker gets the unacknowledged task back (acks_late:
the broker redelivers what was never acknowledged) and finishes it: done, one complete file,
two attempts.

Redis down (any database): the broker points at a port nobody listens on; every page still
renders, and starting a report or an export says the job could not be queued, marks the run or
job failed with that reason, and answers no 500.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext
from openpyxl import load_workbook

from config.celery import app as celery_app
from scoring import tasks
from scoring.models import ExportJob, JobStatus, ReportRun
from tests.helpers import broker_down
from tests.integration.test_worker import worker_database_url
from tests.scenarios import OCTOBER

WAIT_SECONDS = 60
FAULTS: list[str] = []  # faults injected, for the summary (conftest.py)

needs_worker = pytest.mark.skipif(
    connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"),
    reason="needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL): a worker process can share "
    "neither SQLite's test database nor the in-memory broker of eager mode",
)


class FaultWorker:
    """A worker of tests.security.fault_worker in its own process group (killed as a whole)."""

    def __init__(self, media: Path, log: Path, stall: Path):
        self.log = log.open("ab")
        env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": os.environ.get("REDIS_URL", ""),
            "SECRET_KEY": settings.SECRET_KEY,
            "MEDIA_ROOT": str(media),
            "HONGQI_STALL_FILE": str(stall),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.security.fault_worker",
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
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, nothing is acknowledged or given back."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def wait_until(condition, what: str, log: Path):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"{what} not seen in {WAIT_SECONDS} s:\n{log.read_text(errors='replace')}")


def download(client: Client, run: ReportRun) -> int:
    response = client.get(reverse("scoring:report_download", args=[run.pk]))
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)
    return response.status_code


@needs_worker
@pytest.mark.django_db(transaction=True)
def test_a_report_worker_killed_mid_write_is_retried_and_never_offers_half_a_file(
    world, media, tmp_path, county_staff
):
    client = Client()
    client.force_login(county_staff)
    stall, log = tmp_path / "stall", tmp_path / "workers.log"
    stall.touch()
    celery_app.control.purge()
    first = FaultWorker(media, log, stall)
    second = None
    try:
        run = tasks.report_run_queue(campaign=world.campaign, month=OCTOBER, trigger="fault")
        wait_until(lambda: Path(f"{stall}.reached").exists(), "the stall point", log)
        run.refresh_from_db()
        assert run.status == JobStatus.RUNNING
        assert download(client, run) == 404  # being written: nothing to offer
        first.kill()
        FAULTS.append("worker SIGKILLed mid-report")

        run.refresh_from_db()
        assert (run.status, run.file.name, run.attempts) == (JobStatus.RUNNING, "", 1)
        assert download(client, run) == 404
        reports = media / "reports"
        assert not reports.exists() or not list(reports.rglob("*.xlsx"))  # only in its tmp dir

        stall.unlink()  # the next attempt runs through
        second = FaultWorker(media, log, stall)
        run = wait_until(
            lambda: ReportRun.objects.filter(
                pk=run.pk, status__in=[JobStatus.DONE, JobStatus.FAILED]
            ).first(),
            "the retried report",
            log,
        )
        assert run.status == JobStatus.DONE, run.error
        assert run.attempts == 2  # retried, not started afresh by hand
        files = list((media / "reports").rglob("*.xlsx"))
        assert files == [Path(run.file.path)]
        assert len(load_workbook(run.file.path).sheetnames) == 7  # complete, not the half
        assert download(client, run) == 200
    except BaseException:
        print(f"--- worker output ---\n{log.read_text(errors='replace')}")
        raise
    finally:
        first.stop()
        if second is not None:
            second.stop()


@pytest.mark.django_db
def test_with_redis_down_pages_render_and_jobs_say_they_could_not_be_queued(
    world, media, county_staff
):
    client = Client(raise_request_exception=True)
    client.force_login(county_staff)
    slug = world.campaign.slug
    pages = [
        reverse("home"),
        reverse("scoring:period_list", args=[slug]),
        reverse("scoring:work_list", args=[slug, "2026Q4"]),
        reverse("scoring:dashboard", args=[slug]),
        reverse("scoring:report_list", args=[slug]),
        reverse("scoring:downloads"),
    ]
    not_queued = gettext("The job could not be queued; try again in a few minutes.")
    with broker_down():
        FAULTS.append("Redis broker unreachable")
        for url in pages:
            assert client.get(url).status_code == 200, url

        response = client.post(
            reverse("scoring:report_list", args=[slug]), {"month": "2026-10"}, follow=True
        )
        assert response.status_code == 200
        assert not_queued in response.content.decode()
        run = ReportRun.objects.get(campaign=world.campaign, month=OCTOBER)
        assert (run.status, run.error, run.file.name) == (JobStatus.FAILED, not_queued, "")

        response = client.post(
            reverse("scoring:export_start", args=[slug]),
            {"kind": "roster", "background": "1"},
            follow=True,
        )
        assert response.status_code == 200
        assert not_queued in response.content.decode()
        job = ExportJob.objects.get(requested_by=county_staff)
        assert (job.status, job.error) == (JobStatus.FAILED, not_queued)

        # A small export needs no broker: it is written during the request.
        response = client.post(reverse("scoring:export_start", args=[slug]), {"kind": "roster"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        b"".join(response.streaming_content)
