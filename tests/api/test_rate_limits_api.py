"""Rate limits per API key and per user, over real servers (memory and Redis buckets)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import httpx
import pytest

from capital_app.service import api_keys
from tests.api.helpers import assert_problem
from tests.support.api_server import ApiServer, start_api_server
from tests.support.factories import PASSWORD, Tenant

# A bucket of 3 that refills one token every 10 s: a test's few requests never see a refill.
TIGHT = {"CAPITAL_RATE_LIMIT_PER_MINUTE": "6", "CAPITAL_RATE_LIMIT_BURST": "3"}


@pytest.fixture
def tight_server(database_url: str) -> Iterator[ApiServer]:
    server = start_api_server({**TIGHT, "CAPITAL_RATE_LIMIT_REDIS_URL": "", "REFLEX_REDIS_URL": ""})
    yield server
    server.stop()


def _client(server: ApiServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _key(tenant: Tenant, scopes: list[str]) -> str:
    return api_keys.create_key(
        tenant.actor("ADMIN"), name=f"key {secrets.token_hex(3)}", scopes=scopes
    ).secret


def _jwt(server: ApiServer, tenant: Tenant) -> str:
    answer = httpx.post(
        f"{server.base_url}/api/auth/token",
        json={"email": tenant.viewer.email, "password": PASSWORD},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["accessToken"]


def _spend(client: httpx.Client, path: str = "/api/wacc") -> list[httpx.Response]:
    return [client.get(path) for _ in range(3)]


def _assert_throttled(answer: httpx.Response) -> None:
    body = assert_problem(answer, 429)
    assert body["title"] == "Too many requests"
    retry_after = int(answer.headers["retry-after"])
    assert 1 <= retry_after <= 10 and body["retryAfter"] == retry_after
    assert answer.headers["ratelimit-limit"] == "3"
    assert answer.headers["ratelimit-remaining"] == "0"


def test_a_key_gets_its_burst_then_429_with_retry_after(tight_server, tenant, other_tenant):
    key = _client(tight_server, _key(tenant, ["read"]))
    answers = _spend(key)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0"]
    assert all(a.headers["ratelimit-limit"] == "3" for a in answers)
    resets = [int(a.headers["ratelimit-reset"]) for a in answers]
    assert 0 < resets[0] <= resets[1] <= resets[2] <= 30
    _assert_throttled(key.get("/api/wacc"))
    _assert_throttled(key.get("/api/capital-history", params={"limit": 1}))  # any endpoint

    # Per key: another key of the same organization, the user who signs in, and another
    # organization's key each have budgets of their own.
    assert [a.status_code for a in _spend(_client(tight_server, _key(tenant, ["write"])))] == [
        200
    ] * 3
    assert [a.status_code for a in _spend(_client(tight_server, _key(other_tenant, ["read"])))] == [
        200
    ] * 3
    person = _client(tight_server, _jwt(tight_server, tenant))
    assert [a.status_code for a in _spend(person)] == [200, 200, 200]
    _assert_throttled(person.get("/api/wacc"))  # and a user's budget runs out the same way


def test_unauthenticated_and_health_take_no_budget(tight_server, tenant):
    anonymous = httpx.Client(base_url=tight_server.base_url, timeout=30)
    for _ in range(5):
        assert anonymous.get("/api/health").status_code == 200
        assert "ratelimit-limit" not in anonymous.get("/api/health").headers
        assert anonymous.get("/api/wacc").status_code == 401


@pytest.fixture
def redis_servers(database_url: str) -> Iterator[tuple[ApiServer, ApiServer]]:
    url = os.environ.get("E2E_REDIS_URL") or "redis://127.0.0.1:6379/0"
    env = {**TIGHT, "CAPITAL_RATE_LIMIT_REDIS_URL": url}
    first = start_api_server(env)
    second = start_api_server(env)
    yield first, second
    first.stop()
    second.stop()


def test_redis_buckets_are_shared_by_every_server(redis_servers, tenant):
    first, second = redis_servers
    secret = _key(tenant, ["read"])
    one, two = _client(first, secret), _client(second, secret)
    assert one.get("/api/wacc").headers["ratelimit-remaining"] == "2"
    assert two.get("/api/wacc").headers["ratelimit-remaining"] == "1"
    assert one.get("/api/wacc").headers["ratelimit-remaining"] == "0"
    _assert_throttled(two.get("/api/wacc"))  # one bucket across both servers
    _assert_throttled(one.get("/api/wacc"))


def test_every_authenticated_answer_says_its_budget(api, tenant):
    answer = api.as_user(tenant.viewer).get("/api/capital-history", params={"limit": 1})
    assert answer.status_code == 200
    assert answer.headers["ratelimit-limit"] == "1000000"
    assert 0 <= int(answer.headers["ratelimit-remaining"]) < 1000000
    assert int(answer.headers["ratelimit-reset"]) >= 0


def test_an_unreachable_redis_falls_back_to_memory_buckets(database_url, tenant):
    server = start_api_server({**TIGHT, "CAPITAL_RATE_LIMIT_REDIS_URL": "redis://127.0.0.1:1/0"})
    try:
        key = _client(server, _key(tenant, ["read"]))
        answers = _spend(key)
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0"]
        _assert_throttled(key.get("/api/wacc"))
        assert "cannot reach Redis" in server.log()
    finally:
        server.stop()
