"""The live dashboard's push: one read, one render and one emit per worker, change and variant.

Called by this worker's listener subscriber (realtime/sessions.py) before the
per-session path: it serves the sessions sitting in dashboard rooms of the
organization and returns their tokens; every other session of the organization
(history, a source's page, a past view, pending edits, not joined yet) still
gets its own `catch_up` event.

Per change: the members are checked in one query (active users of the
organization, not signed out since their token was issued; token not expired) — a failing member leaves its room and gets
the per-session catch-up, whose read refuses it and signs it out; one
dashboard read as one authorized member; per variant (time zone, chart range)
the rows, KPIs, activity and chart are formatted once; the delta holds only
what changed (one row per changed source, keyed by source id, in a patch
slot; a fold of full slots re-sends one base chunk); it is JSON-encoded once by python-socketio and sent to the room.
A member whose browser already shows a newer revision (it joined while this
read ran) is skipped. `LiveRoomSync` brings a member's server-side state up to
what it was sent before any of its own events runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from reflex.middleware import Middleware
from reflex_base.constants.state import FIELD_MARKER

from capital_app.domain.dates import local_today, zone
from capital_app.domain.series import Interval
from capital_app.domain.views import SeriesPoint
from capital_app.observe import metrics
from capital_app.realtime.changes import OrganizationChange
from capital_app.realtime.rooms import ROOMS, Member, Room, now_seconds
from capital_app.service import history_queries as queries
from capital_app.service import reports
from capital_app.service.actor import Actor, sessions_among
from capital_app.ui.pages.dashboard import presenters as present
from capital_app.ui.pages.dashboard.presenters import SourceRow
from capital_app.ui.pages.dashboard.state import (
    ACTIVITY_VARS,
    BASE_CHUNKS,
    BASE_VARS,
    CHART_TAIL,
    PATCH_SLOTS,
    PATCH_VARS,
    DashboardState,
    LiveView,
    targets_of,
)
from capital_app.ui.state import AppState

logger = logging.getLogger(__name__)

_locks: dict[UUID, asyncio.Lock] = {}
# Sizes of the last deltas sent (bytes), for benchmarks and /api/health-style probes.
SENT_SIZES: list[int] = []


def _slots(
    previous: LiveView | None, rows: list[SourceRow]
) -> tuple[int, tuple[list[SourceRow], ...], tuple[SourceRow | None, ...]]:
    """(epoch, base chunks, patches): the changed rows in slots over the room's base.

    A changed row takes its source's slot or a free one; when none is free, the
    chunk holding the most patched sources absorbs them (presenters.fold_patches)
    and only that chunk travels again, so however many distinct sources changed
    before, a one-source change never re-sends the whole list.
    """
    if previous is None:
        return 0, present.split_rows(rows, BASE_CHUNKS), (None,) * PATCH_SLOTS
    changed = present.changed_rows(previous.rows(), rows)
    base = previous.base
    slots = list(previous.patches)
    for row in changed:
        at = next(
            (i for i, p in enumerate(slots) if p is not None and p.source_id == row.source_id),
            None,
        )
        if at is None and None not in slots:
            base, slots = present.fold_patches(base, slots)
        if at is None:
            at = slots.index(None)
        slots[at] = row
    return previous.epoch, base, tuple(slots)


def _wire(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def _delta(previous: LiveView | None, view: LiveView, full: bool) -> dict[str, dict[str, Any]]:
    """The room's delta in Reflex's wire shape (state full name → var + FIELD_MARKER → value)."""
    fields: dict[str, Any] = {}

    def put(name: str, new: Any, old: Any) -> None:
        if full or new != old:
            fields[name + FIELD_MARKER] = _wire(new)

    before = previous if previous is not None and not full else None
    for name in present.Kpis.__dataclass_fields__:
        put(
            f"kpi_{name}",
            getattr(view.kpis, name),
            getattr(before.kpis, name) if before else None,
        )
    put("total_cents", view.total_cents, before.total_cents if before else None)
    if full or before is None or view.epoch != before.epoch:
        for name, chunk in zip(BASE_VARS, view.base, strict=True):
            fields[name + FIELD_MARKER] = _wire(chunk)
        for name, patch in zip(PATCH_VARS, view.patches, strict=True):
            fields[name + FIELD_MARKER] = _wire(patch)
    else:
        for name, chunk, old_chunk in zip(BASE_VARS, view.base, before.base, strict=True):
            if chunk is not old_chunk:  # a fold: this chunk only
                put(name, chunk, old_chunk)
        for name, patch, old_patch in zip(PATCH_VARS, view.patches, before.patches, strict=True):
            put(name, patch, old_patch)
    put("activity", view.activity, before.activity if before else None)
    for i, name in enumerate(ACTIVITY_VARS):
        put(name, view.activity_slots[i], before.activity_slots[i] if before else None)
    put("activity_seq", view.activity_seq, before.activity_seq if before else None)
    put("chart_head", view.chart_head, before.chart_head if before else None)
    put("chart_tail", view.chart_tail, before.chart_tail if before else None)
    put("chart_status", view.chart_status, before.chart_status if before else None)
    put("chart_problem", view.chart_problem, before.chart_problem if before else None)
    return {
        DashboardState.get_full_name(): fields,
        AppState.get_full_name(): {"revision" + FIELD_MARKER: view.revision},
    }


async def broadcast(change: OrganizationChange, is_local: Callable[[str], bool]) -> set[str]:
    """Push the change into this worker's dashboard rooms of the organization; served tokens."""
    org = change.organization_id
    if org is None:  # a resync of every organization: the per-session path re-reads
        return set()
    lock = _locks.setdefault(org, asyncio.Lock())
    async with lock:
        return await _broadcast(org, is_local, change.noticed_at)


