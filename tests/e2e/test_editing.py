"""Editing in the browser: the four edits, optimistic rows, rollback on conflict, validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from playwright.sync_api import Page, expect

from capital_app.domain.money import format_money, format_rate
from capital_app.domain.values import Action
from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from tests.e2e.support import (
    LOAD,
    entry_count,
    saw_pending_row,
    sign_in,
    snap,
    source_row,
    toast,
    wait_ready,
    watch_pending_rows,
)
from tests.support.factories import add_source, make_tenant


def _open(page: Page, source: str, action: str) -> None:
    source_row(page, source).locator(f".action-{action}").click()
    expect(page.locator("#edit-dialog")).to_be_visible(timeout=LOAD)


def _settled(page: Page) -> None:
    expect(page.locator("#edit-dialog")).to_have_count(0, timeout=LOAD)
    expect(page.locator(".pending-row")).to_have_count(0, timeout=LOAD)


def test_editor_adds_changes_and_removes_a_source_and_history_tells_it_all(page: Page) -> None:
    tenant = make_tenant("Editing")
    editor = tenant.actor()
    add_source(editor, "Base loan", 1_000_000_00, "0.10", days=60)
    sign_in(page, tenant.editor)
    wait_ready(page)
    watch_pending_rows(page)

    # Add: keyboard only — focus starts in the name, Enter submits.
    page.locator(".add-source").first.click()
    expect(page.locator("#edit-name")).to_be_focused(timeout=LOAD)
    page.keyboard.type("Stanbic term loan")
    page.fill("#edit-amount", "3,000,000")
    page.fill("#edit-rate", "14.5")
    expect(page.locator("#edit-submit")).to_be_enabled(timeout=LOAD)
    snap(page, "dialog-add-source")
    page.press("#edit-rate", "Enter")
    _settled(page)
    row = source_row(page, "Stanbic term loan")
    expect(row.locator(".cell-amount")).to_have_text("KES 3,000,000.00", timeout=LOAD)
    expect(row.locator(".cell-rate")).to_have_text("14.50 %")
    stored = queries.wacc(editor).summary
    assert stored.total_cents == 4_000_000_00
    assert stored.wacc == Decimal("0.13375")  # (1 M × 10 % + 3 M × 14.5 %) / 4 M
    expect(page.locator("#kpi-wacc-value")).to_have_text(format_rate(stored.wacc))
    expect(page.locator("#kpi-wacc-value")).to_have_text("13.375 %")
    expect(page.locator("#kpi-count-value")).to_have_text("2")
    assert saw_pending_row(page), "the addition never showed as pending"

    # Change amount.
    _open(page, "Stanbic term loan", "amount")
    expect(page.locator("#edit-amount")).to_be_focused()
    page.keyboard.type("2500000")
    page.press("#edit-amount", "Enter")
    _settled(page)
    expect(row.locator(".cell-amount")).to_have_text("KES 2,500,000.00", timeout=LOAD)

    # Change rate.
    _open(page, "Stanbic term loan", "rate")
    page.keyboard.type("13.25")
    page.press("#edit-rate", "Enter")
    _settled(page)
    expect(row.locator(".cell-rate")).to_have_text("13.25 %", timeout=LOAD)
    expect(page.locator("#kpi-wacc-value")).to_have_text(
        format_rate(queries.wacc(editor).summary.wacc)
    )

    # Remove.
    _open(page, "Stanbic term loan", "remove")
    page.fill("#edit-notes", "refinanced")
    page.click("#edit-submit")
    _settled(page)
    expect(row).to_have_count(0, timeout=LOAD)
    expect(page.locator("#kpi-wacc-value")).to_have_text("10.00 %")
    snap(page, "page-dashboard")

    # History: all four, newest first, with the previous values.
    page.goto("/history")
    wait_ready(page)
    rows = page.locator("tr.history-row", has_text="Stanbic term loan")
    expect(rows).to_have_count(4, timeout=LOAD)
    expect(rows.nth(0)).to_contain_text("Removed")
    expect(rows.nth(0)).to_contain_text("refinanced")
    expect(rows.nth(1).locator(".cell-change")).to_have_text("14.50 %→13.25 %")
    expect(rows.nth(2).locator(".cell-change")).to_have_text("KES 3,000,000.00→KES 2,500,000.00")
    expect(rows.nth(3).locator(".cell-change")).to_have_text("KES 3,000,000.00 at 14.50 %")
    expect(rows.nth(3)).to_contain_text(tenant.editor.name)
    snap(page, "page-history")
    stored_actions = [e.action for e in queries.list_history(editor, limit=10).entries]
    assert stored_actions.count(Action.ADDED) == 2
    assert len(stored_actions) == 5


def test_a_conflicting_change_rolls_back_and_shows_the_current_values(page: Page) -> None:
    tenant = make_tenant("Conflict")
    editor, admin = tenant.actor(), tenant.actor("ADMIN")
    loan = add_source(editor, "KCB term loan", 250_000_000_00, "0.14", days=90)
    sign_in(page, tenant.editor)
    wait_ready(page)
    watch_pending_rows(page)
    before = entry_count(editor)

    _open(page, "KCB term loan", "rate")
    page.keyboard.type("12.75")
    # Meanwhile someone else reprices the loan.
    commands.update_rate(
        admin, source_id=loan, annual_rate=Decimal("0.135"), effective_date=datetime.now(UTC)
    )
    expect(page.locator("#edit-submit")).to_be_enabled(timeout=LOAD)
    page.press("#edit-rate", "Enter")

    message = toast(page).filter(has_text="Not saved")
    expect(message).to_contain_text(
        f"Not saved: {tenant.admin.name} changed this rate to 13.50 %", timeout=LOAD
    )
    expect(message).to_contain_text("Current values are shown.")
    snap(page, "toast-conflict")
    row = source_row(page, "KCB term loan")
    expect(row.locator(".cell-rate")).to_have_text("13.50 %")
    expect(page.locator(".pending-row")).to_have_count(0)
    assert saw_pending_row(page), "the edit never showed as pending"
    assert entry_count(editor) == before + 1  # only the other user's change
    latest = queries.source_history(editor, loan)[-1]
    assert (latest.annual_rate, latest.created_by) == (Decimal("0.135"), str(tenant.admin.id))

    # Try again: the dialog comes back with what was typed, against the current terms.
    message.get_by_role("button", name="Try again").click()
    expect(page.locator("#edit-rate")).to_have_value("12.75", timeout=LOAD)
    expect(page.locator("#edit-dialog")).to_contain_text("Now 13.50 %")
    page.press("#edit-rate", "Enter")
    expect(row.locator(".cell-rate")).to_have_text("12.75 %", timeout=LOAD)
    assert entry_count(editor) == before + 2


def test_invalid_rate_and_future_date_are_refused_in_the_dialog_and_nothing_is_written(
    page: Page,
) -> None:
    tenant = make_tenant("Validation")
    editor = tenant.actor()
    add_source(editor, "Overdraft", 5_000_000_00, "0.16", days=30)
    sign_in(page, tenant.editor)
    wait_ready(page)
    before = entry_count(editor)

    _open(page, "Overdraft", "rate")
    page.keyboard.type("150")
    expect(page.locator("#edit-rate-error")).to_have_text(
        "Rate must be between 0% and 100%.", timeout=LOAD
    )
    expect(page.locator("#edit-submit")).to_be_disabled()
    page.fill("#edit-rate", "abc")
    expect(page.locator("#edit-rate-error")).to_have_text("Rate must be a number, like 13.25.")
    page.fill("#edit-rate", "12.5")
    expect(page.locator("#edit-rate-error")).to_have_count(0)

    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    page.fill("#edit-effective_day", tomorrow)
    expect(page.locator("#edit-effective_day-error")).to_have_text(
        "Effective date cannot be in the future.", timeout=LOAD
    )
    expect(page.locator("#edit-submit")).to_be_disabled()
    snap(page, "dialog-validation")
    # Enter still reaches the server, which checks the typed values again and refuses.
    page.press("#edit-rate", "Enter")
    page.wait_for_timeout(500)
    expect(page.locator("#edit-dialog")).to_be_visible()
    expect(page.locator("#edit-effective_day-error")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#edit-dialog")).to_have_count(0, timeout=LOAD)
    assert entry_count(editor) == before

    # Adding: every rule of the service, in its own words, before anything is sent.
    page.locator(".add-source").first.click()
    expect(page.locator("#edit-name")).to_be_focused(timeout=LOAD)
    page.evaluate("document.getElementById('edit-form').requestSubmit()")
    expect(page.locator("#edit-name-error")).to_have_text("Name is required.", timeout=LOAD)
    expect(page.locator("#edit-amount-error")).to_have_text("Amount is required.")
    expect(page.locator("#edit-rate-error")).to_have_text("Rate is required.")
    page.fill("#edit-amount", "12.345")
    expect(page.locator("#edit-amount-error")).to_have_text(
        "Amount can have at most 2 decimal places."
    )
    page.keyboard.press("Escape")
    assert entry_count(editor) == before
    assert format_money(queries.wacc(editor).summary.total_cents) == "KES 5,000,000.00"
