"""Import a spreadsheet in Chromium: upload a CSV, map the columns the header did not name
plainly, a dry run shows the problem by row and column, the fixed file imports, and the
dashboard shows the sources; a VIEWER cannot import."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import Page, expect

from capital_app.domain.money import format_rate
from capital_app.service import history_queries as queries
from tests.e2e.support import LOAD, entry_count, sign_in, snap, source_row, wait_ready
from tests.support.factories import make_tenant

ROUTE = "/import/spreadsheet"
HEADER = "Lender,Kind,Principal (KES),Pricing %,Value date\n"
ROWS = (
    'KCB term loan,add,"2,500,000.00",13.25,2025-01-15\n'
    'Equity overdraft,add,"500,000.00",14.5,2025-02-01\n'
    'Equity overdraft,change rate,,"{rate}",2025-07-01\n'
)


def _upload(page: Page, name: str, content: bytes) -> None:
    page.locator("#sheet-file input[type=file]").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": content}
    )


def test_upload_map_dry_run_fix_import_and_see_the_dashboard(page: Page) -> None:
    tenant = make_tenant("Sheet import")
    sign_in(page, tenant.editor, "/import")
    wait_ready(page)
    page.locator("#to-spreadsheet-import").click()
    wait_ready(page)
    expect(page.locator("#page-title")).to_have_text("Import a spreadsheet", timeout=LOAD)

    _upload(page, "treasury.csv", (HEADER + ROWS.format(rate="15,5")).encode())
    expect(page.locator("#sheet-origin")).to_contain_text("“treasury.csv”", timeout=LOAD)
    expect(page.locator("#sheet-origin")).to_contain_text("3 rows")
    expect(page.locator("#sheet-sample")).to_contain_text("2,500,000.00")
    # Prefilled from the header's names; "Kind" and "Pricing %" are not guessed.
    expect(page.locator("#map-source")).to_have_value("A · Lender")
    expect(page.locator("#map-amount")).to_have_value("C · Principal (KES)")
    expect(page.locator("#map-effectiveDate")).to_have_value("E · Value date")
    expect(page.locator("#map-action")).to_have_value("")
    expect(page.locator("#map-rate")).to_have_value("")
    page.locator("#map-action").select_option("B · Kind")
    page.locator("#map-rate").select_option("D · Pricing %")

    page.locator("#sheet-dry-run").click()
    expect(page.locator("#sheet-problem-count")).to_have_text("1 problem", timeout=LOAD)
    problem = page.locator(".sheet-problem-row")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("Row 4")
    expect(problem).to_contain_text("D · Pricing %")
    expect(problem).to_contain_text("“15,5” is not a rate")
    expect(page.locator("#sheet-import")).to_have_count(0)  # no import with problems
    snap(page, "sheet-import-problem")
    assert entry_count(tenant.actor()) == 0

    # The corrected file: same columns, so the chosen mapping stays.
    _upload(page, "treasury-fixed.csv", (HEADER + ROWS.format(rate="15.5")).encode())
    expect(page.locator("#sheet-origin")).to_contain_text("treasury-fixed.csv", timeout=LOAD)
    expect(page.locator("#map-rate")).to_have_value("D · Pricing %")
    expect(page.locator("#sheet-report")).to_have_count(0)  # the old report is gone
    page.locator("#sheet-dry-run").click()
    expect(page.locator("#sheet-check-ok")).to_be_visible(timeout=LOAD)
    wacc = (Decimal("2500000") * Decimal("0.1325") + Decimal("500000") * Decimal("0.155")) / 3000000
    expect(page.locator("#sheet-stat-wacc")).to_have_text(format_rate(wacc))
    expect(page.locator("#sheet-stat-total")).to_have_text("KES 3,000,000.00")
    assert entry_count(tenant.actor()) == 0  # a dry run writes nothing

    page.locator("#sheet-import").click()
    expect(page.locator("#sheet-imported")).to_contain_text("Imported 3 entries", timeout=LOAD)
    assert entry_count(tenant.actor()) == 3
    active = {s.name: s for s in queries.active_sources(tenant.actor("VIEWER"))}
    assert active["Equity overdraft"].annual_rate == Decimal("0.155")
    assert active["KCB term loan"].available_cents == 250000000

    page.locator("#sheet-to-dashboard").click()
    wait_ready(page)
    expect(source_row(page, "KCB term loan")).to_be_visible(timeout=LOAD)
    expect(source_row(page, "Equity overdraft")).to_contain_text("15.50 %")
    snap(page, "sheet-import-dashboard")


def test_a_viewer_is_told_they_cannot_import_a_spreadsheet(page: Page) -> None:
    tenant = make_tenant("Sheet viewer")
    sign_in(page, tenant.viewer, ROUTE)
    wait_ready(page)
    expect(page.locator("#sheet-not-allowed")).to_contain_text(
        "Only editors and administrators", timeout=LOAD
    )
    for control in ("#sheet-file", "#sheet-dry-run", "#sheet-import"):
        expect(page.locator(control)).to_have_count(0)
