"""Live collaboration in real browsers: every open session of an organization sees each
change at once, without reloading; nobody else hears of it (issue 5).

Changes come from the UI of another user, the REST API, raw SQL as the database
owner, and during an outage of the listener's connection. Each session is its own
browser context (its own WebSocket, as two people would have).
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import psycopg
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute, expect

from capital_app.db.engine import libpq_url, owner_database_url
from capital_app.domain.accounts import UserRecord
from capital_app.domain.money import format_money
from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.support import LOAD, sign_in, source_row, wait_ready
from tests.support.factories import PASSWORD, add_source, make_tenant


@contextmanager
def _session(browser: Browser, base_url: str) -> Iterator[BrowserContext]:
    """One person's browser (its own storage and WebSocket)."""
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
    """Every WebSocket frame the page receives from now on (text as sent)."""
    frames: list[str] = []

    def on_socket(ws) -> None:
        ws.on("framereceived", lambda payload: frames.append(str(payload)))

    page.on("websocket", on_socket)
    return frames


def _watch_row_counts(page: Page, name: str) -> None:
    """Record, on every DOM change, how many rows show `name` (duplicates, flicker)."""
    page.evaluate(
        """(name) => {
        window.__counts = [];
        const count = () => [...document.querySelectorAll('tr.source-row')]
            .filter(r => r.textContent.includes(name)).length;
        new MutationObserver(() => {
            const n = count();
            if (window.__counts[window.__counts.length - 1] !== n) window.__counts.push(n);
        }).observe(document.body, {subtree: true, childList: true, characterData: true});
    }""",
        name,
    )


def _row_counts(page: Page) -> list[int]:
    return list(page.evaluate("window.__counts"))


def _health(base_url: str) -> dict:
    with urllib.request.urlopen(f"{base_url}/api/health", timeout=10) as answer:
        return json.loads(answer.read())["realtime"]


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"live-{name}.png", full_page=True)


def _edit(page: Page, source: str, action: str, field: str | None, value: str) -> None:
    source_row(page, source).locator(f".action-{action}").click()
    expect(page.locator("#edit-dialog")).to_be_visible(timeout=LOAD)
    if field:
        page.fill(f"#edit-{field}", value)
    page.click("#edit-submit")
    expect(page.locator("#edit-dialog")).to_have_count(0, timeout=LOAD)


def _presence_ids(page: Page) -> list[str]:
    return page.locator("#presence-list .presence-avatar").evaluate_all(
        "els => els.map(e => e.dataset.userId)"
    )


