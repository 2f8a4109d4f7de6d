"""Live pushes to many sessions (issue 11): one emit per room, and every session right.

50 browser-less sessions (benchmarks/reflex_client.py: Reflex's own Socket.IO
protocol over the real WebSocket) of two organizations and three views — the
live dashboard (in rooms), an as-of dashboard and a filtered history (their own
catch-up) — plus a real Chromium dashboard. After a change, every session of
the changed organization shows exactly what a fresh page load shows; the other
organization's sessions get no frame; a later own event and a reconnect's
hydrate do not bring back older data; the one-source delta stays small; a
deactivated user's open session gets no push from then on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from playwright.sync_api import Browser, expect

from benchmarks.reflex_client import ROOT_STATE, ReflexSession
from capital_app.domain.accounts import UserRecord
from capital_app.service import history_commands as commands
from capital_app.service import users as user_service
from capital_app.ui.pages.dashboard import presenters as present
from capital_app.ui.pages.dashboard.state import ACTIVITY_VARS, BASE_VARS, PATCH_VARS
from tests.e2e.support import LOAD, sign_in, source_row, wait_ready
from tests.support.factories import PASSWORD, add_source, make_tenant

T = TypeVar("T")
APP = "capital_app___ui___state____app_state"
LOGIN = "capital_app___ui___pages___login____login_state"
DASH = "capital_app___ui___pages___dashboard___state____dashboard_state"
HISTORY = "capital_app___ui___pages___history____history_state"
DELTA_BOUND = 2048  # bytes of the room's packet for a change to one source


def _full(suffix: str) -> str:
    return f"{ROOT_STATE}.{APP}" + ("" if suffix == APP else f".{suffix}")


def _run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """asyncio in its own thread: Playwright's sync API owns this one's loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coro_fn())).result()  # type: ignore[arg-type]


class Tab:
    """One browser-less tab, remembering the size of every packet it receives."""

    def __init__(self, url: str, view: str) -> None:
        self.view = view
        self.session = ReflexSession(url, path="/login")

    @property
    def packets(self) -> list[tuple[int, dict[str, Any]]]:
        return self.session.packets

    def value(self, state: str, var: str) -> Any:
        return self.session.value(state, var)

    async def until(self, predicate: Callable[[], bool], timeout: float = 30) -> None:
        await self.session.wait_until(predicate, timeout)


async def _rooms_hold(url: str, members: int, timeout: float = 60) -> None:
    """Until this (one-worker) server reports at least `members` sessions in live rooms."""

    def reported() -> int:
        with urllib.request.urlopen(f"{url}/api/health", timeout=10) as answer:
            return int(json.load(answer)["realtime"].get("room_members", 0))

    deadline = asyncio.get_running_loop().time() + timeout
    while (held := await asyncio.to_thread(reported)) < members:
        assert asyncio.get_running_loop().time() < deadline, (held, members)
        await asyncio.sleep(0.2)


async def _open(url: str, user: UserRecord, view: str, as_of: str = "", source: str = "") -> Tab:
    tab = Tab(url, view)
    s = tab.session
    await s.connect()
    await tab.until(lambda: any(k.endswith(LOGIN) for k in s.values))
    await s.send(_full(LOGIN), "sign_in", form_data={"email": user.email, "password": PASSWORD})
    await tab.until(lambda: bool(s.value(APP, "user_id")))
    if view == "history":
        s.path = "/history"
        await s.send(_full(HISTORY), "load")
        await tab.until(lambda: s.value(HISTORY, "status") == "ready")
        if not source:
            return tab
        await s.send(_full(HISTORY), "set_filter", name="source", value=source)
        await tab.until(
            lambda: (
                s.value(HISTORY, "source_filter") == source
                and s.value(HISTORY, "status") == "ready"
            )
        )
        return tab
    s.path = "/"
    await s.send(_full(DASH), "load")
    await tab.until(
        lambda: s.value(DASH, "status") == "ready" and s.value(DASH, "chart_status") == "ready"
    )
    if as_of:
        await s.send(_full(APP), "set_as_of", value=as_of)
        await tab.until(lambda: s.value(APP, "as_of_day") == as_of)
        await tab.until(lambda: s.value(DASH, "status") == "ready")
    return tab


