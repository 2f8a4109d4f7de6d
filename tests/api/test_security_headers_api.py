"""Security headers on every answer, HSTS only over TLS, and /api/docs without a CDN
(issue 17). The pages and the WebSocket are covered in tests/e2e/test_security_headers.py."""

from __future__ import annotations

import re

import httpx
import pytest

from capital_app.api.security_headers import CONTENT_SECURITY_POLICY, origin_allowed
from tests.support.api_server import start_api_server


def _assert_hardened(answer: httpx.Response) -> None:
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_api_answers_carry_the_security_headers_and_no_hsts_over_plain_http(api, tenant):
    client = api.client()
    for answer in (
        client.get("/api/health"),
        client.get("/api/wacc"),  # a 401 problem
        client.get("/api/no-such-thing"),  # a 404 problem
        api.as_user(tenant.viewer).get("/api/wacc"),
        client.get("/api/docs"),
    ):
        _assert_hardened(answer)
        assert "strict-transport-security" not in answer.headers
    # X-Forwarded-Proto is not believed without trusted proxies.
    answer = client.get("/api/health", headers={"x-forwarded-proto": "https"})
    assert "strict-transport-security" not in answer.headers


@pytest.fixture(scope="module")
def proxied_server(database_url):
    server = start_api_server({"REFLEX_TRUSTED_PROXY_HOPS": "1"})
    yield server
    server.stop()


def test_hsts_is_sent_when_a_trusted_proxy_says_the_request_came_over_tls(proxied_server):
    with httpx.Client(base_url=proxied_server.base_url) as client:
        over_tls = client.get("/api/health", headers={"x-forwarded-proto": "https"})
        plain = client.get("/api/health", headers={"x-forwarded-proto": "http"})
    assert over_tls.headers["strict-transport-security"].startswith("max-age=31536000")
    assert "strict-transport-security" not in plain.headers


def test_the_docs_page_loads_nothing_from_another_host(api):
    client = api.client()
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.text
    assert "SwaggerUIBundle" in html
    referenced = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert referenced, html
    assert not [url for url in referenced if re.match(r"^(https?:)?//", url)], referenced
    assert "cdn.jsdelivr.net" not in html and "unpkg" not in html
    for url in referenced:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000
    assert client.get("/api/docs/oauth2-redirect").status_code == 200


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        ("http://localhost:3000", "localhost:3000", True),
        ("https://ledger.example.com", "ledger.example.com", True),  # behind a TLS proxy
        ("https://evil.example", "localhost:3000", False),
        ("http://localhost:3001", "localhost:3000", False),
        (None, "localhost:3000", True),  # no browser page: not a cross-site request
    ],
)
def test_the_websocket_accepts_pages_of_its_own_origin_only(origin, host, allowed):
    assert origin_allowed(origin, {"HTTP_HOST": host}) is allowed
