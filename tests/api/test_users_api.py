"""User management by ADMINs, within their own organization only."""

from __future__ import annotations

import uuid

import pytest

from tests.api.helpers import assert_problem, snapshot

USER_FIELDS = {"id", "email", "name", "role", "active", "organizationId"}


def test_list_users(api, tenant):
    answer = api.as_user(tenant.admin).get("/api/users")
    assert answer.status_code == 200
    listed = answer.json()
    assert all(set(u) == USER_FIELDS for u in listed)
    assert {u["id"] for u in listed} == {
        str(u.id) for u in (tenant.admin, tenant.editor, tenant.viewer)
    }
    assert all(u["organizationId"] == str(tenant.org_id) and u["active"] for u in listed)
    assert "password" not in answer.text.lower()


def test_create_user_who_can_then_sign_in(api, tenant):
    email = f"new-{uuid.uuid4().hex[:8]}@example.test"
    answer = api.as_user(tenant.admin).post(
        "/api/users",
        json={
            "email": f" {email.upper()} ",
            "name": "Jane Mwangi",
            "role": "EDITOR",
            "password": "long enough!",
        },
    )
    assert answer.status_code == 201, answer.text
    user = answer.json()
    assert set(user) == USER_FIELDS
    assert user["email"] == email and user["role"] == "EDITOR" and user["active"] is True
    assert answer.headers["location"] == f"/api/users/{user['id']}"
    token = api.client().post("/api/auth/token", json={"email": email, "password": "long enough!"})
    assert token.status_code == 200


def test_email_in_use_in_the_same_organization_is_409(api, tenant, other_tenant):
    client = api.as_user(tenant.admin)
    body = {
        "email": tenant.viewer.email,
        "name": "Copy",
        "role": "VIEWER",
        "password": "long enough!",
    }
    assert_problem(client.post("/api/users", json=body), 409)
    # Another organization's address is not "in use" here: nothing tells it exists.
    body["email"] = other_tenant.viewer.email
    answer = client.post("/api/users", json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["organizationId"] == str(tenant.org_id)
    assert answer.json()["id"] != str(other_tenant.viewer.id)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password": "short"}, "password"),
        ({"password": 1234567890}, "password"),
        ({"role": "OWNER"}, "role"),
        ({"role": "admin"}, "role"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a\u0000@b.test"}, "email"),
        ({"name": ""}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"isAdmin": True}, "isAdmin"),
    ],
)
def test_create_user_rules(api, tenant, changes, field):
    body = {"email": "x@example.test", "name": "X", "role": "VIEWER", "password": "long enough!"}
    body.update(changes)
    before = snapshot(tenant)
    assert_problem(api.as_user(tenant.admin).post("/api/users", json=body), 422, field)
    assert snapshot(tenant) == before


def test_update_user(api, tenant):
    client = api.as_user(tenant.admin)
    path = f"/api/users/{tenant.viewer.id}"
    promoted = client.patch(path, json={"role": "EDITOR", "name": "Carol N."})
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["role"] == "EDITOR" and promoted.json()["name"] == "Carol N."
    unchanged = client.patch(path, json={})
    assert unchanged.json() == promoted.json()
    nulls = client.patch(path, json={"role": None, "active": None, "name": None})
    assert nulls.json() == promoted.json()
    deactivated = client.patch(path, json={"active": False})
    assert deactivated.json()["active"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "GOD"}, "role"),
        ({"active": "no"}, "active"),
        ({"active": 0}, "active"),
        ({"name": "  "}, "name"),
        ({"email": "new@example.test"}, "email"),
        ({"password": "new password!"}, "password"),
    ],
)
def test_update_user_rules(api, tenant, body, field):
    before = snapshot(tenant)
    answer = api.as_user(tenant.admin).patch(f"/api/users/{tenant.viewer.id}", json=body)
    assert_problem(answer, 422, field)
    assert snapshot(tenant) == before


def test_the_last_active_admin_stays(api, tenant):
    client = api.as_user(tenant.admin)
    path = f"/api/users/{tenant.admin.id}"
    assert_problem(client.patch(path, json={"role": "EDITOR"}), 409)
    assert_problem(client.patch(path, json={"active": False}), 409)
    assert client.patch(f"/api/users/{tenant.editor.id}", json={"role": "ADMIN"}).status_code == 200
    assert client.patch(path, json={"role": "EDITOR"}).status_code == 200


def test_unknown_or_foreign_user_is_404(api, tenant, other_tenant):
    client = api.as_user(tenant.admin)
    before = snapshot(other_tenant)
    assert_problem(client.patch(f"/api/users/{uuid.uuid4()}", json={"role": "VIEWER"}), 404)
    assert_problem(client.patch(f"/api/users/{other_tenant.admin.id}", json={"active": False}), 404)
    assert snapshot(other_tenant) == before
    assert_problem(client.patch("/api/users/not-a-uuid", json={}), 422, "id")
