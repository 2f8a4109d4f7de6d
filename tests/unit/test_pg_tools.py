"""How pg_dump / pg_restore are given the connection: libpq's environment, never argv."""

from __future__ import annotations

from capital_app.db.pg_tools import connection_env


def test_a_server_url_becomes_libpq_variables(monkeypatch):
    monkeypatch.setenv("PGSERVICE", "someone-elses")
    env = connection_env("postgresql+psycopg://owner:s3cret@db.internal:6432/ledger")
    assert env["PGHOST"] == "db.internal" and env["PGPORT"] == "6432"
    assert env["PGUSER"] == "owner" and env["PGPASSWORD"] == "s3cret"
    assert env["PGDATABASE"] == "ledger"
    assert "PGSERVICE" not in env  # the caller's own PG* settings cannot redirect it


def test_the_embedded_servers_socket_url_names_its_folder():
    env = connection_env("postgresql://postgres:@/capital?host=/tmp/pgserver-abc")
    assert env["PGHOST"] == "/tmp/pgserver-abc"
    assert env["PGDATABASE"] == "capital" and env["PGUSER"] == "postgres"
    assert "PGPASSWORD" not in env and "PGPORT" not in env
