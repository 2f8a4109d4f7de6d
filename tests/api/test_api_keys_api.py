"""API keys over a real server: created by ADMINs, scoped, revoked at once, tenant-bound."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from capital_app.auth.api_keys import secret_sha256
from capital_app.db.engine import owner_engine
from tests.api.helpers import assert_problem, day
from tests.support.factories import add_source


def create_key(api, tenant, scopes, name="ERP sync", **extra):
    answer = api.as_user(tenant.admin).post(
        "/api/api-keys", json={"name": name, "scopes": scopes, **extra}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def key_client(api, secret):
    return api.client(token=secret)


ADD = {
    "source": {"name": "Key loan", "annualRate": 0.1, "availableCents": 100_000},
    "effectiveDate": day(3),
}

# endpoint class → (method, path, body); each answers 2xx to a key with its scope.
ENDPOINTS = {
    "read": ("GET", "/api/wacc", None),
    "read-history": ("GET", "/api/capital-history?limit=5", None),
    "read-known-at": ("GET", "/api/wacc/series?knownAt=2026-01-01", None),
    "feed": ("GET", "/api/events?limit=5", None),
    "write": ("POST", "/api/capital-history/add-source", ADD),
    "admin": ("GET", "/api/users", None),
    "keys": ("GET", "/api/api-keys", None),
}
READS = {"read", "read-history", "read-known-at", "feed"}
ALLOWED = {
    "read": READS,
    "write": {*READS, "write"},
    "admin": {*READS, "admin"},
}


def test_an_admin_creates_a_key_whose_secret_is_shown_once_and_stored_as_a_hash(api, tenant):
    created = create_key(api, tenant, ["write", "read"])
    secret = created["secret"]
    assert secret.startswith("clk_live_") and len(secret) >= 40
    assert secret.startswith(created["prefix"]) and len(created["prefix"]) == 17
    assert created["scopes"] == ["read", "write"]
    assert created["createdBy"] == str(tenant.admin.id)
    assert created["lastUsedAt"] is None and created["revokedAt"] is None
    listed = api.as_user(tenant.admin).get("/api/api-keys").json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert "secret" not in listed[0] and secret not in str(listed)
    with owner_engine().connect() as conn:
        stored = (
            conn.execute(text("SELECT * FROM api_key WHERE id = :id"), {"id": created["id"]})
            .mappings()
            .one()
        )
    assert stored["secret_sha256"] == secret_sha256(secret)
    assert secret not in str(dict(stored))


@pytest.mark.parametrize("scope", ["read", "write", "admin"])
def test_every_scope_against_every_endpoint_class(api, tenant, scope):
    secret = create_key(api, tenant, [scope], name=f"{scope} key")["secret"]
    client = key_client(api, secret)
    for endpoint, (method, path, body) in ENDPOINTS.items():
        if body is not None:
            body = {**body, "source": {**body["source"], "name": f"Loan {scope}"}}
        answer = client.request(method, path, json=body)
        if endpoint in ALLOWED[scope]:
            assert answer.status_code in (200, 201), (scope, endpoint, answer.text)
        else:
            problem = assert_problem(answer, 403)
            assert "key" in problem["detail"].lower(), problem


def test_a_key_cannot_create_or_revoke_keys_even_with_every_scope(api, tenant):
    created = create_key(api, tenant, ["read", "write", "admin"])
    client = key_client(api, created["secret"])
    assert_problem(client.post("/api/api-keys", json={"name": "x", "scopes": ["read"]}), 403)
    assert_problem(client.delete(f"/api/api-keys/{created['id']}"), 403)


@pytest.mark.parametrize("role", ["EDITOR", "VIEWER"])
def test_only_admins_manage_keys(api, tenant, role):
    user = tenant.editor if role == "EDITOR" else tenant.viewer
    client = api.as_user(user)
    assert_problem(client.get("/api/api-keys"), 403)
    assert_problem(client.post("/api/api-keys", json={"name": "x", "scopes": ["read"]}), 403)


def test_entries_written_with_a_key_name_the_key(api, tenant):
    created = create_key(api, tenant, ["write"], name="Nightly ERP")
    answer = key_client(api, created["secret"]).post("/api/capital-history/add-source", json=ADD)
    assert answer.status_code == 201, answer.text
    entry = answer.json()["entry"]
    assert entry["apiKeyId"] == created["id"] and entry["apiKeyName"] == "Nightly ERP"
    assert entry["createdBy"] == f"api-key:{created['id']}"
    listed = api.as_user(tenant.viewer).get("/api/capital-history?limit=10").json()
    assert [(e["apiKeyId"], e["apiKeyName"]) for e in listed] == [(created["id"], "Nightly ERP")]
    by_person = api.as_user(tenant.editor).post(
        "/api/capital-history/add-source",
        json={**ADD, "source": {**ADD["source"], "name": "By hand"}},
    )
    assert by_person.json()["entry"]["apiKeyId"] is None


def test_revocation_refuses_the_very_next_request(api, tenant):
    created = create_key(api, tenant, ["read"])
    client = key_client(api, created["secret"])
    assert client.get("/api/wacc").status_code == 200
    revoked = api.as_user(tenant.admin).delete(f"/api/api-keys/{created['id']}")
    assert revoked.status_code == 200 and revoked.json()["revokedAt"] is not None
    problem = assert_problem(client.get("/api/wacc"), 401)
    assert "revoked" in problem["detail"]
    again = api.as_user(tenant.admin).delete(f"/api/api-keys/{created['id']}")
    assert again.json()["revokedAt"] == revoked.json()["revokedAt"]


def test_creating_and_revoking_a_key_are_in_the_audit_log_without_its_secret(api, tenant):
    admin = api.as_user(tenant.admin)
    created = create_key(api, tenant, ["read", "write"], name="Payroll export")
    assert admin.delete(f"/api/api-keys/{created['id']}").status_code == 200
    assert admin.delete(f"/api/api-keys/{created['id']}").status_code == 200  # no second event

    actions = ["integration.api_key_created", "integration.api_key_revoked"]
    events = admin.get("/api/audit-events", params={"action": actions}).json()
    assert [e["action"] for e in events] == list(reversed(actions))  # newest first
    for event in events:
        assert event["actorUserId"] == str(tenant.admin.id)
        assert event["details"]["apiKeyId"] == created["id"]
        assert event["details"]["name"] == "Payroll export"
        assert event["details"]["scopes"] == created["scopes"]
        assert created["secret"] not in str(event)
        assert created["secret"][len(created["prefix"]) :] not in str(event)


def test_an_expired_key_is_refused(api, tenant):
    expires = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    created = create_key(api, tenant, ["read"], expiresAt=expires)
    client = key_client(api, created["secret"])
    assert client.get("/api/wacc").status_code == 200
    time.sleep(2.5)
    problem = assert_problem(client.get("/api/wacc"), 401)
    assert "expired" in problem["detail"]


def test_a_key_of_another_organization_sees_and_touches_nothing_here(api, tenant, other_tenant):
    mine = add_source(tenant.actor(), name="Ours")
    theirs = create_key(api, other_tenant, ["read", "write", "admin"])
    client = key_client(api, theirs["secret"])
    assert_problem(client.get(f"/api/capital-history/{mine}"), 404)
    assert client.get("/api/capital-history?limit=10").json() == []
    ids = {u["id"] for u in client.get("/api/users").json()}
    assert str(tenant.admin.id) not in ids
    my_key = create_key(api, tenant, ["read"])
    assert_problem(api.as_user(other_tenant.admin).delete(f"/api/api-keys/{my_key['id']}"), 404)
    assert key_client(api, my_key["secret"]).get("/api/wacc").status_code == 200


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "x", "scopes": ["read", "superuser"]}, "scopes"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": "read"}, "scopes"),
        ({"name": "  ", "scopes": ["read"]}, "name"),
        ({"name": "x", "scopes": ["read"], "expiresAt": "2020-01-01"}, "expiresAt"),
    ],
)
def test_bad_key_requests_are_refused_and_store_nothing(api, tenant, body, field):
    client = api.as_user(tenant.admin)
    assert_problem(client.post("/api/api-keys", json=body), 422, field)
    assert client.get("/api/api-keys").json() == []


@pytest.mark.parametrize("secret", ["clk_live_not-a-key", "clk_live_", "clk_live_" + "A" * 43])
def test_unknown_keys_are_refused(api, secret):
    problem = assert_problem(key_client(api, secret).get("/api/wacc"), 401)
    assert "API key" in problem["detail"]


def test_last_used_is_recorded(api, tenant):
    created = create_key(api, tenant, ["read"])
    assert key_client(api, created["secret"]).get("/api/wacc").status_code == 200
    listed = api.as_user(tenant.admin).get("/api/api-keys").json()
    assert listed[0]["lastUsedAt"] is not None
