"""The hook live collaboration plugs into: `AppState.catch_up(revision, resync)`.

The realtime layer enqueues this event for each session of an organization when a
change commits (tests/e2e/test_live.py). Here the browser itself also sends it (its
next event rewritten, as in test_roles): a forged catch-up, stale or from the
future, only ever shows what is stored, and a past view keeps the past.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from capital_app.service import history_queries as queries
from capital_app.ui.state import AppState
from tests.e2e.support import LOAD, sign_in, source_row, wait_ready
from tests.support.factories import add_source, make_tenant

CATCH_UP = AppState.get_full_name() + ".catch_up"


def _send_catch_up(page: Page, payload: dict) -> None:
    page.evaluate(
        """([name, payload]) => { window.__sent = false; window.__reflex_otel = {
            onEventSend: (event) => { if (!window.__sent) { window.__sent = true;
                event.name = name; event.payload = payload; } } }; }""",
        [CATCH_UP, payload],
    )
    page.click("#as-of-advanced")  # any event: it leaves as catch_up


def test_a_forged_catch_up_shows_only_what_is_stored_and_a_past_view_keeps_the_past(
    page: Page,
) -> None:
    tenant = make_tenant("Live")
    add_source(tenant.actor(), "Existing loan", 5_000_000_00, "0.11", days=40)
    sign_in(page, tenant.viewer)
    wait_ready(page)
    seen = queries.current_revision(tenant.actor())

    add_source(tenant.actor("ADMIN"), "Added elsewhere", 7_000_000_00, "0.09", days=1)
    expect(source_row(page, "Added elsewhere")).to_be_visible(timeout=LOAD)  # pushed live
    _send_catch_up(page, {"revision": seen})  # already seen: nothing to do
    page.wait_for_timeout(300)
    _send_catch_up(page, {"revision": seen + 1000})  # from the future: reads what is stored
    page.wait_for_timeout(500)
    expect(source_row(page, "Added elsewhere")).to_have_count(1)
    expect(page.locator("#kpi-count-value")).to_have_text("2")
    expect(page.locator("[aria-busy='true']")).to_have_count(0)

    # A past view keeps showing the past, and says newer data exists.
    page.fill("#as-of-date", "2026-01-01")
    expect(page.locator("#past-view-banner")).to_be_visible(timeout=LOAD)
    add_source(tenant.actor("ADMIN"), "Added later", 1_000_000_00, "0.10", days=1)
    _send_catch_up(page, {"revision": seen + 2})
    expect(page.locator("#past-view-newer")).to_be_visible(timeout=LOAD)
    expect(source_row(page, "Added later")).to_have_count(0)
    page.click("#back-to-today")
    expect(source_row(page, "Added later")).to_be_visible(timeout=LOAD)
