"""Property-based run over /api/openapi.json: no 5xx, every answer as documented.

Schemathesis generates requests (valid and invalid) for every operation and
checks each response's status, content type and body against the document.
Bounded examples keep it well under two minutes on a 2-core machine.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from requests.adapters import HTTPAdapter
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from capital_app.api.app import create_api_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class _FromAddress(HTTPAdapter):
    """Send from one loopback address of its own: failed sign-ins here (the fuzzer
    guesses passwords) then throttle no other test's client."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


@pytest.fixture(scope="module")
def fuzz_session():
    session = requests.Session()
    session.mount("http://", _FromAddress("127.0.3.254"))
    yield session
    session.close()


# The document the server serves is the app's own; loading it in-process lets each
# operation be its own test (the server's URL is given per call).
# The event stream never ends while the client listens (a fuzzer's request would wait
# for the stream's deadline): it is tested in test_events_api.py instead.
schema = schemathesis.openapi.from_dict(create_api_app().openapi()).exclude(
    path="/api/events/stream"
)


@schema.parametrize()
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,  # one tenant per operation, on purpose
    ],
)
def test_api_conforms_to_its_openapi_document(case, api, tenant, fuzz_session):
    token = api.token(tenant.admin)
    case.call_and_validate(
        base_url=api.base_url,
        session=fuzz_session,
        headers={"Authorization": f"Bearer {token}"},
        checks=CHECKS,
    )