def test_two_users_see_each_change_live_and_another_org_hears_nothing(
    browser: Browser, app_url: str
) -> None:
    tenant, stranger = make_tenant("Live"), make_tenant("Elsewhere")
    add_source(tenant.actor(), "Base loan", 1_000_000_00, "0.10", days=60)
    add_source(stranger.actor(), "Their loan", 2_000_000_00, "0.12", days=60)
    name = f"Live bond {uuid4().hex[:6]}"

    with (
        _session(browser, app_url) as a_ctx,
        _session(browser, app_url) as b_ctx,
        _session(browser, app_url) as c_ctx,
    ):
        c = c_ctx.new_page()
        c_frames = _capture_frames(c)
        sign_in(c, stranger.editor)
        wait_ready(c)
        a = _open(a_ctx, tenant.editor)
        b = _open(b_ctx, tenant.viewer)
        b_history = _open(b_ctx, tenant.viewer, "/history")
        b_history_rows = b_history.locator("tr.history-row", has_text=name)

        # Presence: A and B see each other on the dashboard; the stranger sees no one.
        expect(a.locator(f'.presence-avatar[data-user-id="{tenant.viewer.id}"]')).to_have_count(
            1, timeout=LOAD
        )
        expect(b.locator(f'.presence-avatar[data-user-id="{tenant.editor.id}"]')).to_have_count(
            1, timeout=LOAD
        )
        _shot(b, "presence")
        c.wait_for_timeout(500)
        quiet_from = len(c_frames)

        # A adds: its own optimistic row becomes the stored one, never two, never gone.
        _watch_row_counts(a, name)
        a.locator(".add-source").first.click()
        expect(a.locator("#edit-name")).to_be_focused(timeout=LOAD)
        a.fill("#edit-name", name)
        a.fill("#edit-amount", "3,000,000")
        a.fill("#edit-rate", "14.5")
        a.click("#edit-submit")
        expect(a.locator(".pending-row")).to_have_count(0, timeout=LOAD)
        expect(source_row(a, name).locator(".cell-amount")).to_have_text("KES 3,000,000.00")
        b_row = source_row(b, name)
        expect(b_row.locator(".cell-amount")).to_have_text("KES 3,000,000.00", timeout=LOAD)
        expect(b.locator("#kpi-count-value")).to_have_text("2")
        expect(b_history_rows).to_have_count(1, timeout=LOAD)
        a.wait_for_timeout(300)  # any late echo of the broadcast would land by now
        counts = _row_counts(a)
        assert max(counts) == 1, f"A's row was duplicated: {counts}"
        assert counts[-1] == 1 and 0 not in counts[counts.index(1) :], f"flicker: {counts}"
        _shot(b, "after-add")

        # A changes the amount, then removes the source.
        _edit(a, name, "amount", "amount", "2500000")
        expect(b_row.locator(".cell-amount")).to_have_text("KES 2,500,000.00", timeout=LOAD)
        expect(b_history_rows).to_have_count(2, timeout=LOAD)
        _edit(a, name, "remove", "notes", "repaid")
        expect(b_row).to_have_count(0, timeout=LOAD)
        expect(b.locator("#kpi-count-value")).to_have_text("1")
        expect(b_history_rows).to_have_count(3, timeout=LOAD)
        expect(b_history_rows.first).to_contain_text("Removed")
        _shot(b_history, "history")

        # The other organization: nothing on screen, and not one message on its socket.
        expect(source_row(c, name)).to_have_count(0)
        expect(c.locator(".presence-avatar")).to_have_count(0)
        c.wait_for_timeout(500)
        late = c_frames[quiet_from:]
        events = [f for f in late if f.startswith("42")]  # Socket.IO events (not pings)
        assert events == [], f"the other organization's session was told: {events[:3]}"
        assert not any(name in f or str(tenant.org_id) in f for f in c_frames)
        assert any("Their loan" in f for f in c_frames), "the capture saw the page's own data"


