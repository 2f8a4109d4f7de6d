"""The served app with its security headers (issue 17): the pages carry a CSP that the
Reflex frontend works under (no violation while the dashboard loads data over the
WebSocket and the import page runs its localStorage scan), CORS echoes no foreign
Origin, and the WebSocket refuses other sites' pages."""

from __future__ import annotations

import asyncio
import threading
import urllib.request

import aiohttp
from playwright.sync_api import Page, expect

from tests.e2e.support import LOAD, sign_in, source_row, wait_ready
from tests.support.factories import add_source, make_tenant

EVIL = "https://evil.example"


def test_the_dashboard_and_import_page_work_under_the_content_security_policy(
    page: Page,
) -> None:
    tenant = make_tenant("CSP")
    add_source(tenant.actor(), "CSP term loan", 12_000_000_00, "0.14", days=30)
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    documents = []
    page.on(
        "response", lambda r: documents.append(r) if r.request.resource_type == "document" else None
    )

    sign_in(page, tenant.editor, "/")
    wait_ready(page)
    expect(source_row(page, "CSP term loan")).to_be_visible(timeout=LOAD)
    page.goto("/import")
    expect(page.locator("#nothing-found")).to_be_visible(timeout=LOAD)  # call_script ran

    assert documents
    for document in documents:
        policy = document.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
        assert document.headers.get("x-frame-options") == "DENY"
        assert document.headers.get("x-content-type-options") == "nosniff"
    assert violations == []


def _headers(app_url: str, method: str, path: str, headers: dict[str, str]) -> dict[str, str]:
    request = urllib.request.Request(f"{app_url}{path}", method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return {k.lower(): v for k, v in answer.headers.items()}
    except urllib.error.HTTPError as error:
        return {k.lower(): v for k, v in error.headers.items()}


def test_cors_does_not_echo_a_foreign_origin(app_url: str) -> None:
    preflight = _headers(
        app_url,
        "OPTIONS",
        "/api/wacc",
        {"Origin": EVIL, "Access-Control-Request-Method": "GET",
         "Access-Control-Request-Headers": "authorization"},
    )  # fmt: skip
    simple = _headers(app_url, "GET", "/api/health", {"Origin": EVIL, "Cookie": "a=b"})
    for answer in (preflight, simple):
        assert answer.get("access-control-allow-origin") not in (EVIL, "*")
        assert answer.get("access-control-allow-credentials") != "true" or (
            answer.get("access-control-allow-origin") is None
        )


def _websocket_opens(app_url: str, origin: str) -> bool:
    url = app_url.replace("http://", "ws://") + "/_event/?EIO=4&transport=websocket"
    outcome: list[bool] = []

    async def attempt() -> None:
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(url, headers={"Origin": origin}, timeout=10) as ws:
                    message = await ws.receive(timeout=10)
                    outcome.append(message.type == aiohttp.WSMsgType.TEXT)  # Engine.IO "open"
            except (aiohttp.WSServerHandshakeError, aiohttp.ClientError):
                outcome.append(False)

    thread = threading.Thread(target=lambda: asyncio.run(attempt()))
    thread.start()
    thread.join(30)
    return outcome == [True]


def test_the_websocket_refuses_pages_of_another_site(app_url: str) -> None:
    assert _websocket_opens(app_url, app_url)
    assert not _websocket_opens(app_url, EVIL)
