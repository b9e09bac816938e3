"""The scale benchmark runs end to end on a tiny world (bench/run --scale county --smoke).

Only a smoke test: timings at this size mean nothing, and no test asserts a time. The bench
itself, at county, city and province scale, is run by hand (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db(transaction=True)
def test_it_generates_a_tiny_world_and_measures_every_path(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the bench loads its data with PostgreSQL's COPY; set DATABASE_URL")
    db = connection.settings_dict
    # The bench and its child processes use the test database, committed (transaction=True)
    # and emptied again after the test.
    url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or 'localhost'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    out = tmp_path / "smoke.json"
    done = subprocess.run(
        [str(ROOT / "bench" / "run"), "--scale", "county", "--smoke", "--json", str(out)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())["results"]
    assert [r["key"] for r in results] == [
        "entry",
        "work_list",
        "work_list_county",
        "save",
        "template",
        "upload",
        "adjust_dry",
        "adjust_save",
        "export",
        "monthly",
    ]
    assert all(r["times"] and r["queries"] for r in results)
    assert all(r["bare_times"] for r in results if r["bare_label"])
    assert "| score entry page" in done.stdout
