"""Every `capital-app` command, run as a real process, including its error exits."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import uuid

from capital_app.service import history_queries as queries
from capital_app.service.actor import Actor
from capital_app.service.authentication import authenticate
from capital_app.service.organizations import find_organization


def run(*args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "capital_app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("capital-app: "), result.stderr
    return lines[0]


def test_migrate_is_idempotent(database_url):
    first, second = run("migrate"), run("migrate")
    assert first.returncode == second.returncode == 0, first.stderr


def test_create_org_prints_its_id_and_refuses_duplicates(database_url):
    name = f"CLI Org {secrets.token_hex(3)}"
    result = run("create-org", name)
    assert result.returncode == 0, result.stderr
    assert uuid.UUID(result.stdout.strip()) == find_organization(name).id
    assert "already exists" in one_line_error(run("create-org", name.upper()))
    assert "Name" in one_line_error(run("create-org", "   "))
    assert "Currency" in one_line_error(run("create-org", "X Ltd", "--currency", "kes"))


def test_create_user_reads_the_password_from_stdin(database_url):
    org = f"CLI Users {secrets.token_hex(3)}"
    run("create-org", org)
    email = f"cfo-{secrets.token_hex(3)}@example.test"
    result = run(
        "create-user",
        "--org",
        org,
        "--email",
        email,
        "--name",
        "Wanjiku",
        "--role",
        "ADMIN",
        "--password-stdin",
        stdin="a long passphrase\n",
    )
    assert result.returncode == 0, result.stderr
    user = authenticate(email, "a long passphrase", "cli-test")
    assert str(user.id) == result.stdout.strip() and user.role.value == "ADMIN"

    base = [
        "create-user",
        "--org",
        org,
        "--email",
        "x@example.test",
        "--name",
        "X",
        "--role",
        "VIEWER",
    ]
    assert "--password-stdin" in one_line_error(run(*base))
    assert "at least 10" in one_line_error(run(*base, "--password-stdin", stdin="short\n"))
    assert "No organization" in one_line_error(
        run(
            "create-user",
            "--org",
            "Nope Ltd",
            "--email",
            "y@example.test",
            "--name",
            "Y",
            "--role",
            "VIEWER",
            "--password-stdin",
            stdin="a long passphrase\n",
        )
    )
    assert "already exists" in one_line_error(
        run(
            "create-user",
            "--org",
            org,
            "--email",
            email,
            "--name",
            "Twin",
            "--role",
            "VIEWER",
            "--password-stdin",
            stdin="a long passphrase\n",
        )
    )
    bad_role = run(*base[:-1], "OWNER", "--password-stdin", stdin="a long passphrase\n")
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr


def test_seed_demo_creates_once_and_signs_in(database_url):
    first = run("seed-demo")
    second = run("seed-demo")
    assert first.returncode == second.returncode == 0, first.stderr
    assert "already present" in second.stdout
    user = authenticate("viewer@demo.capital-ledger.test", "demo-viewer-2026", "cli-test")
    actor = Actor(user.id, user.organization_id)
    assert len(queries.active_sources(actor)) == 5
    assert queries.count_history(actor) == 13


def test_rebuild_projections_for_one_and_for_all(database_url):
    run("seed-demo")
    one = run("rebuild-projections", "--org", "demo treasury ltd")
    assert one.returncode == 0, one.stderr
    report = json.loads(one.stdout)
    assert report["sources"] == 6 and report["corrected"] == 0
    every = run("rebuild-projections")
    assert every.returncode == 0, every.stderr
    assert len(every.stdout.strip().splitlines()) >= 1
    assert "No organization" in one_line_error(run("rebuild-projections", "--org", "Nope Ltd"))


def test_an_unreachable_database_is_one_clear_line(database_url):
    result = run("migrate", env={"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"})
    line = one_line_error(result)
    assert "Traceback" not in result.stderr and "cannot reach the database" in line


def test_usage_errors_exit_with_2():
    result = run("no-such-command")
    assert result.returncode == 2
