"""The served app works end to end: browser → Reflex → service → PostgreSQL, API beside it."""

from __future__ import annotations

import json
import re
import urllib.request

from playwright.sync_api import Page, expect

from capital_app.service.health import migration_head


def test_signed_out_visitors_land_on_the_sign_in_page(page: Page) -> None:
    page.goto("/")

    expect(page).to_have_url(re.compile(r"/login/?$"), timeout=30_000)
    expect(page.locator("#login-email")).to_be_visible()
    expect(page).to_have_title("Sign in · Capital Ledger")


def test_rest_api_is_mounted_on_the_same_port(app_url: str) -> None:
    with urllib.request.urlopen(f"{app_url}/api/health", timeout=10) as response:
        health = json.load(response)
    with urllib.request.urlopen(f"{app_url}/api/openapi.json", timeout=10) as response:
        openapi = json.load(response)

    assert health.pop("realtime")["state"]  # the listener's report (tests/api checks it)
    assert health["database"].pop("pool")["size"] >= 1  # saturation (tests/api checks it)
    assert health == {
        "status": "ok",
        "database": {
            "reachable": True,
            "revision": migration_head(),
            "head": migration_head(),
            "upToDate": True,
        },
    }
    assert "/api/health" in openapi["paths"]
