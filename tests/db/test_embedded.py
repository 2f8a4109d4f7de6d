"""The embedded PostgreSQL path works end to end, even when CI names a server.

Start from nothing, migrate, write, read; stop the server; start again and find
the data still there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psutil
import pytest

from capital_app.db.embedded import stop_embedded_server


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["CAPITAL_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "capital_app", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def _postmaster_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    return pid_file.exists() and psutil.pid_exists(int(pid_file.read_text().split()[0]))


@pytest.fixture
def data_dir():
    path = Path(tempfile.mkdtemp(prefix="cl-emb-"))
    yield path
    if _postmaster_running(path / "pgdata"):
        stop_embedded_server(path)
    shutil.rmtree(path, ignore_errors=True)


def test_embedded_server_keeps_data_across_restarts(data_dir):
    migrated = _cli(data_dir, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert _postmaster_running(data_dir / "pgdata")

    created = _cli(data_dir, "create-org", "Embedded Ltd")
    assert created.returncode == 0, created.stderr
    org_id = uuid.UUID(created.stdout.strip())

    stop_embedded_server(data_dir)
    assert not _postmaster_running(data_dir / "pgdata")

    again = _cli(data_dir, "rebuild-projections", "--org", "embedded ltd")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["organizationId"] == str(org_id)
    assert _postmaster_running(data_dir / "pgdata")