def _api_token(base_url: str, user: UserRecord) -> str:
    request = urllib.request.Request(
        f"{base_url}/api/auth/token",
        data=json.dumps({"email": user.email, "password": PASSWORD}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())["accessToken"]


def _api_add(base_url: str, user: UserRecord, name: str, cents: int) -> None:
    body = {
        "source": {"name": name, "annualRate": 0.09, "availableCents": cents},
        "effectiveDate": (datetime.now(UTC) - timedelta(days=1)).date().isoformat(),
    }
    request = urllib.request.Request(
        f"{base_url}/api/capital-history/add-source",
        data=json.dumps(body).encode(),
        headers={
            "content-type": "application/json",
            "authorization": f"Bearer {_api_token(base_url, user)}",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201


def _sql_add(org_id: UUID, name: str, cents: int) -> None:
    """An operator's INSERT as the database owner: no service, no API; only the trigger."""
    with psycopg.connect(libpq_url(owner_database_url())) as conn:
        conn.execute("SELECT set_config('app.org_id', %s, true)", (str(org_id),))
        conn.execute(
            "INSERT INTO capital_history (organization_id, source_id, action,"
            " effective_date, name, annual_rate, available_cents, created_by)"
            " VALUES (%s, %s, 'ADDED', now() - interval '1 day', %s, 0.1, %s, 'sql')",
            (org_id, f"sql-{uuid4().hex}", name, cents),
        )


def _terminate(backend_pid: int) -> None:
    with psycopg.connect(libpq_url(owner_database_url()), autocommit=True) as conn:
        killed = conn.execute("SELECT pg_terminate_backend(%s)", (backend_pid,)).fetchone()
    assert killed == (True,), f"no backend {backend_pid} to terminate"


def test_api_sql_and_outage_changes_reach_an_open_page_and_a_past_view_keeps_its_numbers(
    browser: Browser, app_url: str
) -> None:
    tenant = make_tenant("Sources of change")
    loan = add_source(tenant.actor(), "Base loan", 1_000_000_00, "0.10", days=60)
    with _session(browser, app_url) as ctx, _session(browser, app_url) as past_ctx:
        page = _open(ctx, tenant.viewer)
        past = _open(past_ctx, tenant.viewer)
        past.fill("#as-of-date", (datetime.now(UTC) - timedelta(days=30)).date().isoformat())
        expect(past.locator("#past-view-banner")).to_be_visible(timeout=LOAD)
        expect(past.locator("#kpi-count-value")).to_have_text("1", timeout=LOAD)
        past_total = past.locator("#kpi-total-value").inner_text()

        _api_add(app_url, tenant.editor, "Via the API", 4_000_000_00)
        expect(source_row(page, "Via the API")).to_be_visible(timeout=LOAD)

        _sql_add(tenant.org_id, "Via raw SQL", 5_000_000_00)
        expect(source_row(page, "Via raw SQL").locator(".cell-amount")).to_have_text(
            format_money(5_000_000_00, "KES"), timeout=LOAD
        )
        expect(page.locator("#kpi-count-value")).to_have_text("3")

        # The past view was told newer data exists, and still shows the past.
        expect(past.locator("#past-view-newer")).to_be_visible(timeout=LOAD)
        expect(past.locator("#kpi-count-value")).to_have_text("1")
        expect(past.locator("#kpi-total-value")).to_have_text(past_total)
        expect(source_row(past, "Via the API")).to_have_count(0)
        _shot(past, "past-view-notice")

        # Listener outage: its connection is killed, a change commits meanwhile.
        before = _health(app_url)
        assert before["state"] == "connected", before
        _terminate(before["backend_pid"])
        commands.update_amount(
            tenant.actor(),
            source_id=loan,
            available_cents=1_500_000_00,
            effective_date=datetime.now(UTC),
            expected_sequence=1,
        )
        expect(source_row(page, "Base loan").locator(".cell-amount")).to_have_text(
            "KES 1,500,000.00", timeout=LOAD
        )
        after = _health(app_url)
        assert after["state"] == "connected"
        assert after["backend_pid"] != before["backend_pid"]
        assert after["reconnect_count"] > before["reconnect_count"]

        # The past view keeps its numbers until asked back to today.
        expect(past.locator("#kpi-total-value")).to_have_text(past_total)
        past.click("#back-to-today")
        expect(past.locator("#kpi-count-value")).to_have_text("3", timeout=LOAD)
        assert queries.count_history(tenant.actor()) == 4


class _SocketSwitch:
    """The page's WebSocket through Playwright: cut it, refuse new ones, let them through."""

    def __init__(self, context: BrowserContext) -> None:
        self.blocked = False
        self.live: list[tuple[WebSocketRoute, WebSocketRoute]] = []
        context.route_web_socket(re.compile(r"/_event"), self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        if self.blocked:
            ws.close(code=1011, reason="e2e: backend unreachable")
            return
        self.live.append((ws, ws.connect_to_server()))

    def cut(self) -> None:
        self.blocked = True
        for page_side, server_side in self.live:
            server_side.close(code=1011, reason="e2e: cut")
            page_side.close(code=1011, reason="e2e: cut")
        self.live.clear()

    def restore(self) -> None:
        self.blocked = False


def test_a_websocket_reconnect_catches_up(browser: Browser, app_url: str) -> None:
    tenant = make_tenant("Reconnect")
    add_source(tenant.actor(), "Base loan", 1_000_000_00, "0.10", days=60)
    with _session(browser, app_url) as ctx:
        switch = _SocketSwitch(ctx)
        page = _open(ctx, tenant.viewer)
        expect(page.locator("#live-indicator")).to_have_text("Live", timeout=LOAD)
        switch.cut()
        expect(page.locator("#live-indicator")).to_contain_text("Reconnecting", timeout=LOAD)
        _shot(page, "reconnecting")
        add_source(tenant.actor(), "While offline", 6_000_000_00, "0.08", days=1)
        page.wait_for_timeout(500)
        expect(source_row(page, "While offline")).to_have_count(0)
        switch.restore()
        expect(source_row(page, "While offline")).to_be_visible(timeout=LOAD)
        expect(page.locator("#live-indicator")).to_have_text("Live", timeout=LOAD)
        expect(page.locator("#kpi-count-value")).to_have_text("2")


def _pid(page: Page) -> int:
    return int(page.locator("#worker-pid").get_attribute("data-pid") or 0)


def test_sessions_on_two_workers_all_receive_a_change_made_on_either(
    browser: Browser, two_worker_url: str
) -> None:
    tenant = make_tenant("Two workers")
    add_source(tenant.actor(), "Base loan", 1_000_000_00, "0.10", days=60)
    contexts: list[BrowserContext] = []
    try:
        # Editor and admin sessions until two people sit on different workers.
        opened: list[tuple[UserRecord, int, Page]] = []
        pair: tuple[tuple[UserRecord, int, Page], tuple[UserRecord, int, Page]] | None = None
        for attempt in range(16):
            user = tenant.editor if attempt % 2 == 0 else tenant.admin
            ctx = browser.new_context(base_url=two_worker_url)
            contexts.append(ctx)
            page = _open(ctx, user)
            expect(page.locator("#worker-pid")).not_to_have_attribute("data-pid", "0", timeout=LOAD)
            mine = (user, _pid(page), page)
            pair = next(((o, mine) for o in opened if o[0].id != user.id and o[1] != mine[1]), None)
            if pair:
                break
            opened.append(mine)
        assert pair, f"every session landed on one worker: {[o[1] for o in opened]}"
        (user_1, pid_1, first), (user_2, pid_2, second) = pair
        users = {pid_1: user_1, pid_2: user_2}
        assert pid_1 != pid_2

        # Presence crosses workers through Redis.
        expect(first.locator(f'.presence-avatar[data-user-id="{users[pid_2].id}"]')).to_have_count(
            1, timeout=LOAD
        )
        expect(second.locator(f'.presence-avatar[data-user-id="{users[pid_1].id}"]')).to_have_count(
            1, timeout=LOAD
        )

        # A change made on each worker (the UI's command runs where its socket is).
        _edit(first, "Base loan", "amount", "amount", "1,200,000")
        expect(source_row(second, "Base loan").locator(".cell-amount")).to_have_text(
            "KES 1,200,000.00", timeout=LOAD
        )
        _edit(second, "Base loan", "rate", "rate", "9.5")
        expect(source_row(first, "Base loan").locator(".cell-rate")).to_have_text(
            "9.50 %", timeout=LOAD
        )
        # And one from outside both: every open session of the organization shows it.
        add_source(tenant.actor("ADMIN"), "From a script", 2_000_000_00, "0.11", days=1)
        for ctx in contexts:
            for page in ctx.pages:
                expect(source_row(page, "From a script")).to_be_visible(timeout=LOAD)
        _shot(second, "two-workers")
        pids = {_health(two_worker_url)["worker_pid"] for _ in range(12)}
        assert pids <= {pid_1, pid_2}
    finally:
        for ctx in contexts:
            ctx.close()
