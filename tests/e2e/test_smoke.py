"""The served app works end to end: browser → Reflex → service → PostgreSQL, API beside it."""

from __future__ import annotations

import json
import urllib.request

from playwright.sync_api import Page, expect

from capital_app.service.demo import DEMO_ORGANIZATION
from capital_app.service.health import migration_head
from capital_app.service.organizations import find_organization


def test_home_page_shows_the_demo_organization_read_from_the_database(page: Page) -> None:
    stored = find_organization(DEMO_ORGANIZATION)  # seeded by `capital-app run`, as for make run

    page.goto("/")

    expect(page.locator("#organization-name")).to_have_text(stored.name, timeout=30_000)
    expect(page.locator("#organization-currency")).to_have_text(
        f"Reporting currency: {stored.currency}"
    )
    expect(page).to_have_title("Capital Ledger")


def test_rest_api_is_mounted_on_the_same_port(app_url: str) -> None:
    with urllib.request.urlopen(f"{app_url}/api/health", timeout=10) as response:
        health = json.load(response)
    with urllib.request.urlopen(f"{app_url}/api/openapi.json", timeout=10) as response:
        openapi = json.load(response)

    assert health.pop("realtime")["state"]  # the listener's report (tests/api checks it)
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
