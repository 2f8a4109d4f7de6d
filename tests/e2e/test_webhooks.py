"""The Webhooks page (ADMIN): register a receiver, see the secret once, the delivery
log, resend; the app's own worker (started by `capital-app run`) delivers."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect
from standardwebhooks.webhooks import Webhook

from tests.e2e.support import LOAD, sign_in, wait_ready
from tests.support.factories import add_source, make_tenant
from tests.support.webhook_receiver import start_receiver


def test_an_admin_registers_an_endpoint_sees_deliveries_and_resends(page: Page) -> None:
    tenant = make_tenant("Hooks")
    receiver = start_receiver()
    try:
        sign_in(page, tenant.admin, "/webhooks")
        wait_ready(page)
        expect(page.locator("#page-title")).to_have_text("Webhooks")
        expect(page.locator("#nav-webhooks")).to_be_visible()
        page.locator("#webhook-url").fill(f"{receiver.base_url}/ui")
        page.locator("#webhook-create").click()
        secret_box = page.locator("#webhook-secret")
        expect(secret_box).to_contain_text("whsec_", timeout=LOAD)
        secret = secret_box.inner_text().strip()
        expect(page.locator(".webhook-row")).to_have_count(1)
        expect(page.locator(".webhook-row")).to_contain_text("active")

        source = add_source(tenant.actor("EDITOR"), name="Hooked loan")
        receiver.wait_for(lambda: len(receiver.at("/ui")) == 1)
        first = receiver.at("/ui")[0]
        assert Webhook(secret).verify(first.body, first.headers)["data"]["sourceId"] == source

        page.get_by_role("button", name="Refresh").click()
        row = page.locator(".delivery-row")
        expect(row).to_have_count(1, timeout=LOAD)
        expect(row).to_contain_text("delivered")
        expect(row).to_contain_text("200")
        expect(row).to_contain_text("source.added")
        row.get_by_role("button", name="Resend").click()
        receiver.wait_for(lambda: len(receiver.at("/ui")) == 2)
        again = receiver.at("/ui")[1]
        assert again.headers["webhook-id"] == first.headers["webhook-id"]
        assert json.loads(again.body)["data"] == json.loads(first.body)["data"]

        page.locator(".webhook-row").get_by_role("button", name="Disable").click()
        expect(page.locator(".webhook-row")).to_contain_text("disabled", timeout=LOAD)
        page.locator(".webhook-row").get_by_role("button", name="Delete").click()
        expect(page.locator("#webhooks-empty")).to_be_visible(timeout=LOAD)
    finally:
        receiver.stop()


def test_an_editor_is_sent_back_from_the_webhooks_page(page: Page) -> None:
    tenant = make_tenant("Hooks editor")
    sign_in(page, tenant.editor, "/webhooks")
    expect(page.locator("#page-title")).to_have_text("Dashboard", timeout=LOAD)
    expect(page.locator("#nav-webhooks")).to_have_count(0)