def _shown(tab: Tab) -> dict[str, Any]:
    """What the tab's page shows (the dashboard's rows merged and sorted as the browser does)."""
    if tab.view == "history":
        rows = tab.value(HISTORY, "rows") or []
        return {"rows": [(r["entry_id"], r["after"], r["source"]) for r in rows]}
    base = [present.SourceRow(**r) for name in BASE_VARS for r in tab.value(DASH, name) or []]
    patches = [tab.value(DASH, name) for name in PATCH_VARS]
    rows = present.apply_rows(base, [present.SourceRow(**p) if p else None for p in patches])
    ring = tuple(tab.value(DASH, name) for name in ACTIVITY_VARS)
    ordered = present.sorted_rows(rows, "amount", True)
    kpis = {k: tab.value(DASH, k) for k in ("kpi_total_exact", "kpi_count", "kpi_wacc")}
    return {
        "rows": [(r.source_id, r.amount, r.rate) for r in ordered],
        "total": tab.value(DASH, "total_cents"),
        "activity": [
            (a.key, a.subject, a.after)
            for a in present.shown_activity(
                [present.ActivityRow(**a) for a in tab.value(DASH, "activity") or []],
                tuple(present.ActivityRow(**a) if a else None for a in ring),
                tab.value(DASH, "activity_seq") or 0,
                10,
            )
        ],
        **kpis,
    }


def test_a_push_to_fifty_sessions_of_two_orgs_and_three_views(
    browser: Browser, app_url: str
) -> None:
    ours, theirs = make_tenant("Fanout"), make_tenant("Fanout other")
    loans = [
        add_source(ours.actor(), f"Loan {i:02d}", 1_000_000_00 + i * 1_000_00, "0.1", days=60)
        for i in range(30)
    ]
    add_source(theirs.actor(), "Their loan", 2_000_000_00, "0.12", days=60)
    past = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    changed_name = "Loan 07"

    with browser.new_context(base_url=app_url) as ctx:
        page = ctx.new_page()
        sign_in(page, ours.viewer)
        wait_ready(page)

        async def scenario() -> None:
            plan: list[tuple[Any, UserRecord, str, str, str]] = []
            for tenant, count in ((ours, 25), (theirs, 25)):
                for i in range(count):
                    user = (tenant.viewer, tenant.editor, tenant.admin)[i % 3]
                    view = ("live", "live", "live", "as_of", "history")[i % 5]
                    source = loans[7] if tenant is ours else ""
                    plan.append((tenant, user, view, past if view == "as_of" else "", source))
            tabs: list[tuple[Any, Tab]] = []
            for start in range(0, len(plan), 10):
                batch = plan[start : start + 10]
                opened = await asyncio.gather(
                    *(_open(app_url, u, v, a, s) for _, u, v, a, s in batch)
                )
                tabs += [(t, tab) for (t, *_), tab in zip(batch, opened, strict=True)]
            # The joins (a follow-up event each) settle: wait until the server holds every
            # live tab in a room (a loaded machine may take longer than any fixed pause).
            await _rooms_hold(app_url, sum(1 for _, tab in tabs if tab.view == "live"))
            await asyncio.sleep(1.5)
            before = {id(tab): _shown(tab) for _, tab in tabs}
            heard = {id(tab): len(tab.packets) for _, tab in tabs}
            revision = max(tab.value(APP, "revision") for _, tab in tabs)

            await asyncio.to_thread(
                commands.update_amount,
                ours.actor(),
                source_id=loans[7],
                available_cents=9_999_999_00,
                effective_date=datetime.now(UTC),
                expected_sequence=1,
            )
            ours_tabs = [tab for t, tab in tabs if t is ours]
            live = [tab for tab in ours_tabs if tab.view == "live"]
            await asyncio.gather(
                *(
                    tab.until(lambda tab=tab: (tab.value(APP, "revision") or 0) > revision)
                    for tab in live
                )
            )
            history = [tab for tab in ours_tabs if tab.view == "history"]
            await asyncio.gather(
                *(tab.until(lambda tab=tab: len(_shown(tab)["rows"]) == 2, 30) for tab in history)
            )
            as_of = [tab for tab in ours_tabs if tab.view == "as_of"]
            await asyncio.gather(
                *(tab.until(lambda tab=tab: tab.value(APP, "newer_data") is True) for tab in as_of)
            )
            await asyncio.sleep(1)

            # Fresh loads of each view, after the change: what every session must show.
            fresh = {
                "live": await _open(app_url, ours.viewer, "live"),
                "as_of": await _open(app_url, ours.viewer, "as_of", past),
                "history": await _open(app_url, ours.viewer, "history", source=loans[7]),
            }
            for tab in ours_tabs:
                assert _shown(tab) == _shown(fresh[tab.view]), tab.view
            for tab in as_of:
                assert _shown(tab) == before[id(tab)], "a past view kept its numbers"

            # The live dashboards got the change as one small packet (a row, the KPIs).
            for tab in live:
                sizes = [size for size, _ in tab.packets[heard[id(tab)] :]]
                big = [
                    list(u["delta"]) for n, u in tab.packets[heard[id(tab)] :] if n >= DELTA_BOUND
                ]
                assert sizes and max(sizes) < DELTA_BOUND, (sizes, big)
            # The other organization heard nothing.
            for t, tab in tabs:
                if t is theirs:
                    assert len(tab.packets) == heard[id(tab)], tab.packets[heard[id(tab)] :]

            # A later own event of a live session must not resend or undo anything …
            first = live[0]
            await first.session.send(_full(DASH), "sort_by", key="rate")
            await first.until(lambda: first.value(DASH, "sort_key") == "rate")
            await asyncio.sleep(0.5)
            assert _shown(first) == _shown(fresh["live"])
            late = [u for _, u in first.packets[-2:]]
            assert not any(re.search(r"rows_base_\d+_rx_state_", json.dumps(u)) for u in late), late
            # … nor the hydrate of a reconnect (same tab token, no own event since the
            # push): the server-side state it starts from holds the pushed data.
            quiet = live[1]
            token = quiet.session.token
            await quiet.session.close()
            again = Tab(app_url, "live")
            again.session.token = token
            again.session.path = "/"
            await again.session.connect()
            await again.until(lambda: again.value(APP, "revision") is not None)
            hydrate_revision = again.packets[0][1]["delta"]
            shown_revisions = [
                v.get("revision_rx_state_")
                for k, v in hydrate_revision.items()
                if k.endswith(APP) and "revision_rx_state_" in v
            ]
            assert shown_revisions and shown_revisions[0] > revision, shown_revisions
            for _, tab in tabs:
                if tab is not quiet:
                    await tab.session.close()
            for tab in (*fresh.values(), again):
                await tab.session.close()

        _run(scenario)
        row = source_row(page, changed_name)
        expect(row.locator(".cell-amount")).to_have_text("KES 9,999,999.00", timeout=LOAD)
        expect(page.locator("#kpi-count-value")).to_have_text("30")


