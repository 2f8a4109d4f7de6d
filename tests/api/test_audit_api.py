"""GET /api/audit-events: ADMINs read their organization's security audit log."""

from __future__ import annotations

import pytest

from tests.api.helpers import assert_problem

EVENT_FIELDS = {
    "id",
    "occurredAt",
    "action",
    "actorUserId",
    "actorEmail",
    "subjectUserId",
    "clientAddress",
    "details",
}


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_get_403(api, tenant, role):
    answer = api.as_user(getattr(tenant, role)).get("/api/audit-events")
    body = assert_problem(answer, 403)
    assert "administrator" in body["detail"]


def test_without_a_token_401(api):
    assert_problem(api.client().get("/api/audit-events"), 401)


def test_an_admin_sees_sign_ins_and_role_changes_newest_first(api, tenant, other_tenant):
    admin = api.as_user(tenant.admin)  # signs in: auth.sign_in_succeeded
    api.as_user(other_tenant.admin)
    changed = admin.patch(f"/api/users/{tenant.viewer.id}", json={"role": "EDITOR"})
    assert changed.status_code == 200, changed.text

    answer = admin.get("/api/audit-events")
    assert answer.status_code == 200, answer.text
    listed = answer.json()
    assert all(set(e) == EVENT_FIELDS for e in listed)
    assert [e["id"] for e in listed] == sorted((e["id"] for e in listed), reverse=True)
    assert listed[0]["action"] == "user.role_changed"
    assert listed[0]["details"] == {"email": tenant.viewer.email, "from": "VIEWER", "to": "EDITOR"}
    assert listed[0]["actorUserId"] == str(tenant.admin.id)
    sign_ins = [e for e in listed if e["action"] == "auth.sign_in_succeeded"]
    assert [e["actorEmail"] for e in sign_ins] == [tenant.admin.email]  # not the other org's

    only = admin.get("/api/audit-events", params={"action": "user.created", "limit": 2})
    assert [e["action"] for e in only.json()] == ["user.created", "user.created"]
    assert 'rel="next"' in only.headers["link"]
    older = admin.get(only.headers["link"].split(">")[0].lstrip("<"))
    assert [e["action"] for e in older.json()] == ["user.created"]
    assert older.json()[0]["id"] < only.json()[-1]["id"]


def test_bad_filters_are_422(api, tenant):
    admin = api.as_user(tenant.admin)
    assert_problem(admin.get("/api/audit-events", params={"action": "nope"}), 422, "action")
    assert_problem(admin.get("/api/audit-events", params={"limit": 0}), 422, "limit")
    assert_problem(admin.get("/api/audit-events", params={"since": "yesterday"}), 422, "since")
