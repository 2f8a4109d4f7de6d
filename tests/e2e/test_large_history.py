"""10,000 entries: the dashboard and the history load, and keyset paging walks the trail.

How fast is measured by benchmarks/ui_page_load.py (recorded in benchmarks/README.md),
not asserted here.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from capital_app.service import reports
from tests.e2e.support import LOAD, sign_in, snap, wait_ready
from tests.support.bulk_history import seed_bulk_history
from tests.support.factories import make_tenant


def test_ten_thousand_entries_load_and_page(page: Page) -> None:
    tenant = make_tenant("Large")
    assert seed_bulk_history(tenant.org_id, tenant.editor.id) == 10_000
    summary = reports.dashboard_summary(tenant.actor("VIEWER"))

    sign_in(page, tenant.viewer)
    wait_ready(page)
    expect(page.locator("#kpi-count-value")).to_have_text(str(summary.summary.source_count))
    expect(page.locator("tr.source-row")).to_have_count(summary.summary.source_count)
    expect(page.locator(".activity-row")).to_have_count(10)
    snap(page, "large-dashboard")

    page.goto("/history")
    wait_ready(page)
    expect(page.locator("#history-range")).to_have_text("1–50 of 10,000", timeout=LOAD)
    first_page = page.locator("tr.history-row").all_inner_texts()
    page.click("#history-next")
    expect(page.locator("#history-range")).to_have_text("51–100 of 10,000", timeout=LOAD)
    expect(page.locator("#history-page")).to_have_text("Page 2")
    second_page = page.locator("tr.history-row").all_inner_texts()
    assert len(second_page) == 50 and not set(first_page) & set(second_page)
    page.click("#history-next")
    expect(page.locator("#history-range")).to_have_text("101–150 of 10,000", timeout=LOAD)
    page.click("#history-previous")
    expect(page.locator("#history-range")).to_have_text("51–100 of 10,000", timeout=LOAD)
    assert page.locator("tr.history-row").all_inner_texts() == second_page

    # A filter restarts the paging and counts again.
    page.locator("#filter-action").click()
    page.get_by_role("option", name="Removed").click()
    expect(page.locator("#history-range")).to_have_text("1–25 of 25", timeout=LOAD)
    expect(page.locator("tr.history-row[data-action='REMOVED']")).to_have_count(25)
    expect(page.locator("#history-next")).to_be_disabled()
    snap(page, "large-history")
