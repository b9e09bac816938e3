"""The project's Celery app as test_job_faults starts it: `celery -A tests.security.fault_worker`.

Two test-only changes, both driven by the environment of the worker process:
- HONGQI_STALL_FILE: while that file exists, the monthly report writer stalls half-way (the
  workbook half-written in its private temporary folder) after touching HONGQI_STALL_FILE +
  ".reached", so the test can kill the worker at a known point;
- the Redis transport gives an unacknowledged task back to the queue after 2 s instead of an
  hour (visibility_timeout), and looks for such tasks every second, so a retry after a killed
  worker can be watched in a test. Production keeps the defaults: a task of a killed worker is
  redelivered after an hour (see docs/BACKUP.md, "jobs").
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery.signals import task_prerun

from config.celery import app

__all__ = ["app"]

STALL = os.environ.get("HONGQI_STALL_FILE")


@task_prerun.connect
def stall_the_report_writer(**_kwargs) -> None:
    """Wrap the report writer once Django is set up (it is not when this module is imported)."""
    # The job service looks the writer up in its own module: wrap it there.
    from scoring.services import jobs as reports

    if not STALL or getattr(reports.write_monthly, "stalls", False):
        return
    write = reports.write_monthly

    def write_monthly(path, data):
        write(path, data)
        stall = Path(STALL)
        if stall.exists():
            with open(path, "r+b") as handle:  # leave it half-written, as a crash would
                handle.truncate(os.path.getsize(path) // 2)
            Path(f"{STALL}.reached").touch()
            while stall.exists():
                time.sleep(0.05)
            write(path, data)

    write_monthly.stalls = True
    reports.write_monthly = write_monthly


app.conf.broker_transport_options = {
    "visibility_timeout": 2,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
