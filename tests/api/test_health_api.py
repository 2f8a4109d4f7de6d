"""GET /api/health, and what an unexpected failure looks like from outside."""

from __future__ import annotations

import re

from capital_app.service.authentication import issue_api_token
from capital_app.service.health import migration_head
from tests.api.helpers import assert_problem
from tests.support.api_server import start_api_server


def test_health_needs_no_sign_in_and_reports_each_part(api):
    answer = api.client().get("/api/health")
    assert answer.status_code == 200
    head = migration_head()
    assert head is not None
    body = answer.json()
    pool = body["database"].pop("pool")
    assert body == {
        "status": "ok",
        "database": {"reachable": True, "revision": head, "head": head, "upToDate": True},
        "realtime": {"state": "not running"},
    }
    assert pool["size"] == 5 and pool["maxOverflow"] == 10 and pool["timeoutSeconds"] == 1.0
    assert 0 <= pool["checkedOut"] <= 15 and pool["overflow"] >= 0
    assert answer.headers["cache-control"] == "no-store"


def test_docs_and_openapi_are_served(api):
    client = api.client()
    document = client.get("/api/openapi.json").json()
    assert document["info"]["title"] == "Capital Ledger API"
    assert "/api/capital-history/add-source" in document["paths"]
    assert client.get("/api/docs").status_code == 200


def test_a_broken_database_gives_503_health_and_500_problems_without_details(database_url, tenant):
    # The runtime role does not exist: every connection logs in (as this run's login
    # role) and then fails with an SQL error whose text must never reach a client.
    from capital_app.db.engine import libpq_url, runtime_database_url

    login = libpq_url(runtime_database_url())
    server = start_api_server(
        {"CAPITAL_RUNTIME_ROLE": "no_such_role", "CAPITAL_RUNTIME_DATABASE_URL": login},
        expect_healthy=False,
    )
    try:
        import httpx

        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            health = client.get("/api/health")
            assert health.status_code == 503
            assert health.json()["status"] == "unavailable"
            assert health.json()["database"]["reachable"] is False
            assert "no_such_role" not in health.text

            token, _ = issue_api_token(tenant.editor)
            answer = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
            body = assert_problem(answer, 500)
            assert "no_such_role" not in answer.text and "role" not in answer.text.lower()
            assert re.fullmatch(r"[0-9a-f]{32}", body["errorId"])
            assert body["errorId"] in body["detail"]
        server.stop()
        assert body["errorId"] in server.log()
    finally:
        server.stop()


def test_health_reports_the_listener_hook_it_is_given(database_url):
    from fastapi.testclient import TestClient

    from capital_app.api.app import create_api_app

    def connected():
        return {"state": "connected", "sessions": 3}

    def broken():
        raise RuntimeError("listener gone")

    with TestClient(create_api_app(listener_status=connected)) as client:
        assert client.get("/api/health").json()["realtime"] == {"state": "connected", "sessions": 3}
    with TestClient(create_api_app(listener_status=broken)) as client:
        answer = client.get("/api/health")
        assert answer.status_code == 200 and answer.json()["realtime"] == {"state": "unknown"}


def test_behind_reflex_every_api_path_still_answers_problems(database_url):
    """Reflex mounts its backend at "" inside this app (api_transformer)."""
    from fastapi.testclient import TestClient
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from capital_app.api.app import create_api_app

    app = create_api_app()
    reflex_backend = Starlette(routes=[Route("/ping", lambda request: PlainTextResponse("pong"))])
    app.mount("", reflex_backend)
    with TestClient(app) as client:
        assert client.get("/ping").text == "pong"
        assert_problem(client.get("/api/nothing-here"), 404)
        assert_problem(client.delete("/api/wacc"), 405)
        assert client.get("/api/health").status_code == 200


def test_health_probes_do_not_open_an_owner_connection_each(api):
    """Unauthenticated probes: the owner-side revision check is cached per process, the
    runtime check uses the pool. Counted as sessions PostgreSQL established (every
    connection, closed ones too) to this run's database."""
    from sqlalchemy import text

    from capital_app.db.engine import owner_engine

    def sessions() -> int:
        engine = owner_engine()
        try:
            with engine.connect() as conn:
                return conn.execute(
                    text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
                ).scalar_one()
        finally:
            engine.dispose()

    client = api.client()
    client.get("/api/health")  # warm: the pool's connection and one revision read
    before = sessions()
    for _ in range(50):
        assert client.get("/api/health").status_code == 200
    opened = sessions() - before - 1  # minus this test's own counting connection
    assert opened < 10, f"50 probes opened {opened} connections"