async def _broadcast(
    org: UUID, is_local: Callable[[str], bool], noticed_at: float | None = None
) -> set[str]:
    members = [
        m
        for room in ROOMS.of_organization(org)
        for m in ROOMS.connected(room.members.values(), is_local)
    ]
    if not members:
        return set()
    now = now_seconds()
    # The members' check and the dashboard read run side by side (two threads, two
    # connections): the read is made as a member whose token is still valid, and
    # kept only if the check confirms that member (else read again as one it does).
    first = next((m for m in members if m.expires_at > now), None)
    if first is None:
        for m in members:
            ROOMS.leave(m.token)
        return set()
    # The chart's series too, for the window each room will need: a 3M or 1Y window
    # does not depend on the summary, an "All" one on the history's start, taken
    # from the room's last snapshot (a room whose window turns out different reads
    # again in _push_room). One round of reads instead of two.
    early_actor = Actor(user_id=first.user_id, organization_id=org)
    utc_now = datetime.now(UTC)
    windows = sorted(
        {
            _window(room.key, _starts(room), utc_now)
            for room in ROOMS.of_organization(org)
            if room.members and _is_dashboard(room)
        },
        key=str,
    )
    allowed, early, points = await asyncio.gather(
        asyncio.to_thread(
            sessions_among, org, frozenset((m.user_id, m.issued_at) for m in members)
        ),
        asyncio.to_thread(reports.dashboard_summary, early_actor),
        asyncio.gather(
            *(asyncio.to_thread(queries.wacc_series, early_actor, *w, None) for w in windows),
            return_exceptions=True,
        ),
        return_exceptions=True,
    )
    if isinstance(allowed, BaseException):
        raise allowed
    if isinstance(points, BaseException):
        points = [points] * len(windows)
    for m in members:
        if (m.user_id, m.issued_at) not in allowed or m.expires_at <= now:
            ROOMS.leave(m.token)  # the per-session catch-up refuses and signs it out
    checked = {m.token for m in members if ROOMS.member(m.token) is not None}
    if not checked:
        return set()
    reader = next(m for m in members if m.token in checked)
    actor = Actor(user_id=reader.user_id, organization_id=org)
    series: dict[tuple[date, date, Interval], list[SeriesPoint] | Exception] = {}
    if (first.user_id, first.issued_at) in allowed and not isinstance(early, BaseException):
        summary = early
        for window, read in zip(windows, points, strict=True):
            if isinstance(read, BaseException) and not isinstance(read, Exception):
                raise read  # cancelled: not a read's failure
            series[window] = read  # a failed read: the chart says so, the rest stays useful
    else:  # the early reader was refused (or failed): read as a confirmed member
        summary = await asyncio.to_thread(reports.dashboard_summary, actor)
    served: set[str] = set()
    for room in ROOMS.of_organization(org):
        if room.members and _is_dashboard(room):
            served |= await _push_room(room, actor, summary, series, checked, noticed_at)
    return served


def _is_dashboard(room: Room) -> bool:
    return isinstance(room.key, tuple) and room.key[0] == "dash"


def _starts(room: Room) -> datetime | None:
    return room.snapshot.history_starts if isinstance(room.snapshot, LiveView) else None


