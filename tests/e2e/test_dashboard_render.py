"""What a live push re-renders on the dashboard, and how its rows are drawn (issue 11).

How fast is measured by benchmarks/ui_live.py and benchmarks/ui_page_load.py, not
asserted here; these tests pin the behaviour those numbers rely on.
"""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from capital_app.service import history_commands as commands
from tests.e2e.support import LOAD, sign_in, source_row, wait_ready
from tests.support.factories import add_source, make_tenant

# Marks each activity row's DOM element with the entry text it showed (a JS property
# React never touches), so a later look tells whether the element was kept or reused.
TAG_ACTIVITY = """() => document.querySelectorAll('.activity-row').forEach((el) => {
    el.__shownText = el.textContent;
})"""
ACTIVITY = """() => [...document.querySelectorAll('.activity-row')].map((el) => ({
    text: el.textContent, tagged: el.__shownText ?? null,
}))"""


def test_a_pushed_entry_adds_one_activity_row_and_keeps_the_others(page: Page) -> None:
    tenant = make_tenant("Activity keys")
    ids = [
        add_source(tenant.actor(), f"Loan {i}", 1_000_000_00 + i, "0.1", days=40 - i)
        for i in range(12)
    ]
    sign_in(page, tenant.viewer)
    wait_ready(page)
    expect(page.locator(".activity-row")).to_have_count(10, timeout=LOAD)
    before = page.evaluate("() => document.querySelector('.activity-row').textContent")
    page.evaluate(TAG_ACTIVITY)

    commands.update_amount(
        tenant.actor(),
        source_id=ids[0],
        available_cents=2_000_000_00,
        effective_date=datetime.now(UTC),
        expected_sequence=1,
    )
    expect(source_row(page, "Loan 0").locator(".cell-amount")).to_have_text(
        "KES 2,000,000.00", timeout=LOAD
    )
    expect(page.locator(".activity-row").first).to_contain_text("Loan 0", timeout=LOAD)
    rows = page.evaluate(ACTIVITY)
    assert len(rows) == 10
    # The new entry is a new element at the top; the others are the same elements,
    # one place down, still showing what they showed (keyed by entry id, not index).
    assert rows[0]["tagged"] is None, rows[0]
    assert rows[1]["tagged"] == before
    assert all(r["tagged"] == r["text"] for r in rows[1:]), rows


def test_rows_keep_their_look_without_per_row_style_classes(page: Page) -> None:
    tenant = make_tenant("Row look")
    add_source(tenant.actor(), "Big loan", 3_000_000_00, "0.12", days=10)
    add_source(tenant.actor(), "Small loan", 1_000_000_00, "0.08", days=20)
    sign_in(page, tenant.editor)
    wait_ready(page)
    big = source_row(page, "Big loan")
    expect(big.locator(".cell-amount")).to_have_text("KES 3,000,000.00", timeout=LOAD)
    look = big.evaluate(
        """(row) => {
        const cells = [...row.children];
        const amount = row.querySelector('.cell-amount');
        const fill = cells[3].querySelector('span > span');
        return {
            cells: cells.map((c) => c.className),
            amountAlign: getComputedStyle(amount).textAlign,
            amountDigits: getComputedStyle(amount).fontVariantNumeric,
            fillWidth: parseFloat(fill.style.width),  // the browser writes 75.0% as 75%
            share: cells[3].textContent,
            actions: row.querySelectorAll('.row-actions button').length,
            scope: cells[0].getAttribute('scope'),
        };
    }"""
    )
    assert look["cells"][0] == "rt-TableCell rt-TableRowHeaderCell"
    assert all(c.startswith("rt-TableCell") for c in look["cells"])
    assert look["amountAlign"] == "right"
    assert look["amountDigits"] == "tabular-nums"
    assert look["share"] == "75.0 %"
    assert look["fillWidth"] == 75.0
    assert look["actions"] == 3  # an editor's Change amount, Change rate, Remove
    assert look["scope"] == "row"
    # The row's actions still open the edit dialog.
    big.locator(".action-amount").click()
    expect(page.locator("#edit-dialog")).to_be_visible(timeout=LOAD)
