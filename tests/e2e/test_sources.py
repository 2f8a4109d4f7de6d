"""Sources: the list (removed ones too) and one source's terms, actions and timeline."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import Page, expect

from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from tests.e2e.support import LOAD, sign_in, snap, wait_ready
from tests.support.factories import add_source, days_ago, make_tenant


def test_source_list_and_detail_with_timeline_and_actions(page: Page) -> None:
    tenant = make_tenant("Sources")
    editor = tenant.actor()
    loan = add_source(editor, "NCBA asset finance", 40_000_000_00, "0.15", days=200)
    gone = add_source(editor, "Old overdraft", 2_000_000_00, "0.18", days=150)
    commands.update_rate(
        editor,
        source_id=loan,
        annual_rate=Decimal("0.1425"),
        effective_date=days_ago(90),
        notes="repriced",
    )
    commands.remove_source(editor, source_id=gone, effective_date=days_ago(30))

    sign_in(page, tenant.editor, "/sources")
    wait_ready(page)
    lines = page.locator("tr.source-line")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_contain_text("NCBA asset finance")
    expect(lines.nth(0)).to_contain_text("Active")
    expect(lines.nth(1)).to_contain_text("Removed")
    expect(lines.nth(1).locator(".row-actions")).to_have_count(0)
    snap(page, "page-sources")

    lines.nth(0).get_by_role("link", name="NCBA asset finance").click()
    wait_ready(page)
    expect(page.locator("#page-title")).to_have_text("NCBA asset finance")
    expect(page.locator("#detail-rate-card-value")).to_have_text("14.25 %")
    expect(page.locator("#detail-share-card-value")).to_have_text("100.0 %")
    items = page.locator(".timeline-item")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("15.00 %→14.25 %")
    expect(items.nth(0)).to_contain_text("repriced")
    expect(items.nth(1)).to_contain_text("KES 40,000,000.00 at 15.00 %")

    page.click("#detail-amount")
    expect(page.locator("#edit-amount")).to_be_focused(timeout=LOAD)
    page.keyboard.type("45,000,000")
    page.press("#edit-amount", "Enter")
    expect(items).to_have_count(3, timeout=LOAD)
    expect(items.nth(0)).to_contain_text("KES 40,000,000.00→KES 45,000,000.00")
    expect(page.locator(".pending-row")).to_have_count(0)
    expect(page.locator("#detail-amount-card-value")).to_have_text("KES 45.00 M")
    assert queries.get_source(editor, loan).available_cents == 45_000_000_00
    snap(page, "page-source-detail")

    # Another organization's source, or none: said plainly, with a way to retry.
    page.goto("/sources/no-such-source")
    expect(page.locator("#load-error")).to_contain_text(
        "No capital source with this id exists in your organization.", timeout=LOAD
    )
    expect(page.locator("#retry-load")).to_be_visible()
