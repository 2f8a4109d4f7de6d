"""Shareable past views (issue 15): the URL is the view, Back walks the views, bad links say why."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

from playwright.sync_api import Browser, Page, expect

from capital_app.domain.dates import format_day, local_today
from capital_app.domain.money import format_money_short
from capital_app.domain.rules import PlannedEntry
from capital_app.domain.values import Action
from capital_app.service import history_commands as commands
from tests.e2e.support import LOAD, browser_zone, sign_in, snap, wait_ready
from tests.support.factories import PASSWORD, make_tenant
from tests.support.recorded import insert_recorded_at

NOW = datetime.now(UTC)


def _at(days: int) -> datetime:
    return (NOW - timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)


def _planned(source: str, name: str, seq: int, action: Action, days: int, cents: int, rate: str,
             prev_rate: str | None = None, prev_amount: int | None = None):  # fmt: skip
    entry = PlannedEntry(
        source_id=source,
        sequence=seq,
        action=action,
        effective_date=_at(days),
        name=name,
        annual_rate=Decimal(rate),
        available_cents=cents,
        previous_rate=Decimal(prev_rate) if prev_rate else None,
        previous_amount=prev_amount,
        notes=None,
    )
    return entry, _at(days) + timedelta(hours=2)  # recorded the day it took effect


def _tenant_with_history(label: str):
    """Absa: added 100 days ago, grown 40 days ago, removed 5 days ago. Britam: added 70
    days ago, rate cut 20 days ago, and (recorded today) 36 M from 30 days ago."""
    tenant = make_tenant(label)
    a, b = f"sv-a-{tenant.org_id.hex[:6]}", f"sv-b-{tenant.org_id.hex[:6]}"
    insert_recorded_at(
        tenant.org_id,
        [
            _planned(a, "Absa term loan", 1, Action.ADDED, 100, 10_000_000_00, "0.10"),
            _planned(b, "Britam notes", 1, Action.ADDED, 70, 30_000_000_00, "0.14"),
            _planned(
                a,
                "Absa term loan",
                2,
                Action.AMOUNT_CHANGED,
                40,
                20_000_000_00,
                "0.10",
                prev_amount=10_000_000_00,
            ),
            _planned(
                b,
                "Britam notes",
                2,
                Action.RATE_CHANGED,
                20,
                30_000_000_00,
                "0.12",
                prev_rate="0.14",
            ),
            _planned(a, "Absa term loan", 3, Action.REMOVED, 5, 20_000_000_00, "0.10"),
        ],
        tenant.editor.id,
    )
    commands.update_amount(
        tenant.actor(), source_id=b, available_cents=36_000_000_00, effective_date=_at(30)
    )
    return tenant, a, b


def _query(page: Page) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(page.url).query))


def _rows(page: Page) -> list[str]:
    return page.locator("tr.history-row").all_inner_texts()


def _range(page: Page, name: str):
    return page.locator("#chart-range").get_by_role("radio", name=name)


def _pick_source(page: Page, name: str) -> None:
    page.locator("#filter-source").click()
    page.get_by_role("option", name=name).click()


def test_a_copied_past_history_link_opens_the_same_view_after_sign_in(
    page: Page, browser: Browser, app_url: str
) -> None:
    tenant, absa, _ = _tenant_with_history("Shared")
    sign_in(page, tenant.editor, "/history")
    wait_ready(page)
    expect(page.locator("tr.history-row")).to_have_count(6, timeout=LOAD)
    today = local_today(browser_zone(page), datetime.now(UTC))
    day, known = today - timedelta(days=25), today - timedelta(days=2)

    page.fill("#as-of-date", day.isoformat())
    page.click("#as-of-advanced")
    page.fill("#known-at-date", known.isoformat())
    banner = f"Viewing {format_day(day)} as known on {format_day(known)} — read-only"
    expect(page.locator("#past-view-text")).to_have_text(banner, timeout=LOAD)
    # What was known then, as of then: 3 entries (not the rate cut, not today's correction).
    expect(page.locator("tr.history-row")).to_have_count(3, timeout=LOAD)
    _pick_source(page, "Absa term loan")
    expect(page.locator("tr.history-row")).to_have_count(2, timeout=LOAD)
    expect(page).to_have_url(re.compile(r"source="), timeout=LOAD)
    query = _query(page)
    assert query["asOf"] == day.isoformat() and query["knownAt"] == known.isoformat()
    assert query["source"] == absa and query["tz"]
    rows, link = _rows(page), page.url
    snap(page, "shared-view-original")

    # Someone else's browser: no session. The link survives the sign-in.
    with browser.new_context(base_url=app_url, viewport={"width": 1280, "height": 800}) as other:
        fresh = other.new_page()
        fresh.goto(link)
        expect(fresh.locator("#login-email")).to_be_visible(timeout=LOAD)
        assert "next=" in fresh.url
        fresh.fill("#login-email", tenant.viewer.email)
        fresh.fill("#login-password", PASSWORD)
        fresh.press("#login-password", "Enter")
        expect(fresh.locator("#past-view-text")).to_have_text(banner, timeout=LOAD)
        wait_ready(fresh)
        expect(fresh.locator("tr.history-row")).to_have_count(2, timeout=LOAD)
        assert _rows(fresh) == rows
        assert _query(fresh) == query
        expect(fresh.locator("#filter-source")).to_have_text("Absa term loan (removed)")
        expect(fresh.locator("#view-problem")).to_have_count(0)
        snap(fresh, "shared-view-opened")

        # The moment travels with the sidebar: the dashboard shows that day's numbers.
        fresh.click("#nav-dashboard")
        expect(fresh.locator("#past-view-text")).to_have_text(banner, timeout=LOAD)
        expect(fresh).to_have_url(re.compile(rf"asOf={day.isoformat()}"), timeout=LOAD)
        expect(fresh.locator("#kpi-total-value")).to_have_text(
            format_money_short(50_000_000_00), timeout=LOAD
        )


def test_back_and_forward_walk_through_the_views(page: Page) -> None:
    tenant, _, _ = _tenant_with_history("Walk")
    sign_in(page, tenant.viewer, "/history")
    wait_ready(page)
    expect(page.locator("tr.history-row")).to_have_count(6, timeout=LOAD)
    today_url = page.url
    today = local_today(browser_zone(page), datetime.now(UTC))

    page.locator("#filter-action").click()
    page.get_by_role("option", name="Amount changed").click()
    expect(page).to_have_url(re.compile(r"action=AMOUNT_CHANGED"), timeout=LOAD)
    expect(page.locator("tr.history-row")).to_have_count(2, timeout=LOAD)
    filtered_url = page.url

    day = today - timedelta(days=35)
    page.fill("#as-of-date", day.isoformat())
    expect(page.locator("#past-view-banner")).to_be_visible(timeout=LOAD)
    expect(page).to_have_url(re.compile(rf"asOf={day.isoformat()}.*action=AMOUNT_CHANGED"))
    expect(page.locator("tr.history-row")).to_have_count(1, timeout=LOAD)  # not today's correction

    page.go_back()
    expect(page).to_have_url(filtered_url, timeout=LOAD)
    expect(page.locator("#past-view-banner")).to_have_count(0, timeout=LOAD)
    expect(page.locator("tr.history-row")).to_have_count(2, timeout=LOAD)
    expect(page.locator("#filter-action")).to_have_text("Amount changed")

    page.go_back()
    expect(page).to_have_url(today_url, timeout=LOAD)
    expect(page.locator("tr.history-row")).to_have_count(6, timeout=LOAD)
    expect(page.locator("#filter-action")).to_have_text("All actions")

    page.go_forward()
    page.go_forward()
    expect(page.locator("#past-view-banner")).to_be_visible(timeout=LOAD)
    expect(page.locator("tr.history-row")).to_have_count(1, timeout=LOAD)
    expect(page.locator("#as-of-date")).to_have_value(day.isoformat())

    # Back to today is a view of its own too.
    page.click("#back-to-today")
    expect(page.locator("#past-view-banner")).to_have_count(0, timeout=LOAD)
    expect(page).to_have_url(re.compile(r"/history/?\?action=AMOUNT_CHANGED$"), timeout=LOAD)
    page.go_back()
    expect(page.locator("#past-view-banner")).to_be_visible(timeout=LOAD)
    expect(page.locator("tr.history-row")).to_have_count(1, timeout=LOAD)


def test_pages_of_the_history_are_links_and_back_returns_to_the_first(page: Page) -> None:
    tenant = make_tenant("Pages")
    source = f"sv-p-{tenant.org_id.hex[:6]}"
    entries = [_planned(source, "Coop line", 1, Action.ADDED, 80, 1_000_000_00, "0.100")]
    for seq in range(2, 62):  # 61 entries: two pages of 50
        entries.append(
            _planned(
                source,
                "Coop line",
                seq,
                Action.RATE_CHANGED,
                80 - seq,
                1_000_000_00,
                f"0.1{seq:02d}",
                prev_rate=f"0.1{seq - 1:02d}" if seq > 2 else "0.100",
            )
        )
    insert_recorded_at(tenant.org_id, entries, tenant.editor.id)
    sign_in(page, tenant.viewer, "/history")
    wait_ready(page)
    expect(page.locator("#history-range")).to_have_text("1–50 of 61", timeout=LOAD)
    first = _rows(page)
    page.click("#history-next")
    expect(page.locator("#history-range")).to_have_text("51–61 of 61", timeout=LOAD)
    expect(page).to_have_url(re.compile(r"page=2&cursor="), timeout=LOAD)
    second, second_url = _rows(page), page.url

    page.go_back()
    expect(page.locator("#history-range")).to_have_text("1–50 of 61", timeout=LOAD)
    assert _rows(page) == first
    page.go_forward()
    expect(page.locator("#history-range")).to_have_text("51–61 of 61", timeout=LOAD)
    assert _rows(page) == second

    # The second page's link, opened afresh, is the second page.
    page.goto("/sources")  # leave, then come back by the link alone
    page.goto(second_url)
    wait_ready(page)
    expect(page.locator("#history-range")).to_have_text("51–61 of 61", timeout=LOAD)
    assert _rows(page) == second


def test_a_bad_link_says_what_is_wrong_and_shows_a_sane_view(page: Page) -> None:
    tenant, _, _ = _tenant_with_history("Bad links")
    _, other_source, _ = _tenant_with_history("Elsewhere")
    sign_in(page, tenant.viewer, "/history?asOf=notadate")
    wait_ready(page)
    notice = page.locator("#view-problem")
    expect(notice).to_contain_text("as-of date “notadate” is not a date", timeout=LOAD)
    expect(notice).to_contain_text("showing today")
    expect(page.locator("#past-view-banner")).to_have_count(0)
    expect(page.locator("tr.history-row")).to_have_count(6, timeout=LOAD)
    expect(page).to_have_url(re.compile(r"/history/?$"), timeout=LOAD)  # the URL says what shows
    snap(page, "shared-view-bad-as-of")

    # Another organization's source: not shown, not even named; every source instead.
    page.goto(f"/history?source={other_source}&action=nope")
    wait_ready(page)
    expect(notice).to_contain_text("not one of your organization's sources", timeout=LOAD)
    expect(notice).to_contain_text("action “nope” is not one of")
    expect(page.locator("tr.history-row")).to_have_count(6, timeout=LOAD)

    future = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    page.goto(f"/?knownAt={future}&asOf=2025-02-30")
    wait_ready(page)
    expect(notice).to_contain_text("is in the future; showing what is known now", timeout=LOAD)
    expect(notice).to_contain_text("as-of date “2025-02-30” is not a date")
    expect(page.locator("#past-view-banner")).to_have_count(0)
    expect(page.locator("#kpi-count-value")).to_have_text("1", timeout=LOAD)

    # Choosing a view clears the notice.
    page.click("#nav-history")
    wait_ready(page)
    expect(notice).to_have_count(0, timeout=LOAD)


def test_source_pages_and_the_dashboard_open_at_the_links_moment(page: Page) -> None:
    tenant, absa, britam = _tenant_with_history("Source links")
    sign_in(page, tenant.viewer, "/")
    wait_ready(page)
    zone_name = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    today = local_today(browser_zone(page), datetime.now(UTC))
    day = today - timedelta(days=50)  # Absa 10 M (grown 40 days ago), Britam 30 M at 14 %
    moment = f"asOf={day.isoformat()}&tz={zone_name}"

    page.goto(f"/sources/{absa}?{moment}")
    wait_ready(page)
    expect(page.locator("#past-view-text")).to_have_text(
        f"Viewing {format_day(day)} as known now — read-only", timeout=LOAD
    )
    expect(page.locator("#detail-status")).to_have_text("Active", timeout=LOAD)
    expect(page.locator("#detail-amount-card-value")).to_have_text(
        format_money_short(10_000_000_00)
    )
    expect(page.locator("#detail-share-card-value")).to_have_text("25.0 %")

    # The way back to the list keeps the moment: Absa is still active then.
    page.click("text=All sources")
    expect(page).to_have_url(re.compile(rf"/sources/?\?asOf={day.isoformat()}"), timeout=LOAD)
    expect(page.locator("tr.source-line")).to_have_count(2, timeout=LOAD)
    expect(page.locator("tr.source-line", has_text="Absa term loan")).to_contain_text("Active")

    # Today, the same list says Absa was removed; Back returns to the past list.
    page.click("#back-to-today")
    expect(page.locator("tr.source-line", has_text="Absa term loan")).to_contain_text(
        "Removed", timeout=LOAD
    )
    expect(page).to_have_url(re.compile(r"/sources/?$"), timeout=LOAD)
    page.go_back()
    expect(page.locator("tr.source-line", has_text="Absa term loan")).to_contain_text(
        "Active", timeout=LOAD
    )
    expect(page.locator("#past-view-banner")).to_be_visible()

    # A dashboard link: the same figures as of that day, from the sidebar and opened afresh.
    page.click("#nav-dashboard")
    expect(page.locator("#kpi-total-value")).to_have_text(
        format_money_short(40_000_000_00), timeout=LOAD
    )
    expect(page.locator("#kpi-wacc-value")).to_have_text("13.00 %")
    link = page.url
    assert _query(page) == {"asOf": day.isoformat(), "tz": zone_name}
    page.goto(f"/sources/{britam}")  # elsewhere, today
    wait_ready(page)
    expect(page.locator("#past-view-banner")).to_have_count(0, timeout=LOAD)
    page.goto(link)
    wait_ready(page)
    expect(page.locator("#kpi-total-value")).to_have_text(
        format_money_short(40_000_000_00), timeout=LOAD
    )
    expect(page.locator("#kpi-count-value")).to_have_text("2")
    expect(page.locator(".row-actions")).to_have_count(0)  # a past view is read-only

    # The chart's range is part of the dashboard's view: a link, and Back undoes it.
    page.locator("#chart-range").get_by_role("radio", name="3M").click()
    expect(page).to_have_url(re.compile(r"range=3M"), timeout=LOAD)
    expect(_range(page, "3M")).to_have_attribute("aria-checked", "true")
    page.reload()
    wait_ready(page)
    expect(_range(page, "3M")).to_have_attribute("aria-checked", "true", timeout=LOAD)
    expect(page.locator("#kpi-total-value")).to_have_text(format_money_short(40_000_000_00))
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"range="), timeout=LOAD)
    expect(_range(page, "1Y")).to_have_attribute("aria-checked", "true", timeout=LOAD)
    expect(page.locator("#past-view-banner")).to_be_visible()
