"""`capital-app run` refuses bad ports before touching anything (serving is tested in e2e/)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "capital_app", "run", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )


def test_a_port_in_use_is_refused_with_a_one_line_reason() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("--port", str(port))

    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"capital-app: Port {port} is in use; pass --port with a free one."
    )
    assert result.stdout == ""  # nothing migrated, seeded or started


@pytest.mark.parametrize("port", ["0", "65536", "abc", "-1"])
def test_a_value_that_is_not_a_port_is_a_usage_error(port: str) -> None:
    result = run("--port", port)

    assert result.returncode == 2
    assert "is not a port (a number from 1 to 65535)" in result.stderr


# --- what `run` seeds, and where it listens (issue 17) ---------------------------------


@pytest.fixture
def fresh_database(monkeypatch: pytest.MonkeyPatch):
    """A database of its own (DATABASE_URL): no demo organization in it yet."""
    from capital_app.db.engine import reset_engines
    from capital_app.settings import get_settings
    from tests.support.database import create_test_database, drop_test_database

    url = create_test_database("capital_run")
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    reset_engines()
    yield url
    reset_engines()
    monkeypatch.undo()
    get_settings.cache_clear()
    drop_test_database(url)


def _run_without_serving(monkeypatch: pytest.MonkeyPatch, *args: str) -> list[str]:
    """`capital-app run …` in this process up to the point where it would start Reflex."""
    from capital_app import cli, launcher

    started: list[str] = []
    monkeypatch.setattr(launcher, "pin_web_package_json", lambda: None)
    monkeypatch.setattr(launcher, "_serve", lambda port, url, host: started.append(host) or 0)
    assert cli.main(["run", "--port", str(_free_port()), *args]) == 0
    return started


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _demo_exists() -> bool:
    from capital_app.service.demo import DEMO_ORGANIZATION
    from capital_app.service.errors import NotFound
    from capital_app.service.organizations import find_organization

    try:
        find_organization(DEMO_ORGANIZATION)
    except NotFound:
        return False
    return True


def test_run_on_a_named_database_seeds_no_demo_and_listens_on_localhost(
    fresh_database, monkeypatch, capsys
) -> None:
    monkeypatch.delenv("CAPITAL_SEED_DEMO", raising=False)
    hosts = _run_without_serving(monkeypatch)
    assert hosts == ["127.0.0.1"]
    assert not _demo_exists()
    out = capsys.readouterr().out
    assert "demo-admin-2026" not in out and "pass --seed-demo" in out


def test_run_seeds_the_demo_when_asked_and_listens_where_told(
    fresh_database, monkeypatch, capsys
) -> None:
    hosts = _run_without_serving(monkeypatch, "--seed-demo", "--host", "0.0.0.0")
    assert hosts == ["0.0.0.0"]
    assert _demo_exists()
    assert "admin@demo.capital-ledger.test  password: demo-admin-2026" in capsys.readouterr().out


def test_reflex_is_told_to_listen_on_localhost_by_default() -> None:
    from capital_app.launcher import reflex_command

    command = reflex_command(3000)
    assert command[command.index("--backend-host") + 1] == "127.0.0.1"
