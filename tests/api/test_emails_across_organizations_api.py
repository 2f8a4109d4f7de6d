"""An email is unique per organization: another org's ADMIN learns nothing from it
(real HTTP server). Sign-in tries the password on every account with the email."""

from __future__ import annotations

import uuid

import httpx
import jwt

from capital_app.settings import get_settings
from tests.api.helpers import assert_problem
from tests.support.factories import PASSWORD

OTHER_PASSWORD = "a different one, 2026"


def _create(client: httpx.Client, email: str, password: str) -> dict:
    answer = client.post(
        "/api/users",
        json={"email": email, "name": "Same Address", "role": "VIEWER", "password": password},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _sign_in(client: httpx.Client, email: str, password: str, **extra: str) -> httpx.Response:
    return client.post("/api/auth/token", json={"email": email, "password": password, **extra})


def _org_of(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    claims = jwt.decode(answer.json()["accessToken"], options={"verify_signature": False})
    return str(claims["org"])


def test_another_orgs_address_is_created_and_each_person_signs_in_to_their_own(
    api, tenant, other_tenant
):
    victim = tenant.viewer
    created = _create(api.as_user(other_tenant.admin), victim.email, OTHER_PASSWORD)
    assert created["organizationId"] == str(other_tenant.org_id)
    assert created["id"] != str(victim.id)
    # A second copy in the same organization is a clash there (no leak: it is theirs).
    assert_problem(
        api.as_user(other_tenant.admin).post(
            "/api/users",
            json={"email": victim.email, "name": "Again", "role": "VIEWER", "password": PASSWORD},
        ),
        409,
    )
    client = api.client(api.fresh_address())
    mine = _sign_in(client, victim.email, PASSWORD)
    theirs = _sign_in(client, victim.email, OTHER_PASSWORD)
    assert _org_of(mine) == str(tenant.org_id)
    assert _org_of(theirs) == str(other_tenant.org_id)
    me = api.client(token=mine.json()["accessToken"]).get("/api/me")
    assert me.status_code == 200 and me.json()["id"] == str(victim.id), me.text
    me = api.client(token=theirs.json()["accessToken"]).get("/api/me")
    assert me.json()["id"] == created["id"], me.text


def test_a_wrong_password_for_both_is_the_same_401_as_an_unknown_email(api, tenant, other_tenant):
    _create(api.as_user(other_tenant.admin), tenant.editor.email, OTHER_PASSWORD)
    client = api.client(api.fresh_address())
    shared = assert_problem(_sign_in(client, tenant.editor.email, "neither of them"), 401)
    unknown = assert_problem(_sign_in(client, f"nobody-{uuid.uuid4().hex}@x.test", "x" * 12), 401)
    assert shared == unknown


def test_the_same_password_in_both_asks_for_the_organization(api, tenant, other_tenant):
    email = tenant.admin.email
    _create(api.as_user(other_tenant.admin), email, PASSWORD)
    client = api.client(api.fresh_address())
    ambiguous = _sign_in(client, email, PASSWORD)
    body = assert_problem(ambiguous, 409)
    assert sorted(o["id"] for o in body["organizations"]) == sorted(
        [str(tenant.org_id), str(other_tenant.org_id)]
    )
    assert {o["name"] for o in body["organizations"]} == {
        tenant.organization.name,
        other_tenant.organization.name,
    }
    by_id = _sign_in(client, email, PASSWORD, organization=str(other_tenant.org_id))
    assert _org_of(by_id) == str(other_tenant.org_id)
    by_name = _sign_in(client, email, PASSWORD, organization=tenant.organization.name.upper())
    assert _org_of(by_name) == str(tenant.org_id)
    form = client.post(
        "/api/auth/token",
        data={"username": email, "password": PASSWORD, "organization": str(tenant.org_id)},
    )
    assert _org_of(form) == str(tenant.org_id)
    # Naming an organization whose account the password does not fit is a plain 401.
    third = _sign_in(client, email, PASSWORD, organization="no such organization")
    assert assert_problem(third, 401) == assert_problem(
        _sign_in(client, email, "wrong password!"), 401
    )


def test_failures_count_per_email_across_its_accounts(api, tenant, other_tenant):
    email = tenant.viewer.email
    _create(api.as_user(other_tenant.admin), email, OTHER_PASSWORD)
    limit = get_settings().login_max_failures_per_account
    client = api.client(api.fresh_address())
    for _ in range(limit):
        assert _sign_in(client, email, "wrong password!").status_code == 401
    for password in (PASSWORD, OTHER_PASSWORD):
        assert_problem(_sign_in(api.client(api.fresh_address()), email, password), 429)
