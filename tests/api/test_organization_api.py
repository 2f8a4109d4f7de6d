"""GET /api/organization (any member) and PATCH /api/organization (ADMIN)."""

from __future__ import annotations

import secrets

import pytest

from capital_app.service import audit
from tests.api.helpers import assert_problem
from tests.support.factories import add_source

FIELDS = {"id", "name", "currency", "createdAt", "currencyChangeable"}


def _events(tenant, *actions):
    return audit.list_audit_events(tenant.actor("ADMIN"), actions=list(actions))


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_every_member_reads_the_organization(api, tenant, role):
    answer = api.as_user(getattr(tenant, role)).get("/api/organization")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == FIELDS
    assert body["id"] == str(tenant.org_id)
    assert body["name"] == tenant.organization.name
    assert body["currency"] == "KES"
    assert body["currencyChangeable"] is True  # no history yet


def test_without_a_token_401(api):
    assert_problem(api.client().get("/api/organization"), 401)
    assert_problem(api.client().patch("/api/organization", json={"name": "X"}), 401)


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_get_403_and_nothing_changes(api, tenant, role):
    answer = api.as_user(getattr(tenant, role)).patch("/api/organization", json={"name": "Mine"})
    body = assert_problem(answer, 403)
    assert "administrator" in body["detail"]
    read = api.as_user(tenant.admin).get("/api/organization").json()
    assert read["name"] == tenant.organization.name
    assert _events(tenant, "organization.renamed") == []


def test_an_admin_renames_it_and_the_audit_log_has_old_and_new(api, tenant, other_tenant):
    new_name = f"  Renamed Treasury {secrets.token_hex(3)}  "
    answer = api.as_user(tenant.admin).patch("/api/organization", json={"name": new_name})
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == new_name.strip()  # trimmed
    assert api.as_user(tenant.viewer).get("/api/organization").json()["name"] == new_name.strip()
    # The other organization is untouched (RLS and the service scope the update).
    assert api.as_user(other_tenant.admin).get("/api/organization").json()["name"] == (
        other_tenant.organization.name
    )
    (event,) = _events(tenant, "organization.renamed")
    assert event.details == {"from": tenant.organization.name, "to": new_name.strip()}
    assert event.actor_user_id == tenant.admin.id
    assert event.actor_email == tenant.admin.email
    assert _events(other_tenant, "organization.renamed") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Acme\u202eLtd"}, "name"),  # bidi override
        ({"name": "\u200b"}, "name"),  # invisible only
        ({"name": "Acme\nLtd"}, "name"),
        ({"name": 42}, "name"),
        ({"currency": "kes"}, "currency"),
        ({"currency": "SHILLING"}, "currency"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_input_is_422_problem_json(api, tenant, body, field):
    answer = api.as_user(tenant.admin).patch("/api/organization", json=body)
    assert_problem(answer, 422, field)
    assert _events(tenant, "organization.renamed", "organization.currency_changed") == []


def test_a_body_that_changes_nothing_is_422(api, tenant):
    admin = api.as_user(tenant.admin)
    assert_problem(admin.patch("/api/organization", json={}), 422)
    same = {"name": tenant.organization.name, "currency": "KES"}
    assert_problem(admin.patch("/api/organization", json=same), 422)


def test_another_organizations_name_is_409(api, tenant, other_tenant):
    taken = other_tenant.organization.name.upper()
    answer = api.as_user(tenant.admin).patch("/api/organization", json={"name": taken})
    assert_problem(answer, 409)


def test_the_currency_changes_only_while_there_is_no_history(api, tenant):
    admin = api.as_user(tenant.admin)
    changed = admin.patch("/api/organization", json={"currency": "USD"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["currency"] == "USD"
    (event,) = _events(tenant, "organization.currency_changed")
    assert event.details == {"from": "KES", "to": "USD"}

    add_source(tenant.actor("EDITOR"))
    read = admin.get("/api/organization").json()
    assert read["currencyChangeable"] is False
    body = assert_problem(admin.patch("/api/organization", json={"currency": "KES"}), 409)
    assert "every stored amount is in USD" in body["detail"]
    assert admin.get("/api/organization").json()["currency"] == "USD"
    # Renaming is still fine with history.
    renamed = admin.patch("/api/organization", json={"name": f"Still {secrets.token_hex(3)}"})
    assert renamed.status_code == 200, renamed.text
