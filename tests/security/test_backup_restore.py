"""The backup of docs/BACKUP.md, done for real: pg_dump, pg_restore into a fresh database, and
the media folder archived and unpacked; then every table's row count, every sequence and a
checksum of the scores are compared between the original and the restored copy.

PostgreSQL only (pg_dump and pg_restore are PostgreSQL's tools); the data is the security
tests' county pair plus a round of audited score changes, committed (transaction=True) so that
pg_dump, another process, sees it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tarfile
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from scoring.inputs import ScoreInput
from scoring.models import ScoreStage
from scoring.services import scores_save
from tests.scenarios import security_world_build

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="pg_dump / pg_restore back up PostgreSQL; the SQLite demo is backed up by "
        "copying its file",
    ),
    pytest.mark.django_db(transaction=True),
]

SCORES_CHECKSUM = """
    SELECT count(*), md5(coalesce(string_agg(
        concat_ws('|', id, assessment_id, indicator_id, stage, value, vetoed, note, version,
                  updated_by_id, updated_at),
        ',' ORDER BY id), ''))
    FROM scoring_score
"""
CHANGES_CHECKSUM = """
    SELECT count(*), md5(coalesce(string_agg(
        concat_ws('|', id, score_id, stage, old_value, new_value, note, source, changed_by_id,
                  changed_at),
        ',' ORDER BY id), ''))
    FROM scoring_scorechange
"""


def libpq() -> tuple[list[str], dict]:
    """Host, port and user for the PostgreSQL tools, and an environment with the password."""
    db = connection.settings_dict
    args = ["--host", db["HOST"] or "localhost"]
    if db["PORT"]:
        args += ["--port", str(db["PORT"])]
    if db["USER"]:
        args += ["--username", db["USER"]]
    env = {**os.environ}
    if db["PASSWORD"]:
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def connect(name: str):
    db = connection.settings_dict
    return psycopg2.connect(
        dbname=name,
        host=db["HOST"] or "localhost",
        port=db["PORT"] or 5432,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
    )


def snapshot(name: str) -> dict:
    """Row count of every table, every sequence's position, and checksums of the scores."""
    conn = connect(name)
    with conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' "
            "ORDER BY sequencename"
        )
        sequences = dict(cursor.fetchall())
        cursor.execute(SCORES_CHECKSUM)
        scores = cursor.fetchone()
        cursor.execute(CHANGES_CHECKSUM)
        changes = cursor.fetchone()
    conn.close()
    return {"counts": counts, "sequences": sequences, "scores": scores, "changes": changes}


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def drop(name: str) -> None:
    admin = connect("postgres")
    admin.autocommit = True  # DROP DATABASE runs outside a transaction
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


@pytest.fixture
def restored_name():
    name = f"{connection.settings_dict['NAME']}_restored"
    drop(name)
    yield name
    drop(name)


def test_a_dump_restores_to_the_same_rows_scores_and_files(media, tmp_path, restored_name):
    world = security_world_build()
    place = world.places["A"]
    scores_save(  # a round of audited changes, so the audit tables have rows too
        user=place.official,
        stage=ScoreStage.TOWNSHIP,
        inputs=[
            ScoreInput(
                assessment_id=p.assessment.id,
                indicator_id=p.indicator.id,
                value=Decimal("52.5"),
                note="备份前修改",
            )
            for p in (place,)
        ],
    )
    source = connection.settings_dict["NAME"]
    dump = tmp_path / "hongqi.dump"
    archive = tmp_path / "hongqi-media.tar.gz"

    # The commands of docs/BACKUP.md: custom format, then the media folder.
    args, env = libpq()
    tool = {"env": env, "check": True, "timeout": 120}
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", "--file", str(dump), *args, source], **tool
    )
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(media, arcname=".")
    subprocess.run(
        ["createdb", "--template=template0", "--encoding=UTF8", *args, restored_name], **tool
    )
    subprocess.run(
        [
            "pg_restore",
            "--jobs=2",
            "--no-owner",
            "--exit-on-error",
            *args,
            "--dbname",
            restored_name,
            str(dump),
        ],
        **tool,
    )
    unpacked = tmp_path / "media-restored"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")

    original, restored = snapshot(source), snapshot(restored_name)
    assert restored["counts"] == original["counts"]
    assert restored["sequences"] == original["sequences"]
    assert restored["scores"] == original["scores"]
    assert restored["changes"] == original["changes"]
    assert tree_digest(unpacked) == tree_digest(media)
    for table in (
        "scoring_score",
        "scoring_scorechange",
        "scoring_evidence",
        "scoring_rectificationevent",
        "scoring_adjustmentproposal",
        "villages_user",
    ):
        assert original["counts"][table] > 0, f"{table} is empty: the comparison proves little"
    print(
        f"\nbackup/restore: {len(original['counts'])} tables ({sum(original['counts'].values())} "
        f"rows), {len(original['sequences'])} sequences, {original['scores'][0]} scores "
        f"(md5 {original['scores'][1][:12]}…), {len(tree_digest(media))} media files: identical"
    )
