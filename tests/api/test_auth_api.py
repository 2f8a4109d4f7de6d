"""POST /api/auth/token, GET /api/me, and every way a token can be bad (real HTTP)."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import psycopg
import pytest

from capital_app.auth.tokens import issue_token
from capital_app.settings import get_settings
from tests.api.helpers import assert_problem, day
from tests.support.api_server import start_api_server
from tests.support.factories import PASSWORD


def test_token_from_json_signs_in(api, tenant):
    client = api.client()
    answer = client.post(
        "/api/auth/token", json={"email": tenant.editor.email, "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"accessToken", "tokenType", "expiresIn"}
    assert body["tokenType"] == "bearer"
    assert body["expiresIn"] == get_settings().api_token_ttl_seconds
    assert answer.headers["cache-control"] == "no-store"
    me = client.get("/api/me", headers={"Authorization": f"Bearer {body['accessToken']}"})
    assert me.status_code == 200
    assert me.json() == {
        "id": str(tenant.editor.id),
        "email": tenant.editor.email,
        "name": tenant.editor.name,
        "role": "EDITOR",
        "organizationId": str(tenant.org_id),
    }


def test_token_from_oauth2_form_signs_in(api, tenant):
    answer = api.client().post(
        "/api/auth/token",
        data={"username": tenant.viewer.email, "password": PASSWORD, "grant_type": "password"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["tokenType"] == "bearer" and body["accessToken"] == body["access_token"]
    me = api.client(token=body["accessToken"]).get("/api/me")
    assert me.json()["role"] == "VIEWER"


def test_email_is_matched_ignoring_case_and_spaces(api, tenant):
    answer = api.client().post(
        "/api/auth/token",
        json={"email": f"  {tenant.admin.email.upper()} ", "password": PASSWORD},
    )
    assert answer.status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_answer(api, tenant):
    client = api.client(api.fresh_address())
    wrong_password = client.post(
        "/api/auth/token", json={"email": tenant.editor.email, "password": "not the password"}
    )
    unknown_email = client.post(
        "/api/auth/token", json={"email": "nobody@example.test", "password": PASSWORD}
    )
    first = assert_problem(wrong_password, 401)
    second = assert_problem(unknown_email, 401)
    assert first == second
    assert wrong_password.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a@b.test"}, "password"),
        ({"password": "x"}, "email"),
        ({"email": "a@b.test", "password": "x", "remember": True}, "remember"),
        ({"email": 42, "password": "x"}, "email"),
        ({"email": "a@b.test", "password": None}, "password"),
    ],
)
def test_token_request_shape_is_checked(api, body, field):
    assert_problem(api.client().post("/api/auth/token", json=body), 422, field)


def test_token_request_needs_json_or_form(api):
    client = api.client()
    assert_problem(
        client.post(
            "/api/auth/token", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
        "body",
    )
    assert_problem(
        client.post("/api/auth/token", content=b"x", headers={"content-type": "text/plain"}), 415
    )
    assert_problem(client.post("/api/auth/token", data={"username": "a@b.test"}), 422, "password")


def test_repeated_failures_for_one_account_answer_429_with_retry_after(api, tenant):
    limit = get_settings().login_max_failures_per_account
    client = api.client(api.fresh_address())
    for _ in range(limit):
        answer = client.post(
            "/api/auth/token", json={"email": tenant.viewer.email, "password": "wrong password!"}
        )
        assert answer.status_code == 401
    # Now even the right password waits, and so does another client address.
    for attempt_client in (client, api.client(api.fresh_address())):
        throttled = attempt_client.post(
            "/api/auth/token", json={"email": tenant.viewer.email, "password": PASSWORD}
        )
        body = assert_problem(throttled, 429)
        assert 0 < int(throttled.headers["retry-after"]) <= get_settings().login_window_seconds
        assert body["retryAfter"] == int(throttled.headers["retry-after"])
    # Other accounts are not affected.
    other = api.client(api.fresh_address()).post(
        "/api/auth/token", json={"email": tenant.editor.email, "password": PASSWORD}
    )
    assert other.status_code == 200


def test_repeated_failures_from_one_client_answer_429(api, tenant):
    limit = get_settings().login_max_failures_per_client
    address = api.fresh_address()
    client = api.client(address)
    for n in range(limit):
        answer = client.post(
            "/api/auth/token", json={"email": f"guess{n}@example.test", "password": "guess"}
        )
        assert answer.status_code == 401
    throttled = client.post(
        "/api/auth/token", json={"email": tenant.admin.email, "password": PASSWORD}
    )
    assert_problem(throttled, 429)
    assert int(throttled.headers["retry-after"]) > 0
    elsewhere = api.client(api.fresh_address()).post(
        "/api/auth/token", json={"email": tenant.admin.email, "password": PASSWORD}
    )
    assert elsewhere.status_code == 200


def test_sign_ins_are_recorded(api, tenant, database_url):
    address = api.fresh_address()
    client = api.client(address)
    client.post("/api/auth/token", json={"email": tenant.admin.email, "password": "wrong one!"})
    client.post("/api/auth/token", json={"email": tenant.admin.email, "password": PASSWORD})
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT succeeded, reason, user_id FROM auth_event"
            " WHERE client_address = %s ORDER BY id",
            (address,),
        ).fetchall()
    assert rows == [
        (False, "wrong password", tenant.admin.id),
        (True, "signed in", tenant.admin.id),
    ]


def test_me_needs_a_token(api):
    body = assert_problem(api.client().get("/api/me"), 401)
    assert "Bearer" in body["detail"]


def _claims(tenant, **changes):
    now = int(time.time())
    claims = {
        "sub": str(tenant.editor.id),
        "org": str(tenant.org_id),
        "iss": get_settings().jwt_issuer,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    claims.update(changes)
    return claims


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{header}.{payload}.{flipped}"


def _with_payload_of(token: str, other: str) -> str:
    """The first token's header and signature around another token's claims."""
    header, _, signature = token.split(".")
    return f"{header}.{other.split('.')[1]}.{signature}"


BAD_TOKENS = {
    "garbage": lambda t: "not-a-jwt",
    "expired": lambda t: issue_token(t.editor.id, t.org_id, -60)[0],
    "tampered signature": lambda t: _tampered(issue_token(t.editor.id, t.org_id, 600)[0]),
    "claims swapped under a valid signature": lambda t: _with_payload_of(
        issue_token(t.viewer.id, t.org_id, 600)[0],
        issue_token(t.admin.id, t.org_id, 600)[0],
    ),
    "alg none": lambda t: jwt.encode(_claims(t), None, algorithm="none"),
    "wrong issuer": lambda t: jwt.encode(
        _claims(t, iss="someone-else"), get_settings().jwt_secret, algorithm="HS256"
    ),
    "wrong secret": lambda t: jwt.encode(_claims(t), "x" * 64, algorithm="HS256"),
    "HS512": lambda t: jwt.encode(_claims(t), get_settings().jwt_secret, algorithm="HS512"),
    "no org claim": lambda t: jwt.encode(
        {k: v for k, v in _claims(t).items() if k != "org"},
        get_settings().jwt_secret,
        algorithm="HS256",
    ),
    "other organization": lambda t: issue_token(t.editor.id, uuid.uuid4(), 600)[0],
    "unknown user": lambda t: issue_token(uuid.uuid4(), t.org_id, 600)[0],
}


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
def test_bad_tokens_are_refused(api, tenant, kind):
    token = BAD_TOKENS[kind](tenant)
    client = api.client(token=token)
    assert_problem(client.get("/api/me"), 401)
    assert_problem(client.get("/api/capital-history"), 401)
    write = client.post(
        "/api/capital-history/add-source",
        json={
            "source": {"name": "Sneaky", "annualRate": 0.1, "availableCents": 100},
            "effectiveDate": day(1),
        },
    )
    assert_problem(write, 401)


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer  x y", "Basic dXNlcjpwYXNz", "bearer", "Token abc"]
)
def test_malformed_authorization_headers_are_refused(api, header):
    assert_problem(api.client().get("/api/me", headers={"Authorization": header}), 401)


def test_expired_token_says_so(api, tenant):
    token = issue_token(tenant.editor.id, tenant.org_id, -60)[0]
    body = assert_problem(api.client(token=token).get("/api/me"), 401)
    assert "expired" in body["detail"]


def test_deactivated_user_is_refused_at_once(api, tenant):
    editor = api.as_user(tenant.editor)
    assert editor.get("/api/me").status_code == 200
    admin = api.as_user(tenant.admin)
    assert admin.patch(f"/api/users/{tenant.editor.id}", json={"active": False}).status_code == 200
    assert_problem(editor.get("/api/me"), 401)
    assert_problem(editor.get("/api/wacc"), 401)
    relogin = api.client(api.fresh_address()).post(
        "/api/auth/token", json={"email": tenant.editor.email, "password": PASSWORD}
    )
    assert_problem(relogin, 401)


def test_role_change_applies_at_once(api, tenant):
    editor = api.as_user(tenant.editor)
    admin = api.as_user(tenant.admin)
    body = {
        "source": {"name": "Role test", "annualRate": 0.1, "availableCents": 100},
        "effectiveDate": day(2),
    }
    assert admin.patch(f"/api/users/{tenant.editor.id}", json={"role": "VIEWER"}).status_code == 200
    assert_problem(editor.post("/api/capital-history/add-source", json=body), 403)
    assert editor.get("/api/me").json()["role"] == "VIEWER"
    assert admin.patch(f"/api/users/{tenant.editor.id}", json={"role": "EDITOR"}).status_code == 200
    assert editor.post("/api/capital-history/add-source", json=body).status_code == 201


def test_behind_a_trusted_proxy_failures_count_per_forwarded_client(api, tenant):
    """With REFLEX_TRUSTED_PROXY_HOPS=1 every request arrives from the proxy: one client's
    failures throttle that client (as the proxy saw it), not everyone behind the proxy,
    and a forged X-Forwarded-For entry to the left of the proxy's changes nothing."""
    server = start_api_server({"REFLEX_TRUSTED_PROXY_HOPS": "1"})
    try:
        proxy = httpx.Client(base_url=server.base_url, timeout=30)
        limit = get_settings().login_max_failures_per_client
        attacker = {"x-forwarded-for": "203.0.113.66"}
        for n in range(limit):
            forged = {"x-forwarded-for": f"198.51.100.{n}, 203.0.113.66"}
            answer = proxy.post(
                "/api/auth/token",
                json={"email": f"guess{n}@example.test", "password": "guess"},
                headers=forged if n % 2 else attacker,
            )
            assert answer.status_code == 401
        throttled = proxy.post(
            "/api/auth/token",
            json={"email": tenant.admin.email, "password": PASSWORD},
            headers=attacker,
        )
        assert_problem(throttled, 429)
        colleague = proxy.post(
            "/api/auth/token",
            json={"email": tenant.admin.email, "password": PASSWORD},
            headers={"x-forwarded-for": "203.0.113.10"},
        )
        assert colleague.status_code == 200
        proxy.close()
    finally:
        server.stop()
