"""The structured log of a real server (CAPITAL_LOG_FORMAT=json): one line per request
with its ids, one per command and per problem, and never a password, token or secret."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from capital_app.service import api_keys
from capital_app.service.demo import DEMO_USERS, seed_demo
from capital_app.settings import get_settings
from tests.support.api_server import ApiServer, start_api_server
from tests.support.factories import PASSWORD, Tenant, make_tenant

ADD = "/api/capital-history/add-source"


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[ApiServer]:
    server = start_api_server({"CAPITAL_LOG_FORMAT": "json"})
    yield server
    server.stop()


def lines(server: ApiServer) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in server.log().splitlines() if line.startswith("{")]


def request_line(server: ApiServer, request_id: str) -> dict[str, Any]:
    """The request's line: written once the response has gone, so it may lag a little."""
    deadline = time.monotonic() + 10
    while True:
        found = [
            line
            for line in lines(server)
            if line["logger"] == "capital_app.request" and line.get("request_id") == request_id
        ]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(found) == 1, found
    return found[0]


def test_request_lines_carry_ids_and_no_secrets(server: ApiServer) -> None:
    seed_demo()
    base = server.base_url
    secrets_seen: list[str] = [get_settings().jwt_secret]
    tokens = {}
    for email, _name, role, password in DEMO_USERS:
        secrets_seen.append(password)
        answer = httpx.post(
            f"{base}/api/auth/token",
            json={"email": email, "password": password},
            headers={"X-Request-ID": f"sign-in-{role}"},
        )
        assert answer.status_code == 200, answer.text
        tokens[role] = answer.json()["accessToken"]
        secrets_seen.append(tokens[role])
    wrong = httpx.post(
        f"{base}/api/auth/token",
        json={"email": DEMO_USERS[0][0], "password": "not-" + DEMO_USERS[0][3]},
        headers={"X-Request-ID": "wrong-password"},
    )
    assert wrong.status_code == 401
    secrets_seen.append("not-" + DEMO_USERS[0][3])
    # Writes go to an organization of this test's own: the demo's content is what the
    # CLI tests check, in the same database.
    tenant: Tenant = make_tenant("Logs")
    own = httpx.post(
        f"{base}/api/auth/token", json={"email": tenant.editor.email, "password": PASSWORD}
    )
    assert own.status_code == 200, own.text
    secrets_seen.append(own.json()["accessToken"])
    editor = {"Authorization": f"Bearer {own.json()['accessToken']}"}
    read = httpx.get(
        f"{base}/api/capital-sources/active", headers={**editor, "X-Request-ID": "read-1"}
    )
    assert read.status_code == 200
    added = httpx.post(
        f"{base}{ADD}",
        json={
            "source": {"name": "Log test loan", "annualRate": 0.1, "availableCents": 100000},
            "effectiveDate": "2026-03-01",
        },
        headers={**editor, "X-Request-ID": "add-1"},
    )
    assert added.status_code == 201, added.text
    key = api_keys.create_key(tenant.actor("ADMIN"), name="log test", scopes=["read"])
    secrets_seen.append(key.secret)
    by_key = httpx.get(
        f"{base}/api/capital-sources/active",
        headers={"Authorization": f"Bearer {key.secret}", "X-Request-ID": "key-1"},
    )
    assert by_key.status_code == 200

    signed_in = request_line(server, "sign-in-ADMIN")
    assert signed_in["route"] == "/api/auth/token" and signed_in["status"] == 200
    refused = request_line(server, "wrong-password")
    assert refused["status"] == 401
    assert refused["problem_type"] == "urn:capital-ledger:problem:authentication-failed"
    line = request_line(server, "read-1")
    assert line["method"] == "GET" and line["route"] == "/api/capital-sources/active"
    assert line["status"] == 200 and isinstance(line["duration_ms"], float)
    assert line["user_id"] and line["organization_id"] and line["api_key_id"] is None
    added_line = request_line(server, "add-1")
    assert added_line["status"] == 201 and added_line["user_id"] == line["user_id"]
    command = [
        c
        for c in lines(server)
        if c["logger"] == "capital_app.command" and c.get("request_id") == "add-1"
    ]
    assert len(command) == 1
    assert command[0]["kind"] == "ADDED"
    assert command[0]["organization_id"] == line["organization_id"]
    assert command[0]["source_id"] == added.json()["sourceId"]
    assert isinstance(command[0]["revision"], int)
    key_line = request_line(server, "key-1")
    assert key_line["api_key_id"] == str(key.key.id)
    assert key_line["organization_id"] == str(tenant.org_id)

    log = server.log()
    for secret in secrets_seen:
        assert secret not in log


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("client-abc.123", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("has space", False),
        ('quote"here', False),
        (None, False),
    ],
)
def test_x_request_id_round_trip(server: ApiServer, sent: str | None, kept: bool) -> None:
    headers = {"X-Request-ID": sent} if sent is not None else {}
    answer = httpx.get(f"{server.base_url}/api/health", headers=headers)
    returned = answer.headers["x-request-id"]
    if kept:
        assert returned == sent
    else:
        assert returned != sent and len(returned) == 32 and returned.isalnum()
    assert request_line(server, returned)["route"] == "/api/health"
