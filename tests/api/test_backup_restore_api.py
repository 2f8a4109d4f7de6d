"""The issue's acceptance test: backup → restore into a fresh database → `verify` passes
and every API read answers the same, for the whole database and for one organization.

Two real servers: the suite's, on the original database, and one started on the
restored database (same data folder, so the same JWT secret and login password:
tokens issued before the backup work on both, and no sign-in adds an audit event).
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from capital_app.service import history_commands as commands
from capital_app.service import users
from tests.cli.test_cli import run
from tests.support.api_server import start_api_server
from tests.support.database import create_test_database, drop_test_database
from tests.support.factories import add_source, days_ago


def _arrange(api, tenant) -> dict[str, str]:
    """A history with every action, a user change, sign-ins: tokens for each role."""
    editor = tenant.actor("EDITOR")
    loan = add_source(editor, name="KCB term loan", cents=250_000_000_00, rate="0.1325", days=200)
    line = add_source(editor, name="Equity overdraft", cents=50_000_000_00, rate="0.145", days=150)
    add_source(editor, name="Share capital", cents=900_000_000_00, rate="0.18", days=120)
    commands.update_rate(
        editor, source_id=loan, annual_rate=Decimal("0.14"), effective_date=days_ago(90)
    )
    commands.update_amount(
        editor, source_id=line, available_cents=70_000_000_00, effective_date=days_ago(60)
    )
    commands.remove_source(editor, source_id=line, effective_date=days_ago(10))
    users.update_user(tenant.actor("ADMIN"), tenant.viewer.id, name="Renamed Viewer")
    admin = api.as_user(tenant.admin)
    renamed = admin.patch("/api/organization", json={"name": f"{tenant.organization.name} Ltd"})
    assert renamed.status_code == 200, renamed.text
    return {role: api.token(getattr(tenant, role)) for role in ("admin", "editor", "viewer")}


def _reads(base_url: str, tokens: dict[str, str], now: datetime) -> dict[str, object]:
    """Every read of the API a member can make, by each role, keyed by request."""
    as_of = (now - timedelta(days=30)).date().isoformat()
    known_at = now.isoformat().replace("+00:00", "Z")
    start = (now - timedelta(days=365)).date().isoformat()
    end = now.date().isoformat()
    paths = [
        "/api/me",
        "/api/organization",
        "/api/capital-history",
        "/api/capital-history?limit=2",
        "/api/capital-history?action=RATE_CHANGED",
        f"/api/capital-sources/active?knownAt={known_at}",
        f"/api/capital-sources/active?asOf={as_of}&knownAt={known_at}",
        f"/api/wacc?asOf={end}T00:00:00Z&knownAt={known_at}",
        f"/api/wacc?asOf={as_of}&knownAt={known_at}",
        f"/api/wacc/series?startDate={start}&endDate={end}&interval=week",
        f"/api/wacc/series?startDate={start}&endDate={end}&interval=month",
        "/api/capital-history/export?format=json",
        "/api/capital-history/export?format=csv",
    ]
    admin_paths = ["/api/users", "/api/audit-events?limit=500", "/api/api-keys"]
    answers: dict[str, object] = {}
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for role, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}"}
            # The admin's reads first: the exports below add audit events.
            for path in (admin_paths if role == "admin" else []) + paths:
                answer = client.get(path, headers=headers)
                body = answer.text
                if answer.headers.get("content-type", "").startswith("application/json"):
                    body = answer.json()
                link = (answer.headers.get("link") or "").replace(base_url, "")
                answers[f"{role} {path}"] = (answer.status_code, link, body)
    first_source = next(
        entry
        for entry in answers["admin /api/capital-history"][2]  # type: ignore[index]
    )["sourceId"]
    with httpx.Client(base_url=base_url, timeout=60) as client:
        answer = client.get(
            f"/api/capital-history/{first_source}",
            headers={"Authorization": f"Bearer {tokens['viewer']}"},
        )
        answers["viewer one source"] = (answer.status_code, answer.json())
    return answers


def _assert_same_reads(original: dict[str, object], restored: dict[str, object]) -> None:
    assert restored.keys() == original.keys()
    for key, answer in original.items():
        assert answer[0] == 200, (key, answer)  # type: ignore[index]
        assert restored[key] == answer, key


@pytest.fixture
def fresh_database(database_url):
    url = create_test_database("capital_restore")
    yield url
    drop_test_database(url)


@pytest.fixture
def work_dir():
    with tempfile.TemporaryDirectory(prefix="capital-backup-test-") as path:
        yield Path(path)


def _restore_and_compare(api, fresh_database, archive: Path, tokens, org_id) -> dict:
    env = {"DATABASE_URL": fresh_database}
    restored = run("restore", str(archive), env=env)
    assert restored.returncode == 0, restored.stderr
    report = json.loads(restored.stdout)
    verified = run("verify", env=env)
    assert verified.returncode == 0, verified.stderr
    checked = [json.loads(line) for line in verified.stdout.splitlines()]
    assert str(org_id) in {c["organizationId"] for c in checked}
    assert all(c["clean"] for c in checked)

    now = datetime.now(UTC)
    original = _reads(api.base_url, tokens, now)
    server = start_api_server({"DATABASE_URL": fresh_database})
    try:
        _assert_same_reads(original, _reads(server.base_url, tokens, now))
    finally:
        server.stop()
    return report


def test_whole_database_backup_restores_to_the_same_answers(
    api, tenant, other_tenant, fresh_database, work_dir
):
    tokens = _arrange(api, tenant)
    add_source(other_tenant.actor("EDITOR"), name="Other's loan")
    archive = work_dir / "all.tar.gz"
    made = run("backup", "-o", str(archive))
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["kind"] == "database"
    assert oct(os.stat(archive).st_mode & 0o777) == "0o600"

    report = _restore_and_compare(api, fresh_database, archive, tokens, tenant.org_id)
    assert report["kind"] == "database"


def test_one_organization_backup_restores_to_the_same_answers(
    api, tenant, other_tenant, fresh_database, work_dir
):
    tokens = _arrange(api, tenant)
    archive = work_dir / "one.tar.gz"
    made = run("backup", "-o", str(archive), "--organization", str(tenant.org_id))
    assert made.returncode == 0, made.stderr
    made_report = json.loads(made.stdout)
    assert made_report["organizationId"] == str(tenant.org_id)
    assert made_report["rows"]["capital_history"] == 6
    assert made_report["rows"]["app_user"] == 3

    report = _restore_and_compare(api, fresh_database, archive, tokens, tenant.org_id)
    assert report["kind"] == "organization" and report["replaced"] is False
    assert report["rows"] == made_report["rows"]
    # Only that organization came over.
    verified = run("verify", env={"DATABASE_URL": fresh_database})
    assert [json.loads(x)["organizationId"] for x in verified.stdout.splitlines()] == [
        str(tenant.org_id)
    ]

    # Restoring it again is refused unless told; with --replace the answers stay the same.
    env = {"DATABASE_URL": fresh_database}
    again = run("restore", str(archive), env=env)
    assert again.returncode == 1 and "--replace" in again.stderr
    replaced = run("restore", str(archive), "--replace", env=env)
    assert replaced.returncode == 0, replaced.stderr
    assert json.loads(replaced.stdout)["replaced"] is True
    assert run("verify", env=env).returncode == 0
