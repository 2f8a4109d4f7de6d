"""Sign-out revokes tokens on the server, and UI and API tokens are not interchangeable.

Before: only page loads checked a sign-out, so a signed-out UI token (12 h) still
changed roles through `PATCH /api/users/…` and through UI event handlers, and a UI
token worked as a REST API token.
"""

from __future__ import annotations

import time

import pytest

from capital_app.auth.tokens import InvalidToken
from capital_app.service import sessions
from capital_app.service.authentication import actor_from_session_token
from capital_app.service.errors import Unauthenticated
from tests.api.conftest import Api
from tests.api.helpers import assert_problem
from tests.support.factories import PASSWORD, Tenant, add_source


def _ui_token(api: Api, tenant: Tenant) -> str:
    return sessions.sign_in(tenant.admin.email, PASSWORD, api.fresh_address()).token


def test_a_ui_session_token_is_refused_by_the_rest_api(api: Api, tenant: Tenant) -> None:
    ui_token = _ui_token(api, tenant)
    answer = api.client(token=ui_token).get("/api/me")
    assert_problem(answer, 401)
    change = api.client(token=ui_token).patch(
        f"/api/users/{tenant.viewer.id}", json={"role": "ADMIN"}
    )
    assert_problem(change, 401)


def test_an_api_token_cannot_open_a_ui_session(api: Api, tenant: Tenant) -> None:
    with pytest.raises(InvalidToken):
        sessions.resume(api.token(tenant.admin))


def test_sign_out_ends_earlier_api_tokens_on_the_next_call(api: Api, tenant: Tenant) -> None:
    client = api.as_user(tenant.admin)
    assert client.get("/api/me").status_code == 200
    ui_token = _ui_token(api, tenant)
    time.sleep(1.1)  # tokens carry whole seconds
    sessions.sign_out(ui_token, "127.0.0.1")
    change = client.patch(f"/api/users/{tenant.viewer.id}", json={"role": "ADMIN"})
    body = assert_problem(change, 401)
    assert "signed out" in body["detail"]
    fresh = api.client(
        token=api.client()
        .post("/api/auth/token", json={"email": tenant.admin.email, "password": PASSWORD})
        .json()["accessToken"]
    )
    assert fresh.get("/api/me").status_code == 200  # a sign-in after it works


def test_a_signed_out_ui_session_cannot_act_through_ui_events(api: Api, tenant: Tenant) -> None:
    """A UI event handler acts through `actor_from_session_token` and the service."""
    ui_token = _ui_token(api, tenant)
    actor = actor_from_session_token(ui_token)
    add_source(actor)  # works while signed in
    time.sleep(1.1)
    sessions.sign_out(ui_token, "127.0.0.1")
    with pytest.raises(Unauthenticated, match="signed out"):
        add_source(actor_from_session_token(ui_token))
