"""Time travel: a past date (and what was known at a past moment) reproduces the numbers exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from playwright.sync_api import Page, expect

from capital_app.domain.dates import end_of_local_day, format_day, local_today
from capital_app.domain.fold import active_states, fold
from capital_app.domain.money import format_money, format_money_short, format_rate
from capital_app.domain.rules import PlannedEntry
from capital_app.domain.values import Action
from capital_app.domain.wacc import wacc_of
from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from capital_app.service import reports
from tests.e2e.support import LOAD, browser_zone, sign_in, snap, source_row, wait_ready
from tests.support.factories import make_tenant
from tests.support.recorded import insert_recorded_at

NOW = datetime.now(UTC)


def _at(days: int) -> datetime:
    return (NOW - timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)


def _entry(source, seq, action, days, cents, rate, *, prev_rate=None, prev_amount=None):
    name = {"a": "Absa term loan", "b": "Britam notes"}[source]
    return (
        PlannedEntry(
            source_id=f"tt-{source}",
            sequence=seq,
            action=action,
            effective_date=_at(days),
            name=name,
            annual_rate=Decimal(rate),
            available_cents=cents,
            previous_rate=Decimal(prev_rate) if prev_rate else None,
            previous_amount=prev_amount,
            notes=None,
        ),
        _at(days) + timedelta(hours=2),  # recorded the same day it took effect
    )


HISTORY = [
    _entry("a", 1, Action.ADDED, 100, 10_000_000_00, "0.10"),
    _entry("b", 1, Action.ADDED, 70, 30_000_000_00, "0.14"),
    _entry("a", 2, Action.AMOUNT_CHANGED, 40, 20_000_000_00, "0.10", prev_amount=10_000_000_00),
    _entry("b", 2, Action.RATE_CHANGED, 20, 30_000_000_00, "0.12", prev_rate="0.14"),
    _entry("a", 3, Action.REMOVED, 5, 20_000_000_00, "0.10"),
]


def _write_history(tenant) -> None:
    insert_recorded_at(tenant.org_id, HISTORY, tenant.editor.id)


def _expected(tenant, as_of, known_at=None):
    entries = queries.list_history(tenant.actor("VIEWER"), limit=100).entries
    states = active_states(fold(entries, as_of, known_at))
    return wacc_of((s.available_cents, s.annual_rate) for s in states)


def _kpis(page: Page, summary) -> None:
    expect(page.locator("#kpi-total-value")).to_have_text(
        format_money_short(summary.total_cents), timeout=LOAD
    )
    expect(page.locator("#kpi-wacc-value")).to_have_text(format_rate(summary.wacc))
    expect(page.locator("#kpi-count-value")).to_have_text(str(summary.source_count))


def test_as_of_and_as_known_at_reproduce_earlier_totals_and_wacc(page: Page) -> None:
    tenant = make_tenant("Travel")
    _write_history(tenant)
    # Recorded today, backdated: Britam's notes were in fact 36 M from 30 days ago.
    commands.update_amount(
        tenant.actor(), source_id="tt-b", available_cents=36_000_000_00, effective_date=_at(30)
    )
    sign_in(page, tenant.editor)
    wait_ready(page)
    tz = browser_zone(page)
    today = local_today(tz, datetime.now(UTC))

    now = _expected(tenant, None)
    assert now.wacc == Decimal("0.12")
    _kpis(page, now)
    expect(page.locator(".row-actions")).not_to_have_count(0)

    checked = []
    for days in (85, 50, 25, 10):
        day = today - timedelta(days=days)
        page.fill("#as-of-date", day.isoformat())
        expect(page.locator("#past-view-text")).to_have_text(
            f"Viewing {format_day(day)} as known now — read-only", timeout=LOAD
        )
        expected = _expected(tenant, end_of_local_day(day, tz))
        # The service (what the page read) and the fold agree, and the page shows them.
        served = reports.dashboard_summary(tenant.actor(), as_of=end_of_local_day(day, tz))
        assert served.summary == expected
        _kpis(page, expected)
        expect(page.locator(".row-actions")).to_have_count(0)  # read-only
        expect(page.locator(".add-source")).to_have_count(0)
        checked.append((days, expected.total_cents, expected.wacc))
    assert checked[1][1:] == (40_000_000_00, Decimal("0.13"))  # 10 M @ 10 % + 30 M @ 14 %
    assert checked[2][1:] == (56_000_000_00, Decimal("0.1257142857"))  # with the correction
    snap(page, "past-view-dashboard")

    # As known before today's correction: what we believed then.
    day = today - timedelta(days=25)
    known = today - timedelta(days=2)
    page.fill("#as-of-date", day.isoformat())
    page.click("#as-of-advanced")
    page.fill("#known-at-date", known.isoformat())
    expect(page.locator("#past-view-text")).to_have_text(
        f"Viewing {format_day(day)} as known on {format_day(known)} — read-only", timeout=LOAD
    )
    believed = _expected(tenant, end_of_local_day(day, tz), end_of_local_day(known, tz))
    assert believed.total_cents == 50_000_000_00 and believed.wacc == Decimal("0.124")
    _kpis(page, believed)
    expect(source_row(page, "Britam notes").locator(".cell-amount")).to_have_text(
        format_money(30_000_000_00)
    )

    # The history page shows the same moment: the correction was not known yet. (The
    # sidebar's link carries the moment; a bare /history typed in is today.)
    page.click("#nav-history")
    wait_ready(page)
    expect(page.locator("#past-view-banner")).to_be_visible()
    expect(page.locator("tr.history-row")).to_have_count(3, timeout=LOAD)
    snap(page, "past-view-history")

    page.click("#back-to-today")
    expect(page.locator("#past-view-banner")).to_have_count(0, timeout=LOAD)
    expect(page.locator("tr.history-row")).to_have_count(6, timeout=LOAD)
