"""Currencies in the browser: a USD source in a KES organization, a missing FX rate shown
as the problem it is, then the converted total and the after-tax WACC once rates exist."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from playwright.sync_api import Page, expect

from capital_app.domain.dates import format_day
from capital_app.domain.money import format_money, format_money_short, format_rate
from capital_app.service import history_queries as queries
from capital_app.service import rates
from tests.e2e.support import LOAD, sign_in, snap, source_row, toast, wait_ready
from tests.support.factories import add_source, make_tenant


def test_a_usd_source_in_a_kes_organization(page: Page) -> None:
    tenant = make_tenant("Currencies")
    editor = tenant.actor()
    add_source(editor, "KCB loan", 1_000_000_00, "0.14", days=60)
    sign_in(page, tenant.editor)
    wait_ready(page)

    # Add a USD equity source through the dialog: its amount is typed in dollars.
    page.locator(".add-source").first.click()
    expect(page.locator("#edit-name")).to_be_focused(timeout=LOAD)
    page.keyboard.type("IFC equity")
    page.select_option("#edit-source_currency", "USD")
    page.select_option("#edit-source_kind", "equity")
    expect(page.get_by_text("Amount (USD)")).to_be_visible(timeout=LOAD)
    page.fill("#edit-amount", "10,000")
    page.fill("#edit-rate", "20")
    expect(page.locator("#edit-submit")).to_be_enabled(timeout=LOAD)
    snap(page, "dialog-add-usd-source")
    page.press("#edit-rate", "Enter")
    row = source_row(page, "IFC equity")
    expect(row.locator(".cell-amount")).to_have_text("USD 10,000.00", timeout=LOAD)
    (usd,) = [s for s in queries.active_sources(editor) if s.name == "IFC equity"]
    assert (usd.currency, usd.kind.value, usd.available_cents) == ("USD", "equity", 10_000_00)

    # No USD→KES rate yet: the problem in words, no total, no WACC — never a zero.
    today = datetime.now(UTC).date()
    missing = f"No USD→KES rate on or before {format_day(today)}."
    expect(page.locator("#fx-missing")).to_contain_text(missing, timeout=LOAD)
    expect(page.locator("#kpi-total-value")).to_have_text("—")
    expect(page.locator("#kpi-wacc-value")).to_have_text("—")
    snap(page, "dashboard-missing-rate")

    # Record the rate on the Rates page (today's, the default day).
    page.goto("/rates")
    wait_ready(page)
    page.select_option("#fx-from", "USD")
    page.fill("#fx-rate", "129.5")
    page.click("#fx-submit")
    expect(toast(page).first).to_contain_text("1 USD = 129.5 KES", timeout=LOAD)
    expect(page.locator("tr.fx-row").first).to_contain_text("USD→KES")
    snap(page, "rates-page")

    # The dashboard converts: 1,000,000 KES + 10,000 USD × 129.5 = 2,295,000 KES.
    rates.add_tax_rate(editor, rate="0.3", effective_date=today)
    page.goto("/")
    wait_ready(page)
    expect(page.locator("#fx-missing")).to_have_count(0, timeout=LOAD)
    total = 2_295_000_00
    expect(page.locator("#kpi-total-value")).to_have_text(format_money_short(total), timeout=LOAD)
    answer = queries.wacc(editor)
    assert answer.summary.total_cents == total
    assert answer.reporting is not None and answer.reporting.after_tax_wacc is not None
    expect(page.locator("#kpi-wacc-value")).to_have_text(format_rate(answer.summary.wacc))
    expect(page.locator("#kpi-after-tax-value")).to_have_text(
        format_rate(answer.reporting.after_tax_wacc)
    )
    after = (Decimal("1000000") * Decimal("0.14") * Decimal("0.7") + Decimal("259000")) / 2295000
    assert answer.reporting.after_tax_wacc == after.quantize(Decimal("1e-10"))
    expect(row.locator(".cell-amount")).to_have_text("USD 10,000.00")
    expect(source_row(page, "KCB loan").locator(".cell-amount")).to_have_text(
        format_money(1_000_000_00, "KES")
    )
    snap(page, "dashboard-converted")


def test_a_viewer_sees_rates_but_no_forms(page: Page) -> None:
    tenant = make_tenant("Rates viewer")
    rates.add_fx_rate(
        tenant.actor(), from_currency="EUR", rate="140.25", effective_date=datetime.now(UTC).date()
    )
    sign_in(page, tenant.viewer, "/rates")
    wait_ready(page)
    expect(page.locator("tr.fx-row")).to_have_count(1, timeout=LOAD)
    expect(page.locator("tr.fx-row")).to_contain_text("1 EUR = 140.25 KES")
    expect(page.locator("#fx-submit")).to_have_count(0)
    expect(page.locator("#tax-submit")).to_have_count(0)


def test_a_csv_of_rates_is_checked_row_by_row_and_stored_all_or_nothing(page: Page) -> None:
    tenant = make_tenant("Rates CSV")
    sign_in(page, tenant.editor, "/rates")
    wait_ready(page)
    day = datetime.now(UTC).date().isoformat()
    page.fill("#fx-csv", f"from_currency,rate,effective_date\nUSD,129.5,{day}\nEUR,abc,{day}\n")
    expect(page.locator("#csv-store")).to_be_enabled(timeout=LOAD)  # the state has the text
    page.click("#csv-store")
    problems = page.locator("#csv-problems")
    expect(problems).to_contain_text("Row 3:", timeout=LOAD)
    expect(problems).to_contain_text("Nothing was stored.")
    assert rates.list_rates(tenant.actor()).fx == []
    page.fill("#fx-csv", f"from_currency,rate,effective_date\nUSD,129.5,{day}\nEUR,140.25,{day}\n")
    expect(problems).to_have_count(0, timeout=LOAD)  # the new text reached the state
    page.click("#csv-check")
    expect(page.locator("#csv-result")).to_contain_text("All 2 rows are fine", timeout=LOAD)
    assert rates.list_rates(tenant.actor()).fx == []
    page.click("#csv-store")
    expect(page.locator("tr.fx-row")).to_have_count(2, timeout=LOAD)
    assert sorted(r.from_currency for r in rates.list_rates(tenant.actor()).fx) == ["EUR", "USD"]
