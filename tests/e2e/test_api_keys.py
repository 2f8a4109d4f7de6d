"""API keys in the browser: an ADMIN creates one, an integrator uses it, the ADMIN
revokes it and the very next request is refused."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.support import LOAD, sign_in, snap, toast, wait_ready
from tests.support.factories import add_source, make_tenant


def test_an_admin_creates_a_key_the_api_accepts_then_revokes_it(page: Page, app_url: str) -> None:
    tenant = make_tenant("Keys")
    add_source(tenant.actor(), "KCB term loan", 250_000_000_00, "0.1325", days=30)
    sign_in(page, tenant.admin, "/")
    wait_ready(page)
    page.locator("#nav-api-keys").click()
    expect(page.locator("#page-title")).to_have_text("API keys", timeout=LOAD)
    wait_ready(page)

    page.locator("#create-key").click()
    page.locator("#create-key-submit").click()  # no name: the service's own message
    expect(page.locator("#create-key-error")).to_contain_text("Name", timeout=LOAD)
    page.locator("#scope-read").click()  # no scope left: cannot submit
    expect(page.locator("#create-key-submit")).to_be_disabled()
    page.locator("#scope-read").click()
    page.locator("#key-name").fill("ERP sync")
    page.locator("#scope-write").click()  # read is ticked already: read + write
    page.locator("#create-key-submit").click()
    secret_box = page.locator("#new-key-secret")
    expect(secret_box).to_contain_text("clk_live_", timeout=LOAD)
    expect(page.get_by_text("You won't see this key again", exact=False)).to_be_visible()
    expect(page.locator("#copy-key")).to_be_visible()
    snap(page, "api-key-created")
    secret = secret_box.inner_text().strip()

    # An integrator uses it against the same server.
    integrator = httpx.Client(
        base_url=app_url, headers={"Authorization": f"Bearer {secret}"}, timeout=30
    )
    wacc = integrator.get("/api/wacc")
    assert wacc.status_code == 200, wacc.text
    assert wacc.json()["totalCents"] == 250_000_000_00
    assert wacc.headers["ratelimit-limit"] == "300"  # the default budget, through Reflex too
    assert int(wacc.headers["ratelimit-remaining"]) < 300
    added = integrator.post(
        "/api/capital-history/add-source",
        json={
            "source": {"name": "Key loan", "annualRate": 0.1, "availableCents": 100_000},
            "effectiveDate": "2026-01-05",
        },
    )
    assert added.status_code == 201, added.text
    assert added.json()["entry"]["apiKeyName"] == "ERP sync"

    # The change feed through the real app (Reflex's backend, its LISTEN listener).
    feed = integrator.get("/api/events", params={"after": 0}).json()
    assert [e["entry"]["name"] for e in feed] == ["KCB term loan", "Key loan"]
    with integrator.stream("GET", "/api/events/stream", params={"after": 0}) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines()
        ids = []
        while len(ids) < 2:
            line = next(lines)
            if line.startswith("id: "):
                ids.append(line[4:])
        assert ids == [e["eventId"] for e in feed]
        pushed = integrator.post(
            "/api/capital-history/update-amount",
            json={
                "sourceId": added.json()["sourceId"],
                "availableCents": 200_000,
                "effectiveDate": "2026-01-06",
            },
        )
        assert pushed.status_code == 201, pushed.text
        data = [next(line for line in lines if line.startswith("data: ")) for _ in range(2)]
        assert ids[1] in data[0]  # the rest of the second event, then the pushed one
        assert pushed.json()["entry"]["id"] in data[1]  # pushed as it committed

    page.locator("#secret-done").click()
    expect(page.locator("#new-key-secret")).to_have_count(0)
    row = page.locator("tr.key-row", has_text="ERP sync")
    expect(row).to_be_visible()
    expect(row).to_contain_text(secret[:17])  # the prefix, never the secret
    expect(row).not_to_contain_text(secret)
    expect(row).to_contain_text("read, write")
    expect(row).to_contain_text(tenant.admin.name)
    expect(row.locator(".key-state")).to_have_text("Active")
    page.reload()  # last used is noted by the API: the list shows it
    wait_ready(page)
    expect(row.locator(".key-last-used")).not_to_have_text("Never", timeout=LOAD)
    expect(row.locator(".key-state")).to_have_text("Active", timeout=LOAD)

    row.locator(".revoke-key").click()
    expect(page.get_by_text("refused from the very next one on", exact=False)).to_be_visible()
    page.locator(".confirm-revoke").click()
    expect(toast(page).filter(has_text="is revoked")).to_be_visible(timeout=LOAD)
    expect(row.locator(".key-state")).to_have_text("Revoked", timeout=LOAD)
    expect(row.locator(".revoke-key")).to_have_count(0)
    snap(page, "api-key-revoked")

    refused = integrator.get("/api/wacc")
    assert refused.status_code == 401, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_only_admins_see_api_keys(page: Page) -> None:
    tenant = make_tenant("NoKeys")
    sign_in(page, tenant.editor, "/")
    wait_ready(page)
    expect(page.locator("#nav-api-keys")).to_have_count(0)
    page.goto("/api-keys")
    expect(page.locator("#page-title")).to_have_text("Dashboard", timeout=LOAD)