def test_a_deactivated_users_open_session_stops_receiving_pushes(app_url: str) -> None:
    """The next push after a deactivation reaches none of the user's open tabs (a live
    dashboard in its room, an as-of dashboard, a filtered history): each is signed out
    and sent to the login page with the reason instead, and carries no new data."""
    tenant = make_tenant("Deactivated")
    loan = add_source(tenant.actor(), "Base loan", 1_000_000_00, "0.10", days=60)
    past = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()

    async def scenario() -> None:
        viewer = {
            "live": await _open(app_url, tenant.viewer, "live"),
            "as_of": await _open(app_url, tenant.viewer, "as_of", past),
            "history": await _open(app_url, tenant.viewer, "history", source=loan),
        }
        colleague = await _open(app_url, tenant.editor, "live")
        await _rooms_hold(app_url, 2)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(
            user_service.update_user, tenant.actor("ADMIN"), tenant.viewer.id, active=False
        )
        heard = {view: len(tab.packets) for view, tab in viewer.items()}
        seen = {view: tab.value(APP, "revision") or 0 for view, tab in viewer.items()}
        start = colleague.value(APP, "revision")
        await asyncio.to_thread(
            commands.update_amount,
            tenant.actor(),
            source_id=loan,
            available_cents=1_234_567_00,
            effective_date=datetime.now(UTC),
            expected_sequence=1,
        )
        await colleague.until(lambda: colleague.value(APP, "revision") > start)
        assert "1,234,567" in json.dumps(colleague.packets[-3:])
        # Each of the viewer's tabs is told: signed out, sent to the login page, why.
        for tab in viewer.values():
            await tab.until(lambda tab=tab: tab.value(APP, "user_id") == "", 30)
        await asyncio.sleep(1.0)
        for view, tab in viewer.items():
            late = tab.packets[heard[view] :]
            text = json.dumps([u for _, u in late])
            assert "1,234,567" not in text, f"{view}: the deactivated session was sent data"
            assert 'newer_data_rx_state_": true' not in text, f"{view}: told of the change"
            assert (tab.value(APP, "revision") or 0) == seen[view], view
            assert "not active" in (tab.value(APP, "auth_message") or ""), view
            events = [e for _, u in late for e in u.get("events") or []]
            assert any("/login" in json.dumps(e) for e in events), (view, events)
            assert tab.value(APP, "session_token") == "", view
        # Nothing reaches them any more: a second change sends them no frame at all.
        after = {view: len(tab.packets) for view, tab in viewer.items()}
        start = colleague.value(APP, "revision")
        await asyncio.to_thread(
            commands.update_amount,
            tenant.actor(),
            source_id=loan,
            available_cents=2_345_678_00,
            effective_date=datetime.now(UTC),
            expected_sequence=2,
        )
        await colleague.until(lambda: colleague.value(APP, "revision") > start)
        await asyncio.sleep(1.0)
        for view, tab in viewer.items():
            assert len(tab.packets) == after[view], (view, tab.packets[after[view] :])
        for tab in (*viewer.values(), colleague):
            await tab.session.close()

    _run(scenario)
