"""Alerts in real browsers (issue 15, item 3): a change made in one session crosses a
rule, and every open session of the organization shows the alert at once — on the
dashboard (a live room) and on another page — while another organization hears
nothing; the Alerts page lists rules and history, and only writers may change rules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from uuid import uuid4

from playwright.sync_api import Browser, BrowserContext, Page, expect

from capital_app.domain.accounts import UserRecord
from capital_app.service import alerts
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.support import LOAD, sign_in, source_row, toast, wait_ready
from tests.support.factories import add_source, make_tenant


@contextmanager
def _session(browser: Browser, base_url: str) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    try:
        yield context
    finally:
        context.close()


def _open(context: BrowserContext, user: UserRecord, path: str = "/") -> Page:
    page = context.new_page()
    sign_in(page, user, path)
    wait_ready(page)
    return page


def _capture_frames(page: Page) -> list[str]:
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append(str(p))))
    return frames


def test_an_alert_from_one_session_arrives_live_in_the_others_and_nowhere_else(
    browser: Browser, app_url: str
) -> None:
    tenant, stranger = make_tenant("Alerting"), make_tenant("Elsewhere")
    loan = f"Alert loan {uuid4().hex[:6]}"
    add_source(tenant.actor(), loan, 1_000_000_00, "0.10", days=60)
    add_source(stranger.actor(), "Their loan", 2_000_000_00, "0.10", days=60)
    alerts.create_rule(tenant.actor(), kind="wacc_above", threshold_rate=Decimal("0.12"))
    alerts.create_rule(stranger.actor(), kind="wacc_above", threshold_rate=Decimal("0.12"))

    with (
        _session(browser, app_url) as a_ctx,
        _session(browser, app_url) as b_ctx,
        _session(browser, app_url) as c_ctx,
    ):
        c = c_ctx.new_page()
        c_frames = _capture_frames(c)
        sign_in(c, stranger.viewer)
        wait_ready(c)
        a = _open(a_ctx, tenant.editor)
        b = _open(b_ctx, tenant.viewer)
        b_history = _open(b_ctx, tenant.viewer, "/history")
        expect(b.locator("#live-alerts")).to_have_count(0)
        c.wait_for_timeout(500)
        quiet_from = len(c_frames)

        # A raises the only source's rate from 10 % to 13 %: WACC crosses 12 %.
        source_row(a, loan).locator(".action-rate").click()
        expect(a.locator("#edit-dialog")).to_be_visible(timeout=LOAD)
        a.fill("#edit-rate", "13")
        a.click("#edit-submit")
        expect(a.locator("#edit-dialog")).to_have_count(0, timeout=LOAD)

        for page in (b, b_history, a):  # dashboard viewer, history tab, the editor
            banner = page.locator("#live-alerts .live-alert")
            expect(banner).to_have_count(1, timeout=LOAD)
            expect(banner).to_contain_text("WACC above 12 %")
            expect(banner).to_contain_text("13.00 %")
        expect(toast(b).filter(has_text="WACC above 12 %")).to_have_count(1, timeout=LOAD)
        b.screenshot(path=SCREENSHOTS / "alerts-live-banner.png", full_page=True)

        # Still above: a second change is pushed but raises no second alert.
        source_row(a, loan).locator(".action-rate").click()
        a.fill("#edit-rate", "14")
        a.click("#edit-submit")
        expect(source_row(b, loan).locator(".cell-rate")).to_have_text("14.00 %", timeout=LOAD)
        b.wait_for_timeout(1000)
        expect(b.locator("#live-alerts .live-alert")).to_have_count(1)

        # The other organization's session got not one event of ours (pings aside).
        c.wait_for_timeout(1000)
        events = [f for f in c_frames[quiet_from:] if f.startswith("42")]
        assert events == [], f"the other organization's session was told: {events[:3]}"
        assert not any("WACC above" in f or str(tenant.org_id) in f for f in c_frames)
        expect(c.locator("#live-alerts")).to_have_count(0)

        # The banner is dismissed per session.
        b.locator("#live-alerts .dismiss-alert").first.click()
        expect(b.locator("#live-alerts .live-alert")).to_have_count(0, timeout=LOAD)
        expect(b_history.locator("#live-alerts .live-alert")).to_have_count(1)

        # The Alerts page: the viewer reads rules and history, may not change them.
        b.goto("/alerts")
        wait_ready(b)
        expect(b.locator("tr.alert-history-row")).to_have_count(1, timeout=LOAD)
        expect(b.locator("tr.alert-history-row")).to_contain_text("13.00 % (was 10.00 %)")
        expect(b.locator("tr.alert-rule-row")).to_contain_text("WACC above 12 %")
        expect(b.locator("#alert-add")).to_have_count(0)
        expect(b.locator(".alert-deactivate")).to_have_count(0)


def test_an_editor_adds_and_deactivates_rules_with_clear_messages(
    browser: Browser, app_url: str
) -> None:
    tenant = make_tenant("Rules")
    with _session(browser, app_url) as ctx:
        page = _open(ctx, tenant.editor, "/alerts")
        expect(page.locator("#alert-rules-empty")).to_be_visible(timeout=LOAD)
        page.fill("#alert-rate", "150")
        page.click("#alert-add")
        expect(page.locator("#alert-error-thresholdRate")).to_be_visible(timeout=LOAD)
        page.fill("#alert-rate", "12.5")
        page.click("#alert-add")
        rows = page.locator("tr.alert-rule-row")
        expect(rows).to_have_count(1, timeout=LOAD)
        expect(rows).to_contain_text("WACC above 12.5 %")
        page.locator(".alert-deactivate").click()
        expect(rows.first).to_contain_text("inactive", timeout=LOAD)
        expect(page.locator(".alert-deactivate")).to_have_count(0)
    [rule] = alerts.list_rules(tenant.actor("VIEWER"))
    assert rule.terms.threshold == Decimal("0.125") and not rule.active
