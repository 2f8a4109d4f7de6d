"""Fixtures for API tests: one real server per run, clients signed in as tenant users."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest

from capital_app.domain.accounts import UserRecord
from tests.support.api_server import ApiServer, start_api_server
from tests.support.factories import PASSWORD

_addresses = itertools.count(10)
SUITE_LIMITS = {"CAPITAL_RATE_LIMIT_PER_MINUTE": "6000000", "CAPITAL_RATE_LIMIT_BURST": "1000000"}


@pytest.fixture(scope="session")
def api_server(database_url: str) -> Iterator[ApiServer]:
    # The suite's clients call far faster than any integrator may: the limits themselves
    # are tested on servers of their own (test_rate_limits_api.py).
    server = start_api_server(SUITE_LIMITS)
    yield server
    server.stop()


class Api:
    """Clients of the running server; each may come from its own loopback address."""

    def __init__(self, server: ApiServer) -> None:
        self.server = server
        self.base_url = server.base_url
        self._tokens: dict[str, str] = {}
        self._clients: list[httpx.Client] = []

    def client(self, address: str = "127.0.0.1", token: str | None = None) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=address)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(
            base_url=self.base_url, transport=transport, headers=headers, timeout=30
        )
        self._clients.append(client)
        return client

    def fresh_address(self) -> str:
        """A loopback address of its own, so failed sign-ins here throttle no other test."""
        n = next(_addresses)
        return f"127.0.{n // 250}.{n % 250 + 2}"

    def token(self, user: UserRecord, password: str = PASSWORD) -> str:
        key = str(user.id)
        if key not in self._tokens:
            answer = self.client().post(
                "/api/auth/token", json={"email": user.email, "password": password}
            )
            assert answer.status_code == 200, answer.text
            self._tokens[key] = answer.json()["accessToken"]
        return self._tokens[key]

    def as_user(self, user: UserRecord) -> httpx.Client:
        return self.client(token=self.token(user))

    def close(self) -> None:
        for client in self._clients:
            client.close()


@pytest.fixture
def api(api_server: ApiServer) -> Iterator[Api]:
    session = Api(api_server)
    yield session
    session.close()