def _window(
    key: Any, history_starts: datetime | None, now: datetime
) -> tuple[date, date, Interval]:
    """The chart window (start, end, interval) of a dashboard room's variant."""
    _, _, tz_name, chart_range, _ = (str(part) for part in key)
    tz = zone(tz_name)
    end = local_today(tz, now)
    starts = local_today(tz, history_starts) if history_starts else None
    start, interval = present.chart_window(chart_range, end, starts)
    return start, end, interval


async def _push_room(
    room: Room,
    actor: Actor,
    summary: reports.DashboardSummary,
    series: dict[tuple[date, date, Interval], list[SeriesPoint] | Exception],
    checked: set[str],
    noticed_at: float | None = None,
) -> set[str]:
    _, _, tz_name, _, currency = (str(part) for part in room.key)
    tz, now = zone(tz_name), datetime.now(UTC)
    window = _window(room.key, summary.history_starts, now)
    start, end, interval = window
    if window not in series:
        try:
            series[window] = await asyncio.to_thread(
                queries.wacc_series, actor, start, end, interval, None
            )
        except Exception as error:  # the rest of the dashboard stays useful
            series[window] = error
    # No await from here to the emit: membership and snapshot agree with the packet.
    previous = room.snapshot if isinstance(room.snapshot, LiveView) else None
    if previous is not None and previous.revision > summary.revision:
        return set(room.members)  # an older read: the room already shows newer data
    factors = dict(summary.reporting.factors) if summary.reporting else {}
    rows = present.source_rows(summary.sources, [], currency, now, tz, factors)
    epoch, base, patches = _slots(previous, rows)
    recent = present.activity_rows(
        summary.recent, summary.names, now, tz, currency, summary.currencies
    )
    activity_slots: tuple[present.ActivityRow | None, ...]
    if previous is None:
        activity_base, activity_slots, activity_seq = recent, (None,) * len(ACTIVITY_VARS), 0
    else:
        activity_base, activity_slots, activity_seq = present.activity_update(
            previous.activity, previous.activity_slots, previous.activity_seq, recent
        )
    points = series[window]
    head: list[dict[str, object]]
    tail: list[dict[str, object]]
    if isinstance(points, Exception):
        head, tail, status, problem = [], [], "error", "The chart could not be read."
    else:
        long = present.long_span(start, end, interval)
        formatted = present.chart_points(points, currency, long)
        head, tail = present.split_chart(
            formatted, previous.chart_head if previous else [], CHART_TAIL
        )
        status, problem = "ready", ""
    view = LiveView(
        revision=summary.revision,
        epoch=epoch,
        base=base,
        patches=patches,
        kpis=present.kpis_of(
            summary.summary,
            summary.earlier,
            currency,
            summary.reporting,
            summary.earlier_reporting,
        ),
        total_cents=str(summary.summary.total_cents),
        activity=activity_base,
        activity_slots=activity_slots,
        activity_seq=activity_seq,
        chart_head=head,
        chart_tail=tail,
        chart_status=status,
        chart_problem=problem,
        sources=summary.sources,
        summary=summary.summary,
        history_starts=summary.history_starts,
        targets=targets_of(summary.sources),
        factors=factors,
    )
    targets: list[Member] = []
    skip: list[str] = []
    for m in room.members.values():
        if m.token not in checked or m.shown > view.revision:
            skip.append(m.sid)  # joined meanwhile with newer data: the next push
        else:
            targets.append(m)
    room.snapshot = view
    room.revision = view.revision
    room.epoch = view.epoch
    if not targets:
        return set(room.members)
    # A member that does not hold the previous packet's base and numbers gets them all.
    full = previous is None or any(
        m.epoch != previous.epoch or m.shown != previous.revision for m in targets
    )
    delta = _delta(previous, view, full)
    payload = {"delta": delta, "events": []}
    size = len(json.dumps(payload, separators=(",", ":"), default=str))
    SENT_SIZES.append(size)
    del SENT_SIZES[:-1000]
    for m in targets:
        m.shown = view.revision
        m.epoch = view.epoch
    await ROOMS.emit(room, payload, skip, size)
    # capital_live_push_latency_seconds: notification (commit) to this room's delta sent.
    metrics.observe_push(None if noticed_at is None else time.monotonic() - noticed_at)
    return set(room.members)


class LiveRoomSync(Middleware):
    """Before a member's own event: its server-side copy becomes what its room sent it."""

    async def preprocess(self, app: Any, state: Any, event: Any) -> None:
        member = ROOMS.member(state.router.session.client_token)
        if member is None or member.held >= member.shown:
            return None
        dashboard = await state.get_state(DashboardState)
        dashboard._sync_live()
        return None
