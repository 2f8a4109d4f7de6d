"""The dashboard's state: what it holds, how it loads, and how it joins its live room.

Everything but the chart comes from one read (service.reports.dashboard_summary),
so the KPIs, the rows and the activity always agree. The rows travel as a base
in BASE_CHUNKS lists (by a hash of the source id) plus PATCH_SLOTS one-row
patches keyed by source id; the browser merges, sorts and computes shares
(sources.py), so a change to one source sends one row. When every slot is in
use, one chunk absorbs its patches and travels again (about 1/BASE_CHUNKS of
the list), never the whole list. A live view without pending edits sits in a room (live.py): a
change is computed once per worker and variant and sent with one emit; before
the session's next own event its server-side copy is brought up to date
(`_sync_live`), so nothing it sends later undoes what the browser shows.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

import reflex as rx

from capital_app.auth.tokens import UI_AUDIENCE, verify_token
from capital_app.domain.dates import local_today
from capital_app.domain.errors import LedgerError
from capital_app.domain.view_query import ViewQuery, parse_view_query
from capital_app.domain.views import ActiveSource
from capital_app.domain.wacc import WaccSummary
from capital_app.realtime.rooms import ROOMS, Member
from capital_app.service import history_queries as queries
from capital_app.service import reports
from capital_app.service.actor import Actor
from capital_app.service.reports import RECENT_ACTIVITY
from capital_app.ui.pages.dashboard import presenters as present
from capital_app.ui.pages.dashboard.presenters import ActivityRow, Kpis, SourceRow
from capital_app.ui.state import (
    LOAD_TIMEOUT_SECONDS,
    AppState,
    EditTarget,
    PageState,
    call_shared,
)

DEFAULT_RANGE = "1Y"
CHART_TAIL = 2  # points sent again on every refresh; the rest only when they change
PATCH_SLOTS = 32  # one-row patches over the base (distinct sources changed since it)
BASE_CHUNKS = 32  # the base's lists; a fold re-sends one of them
BASE_VARS = tuple(f"rows_base_{j}" for j in range(BASE_CHUNKS))
PATCH_VARS = tuple(f"patch_{i}" for i in range(PATCH_SLOTS))
ACTIVITY_VARS = tuple(f"activity_{i}" for i in range(RECENT_ACTIVITY))  # the ring's slots
KPI_FIELDS = tuple(f"kpi_{name}" for name in Kpis.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class LiveView:
    """Everything a live dashboard of one variant shows, computed once per worker and change."""

    revision: int
    epoch: int  # which base the patches apply to
    base: tuple[list[SourceRow], ...]  # BASE_CHUNKS lists (presenters.split_rows)
    patches: tuple[SourceRow | None, ...]
    kpis: Kpis
    total_cents: str
    activity: list[ActivityRow]  # the base …
    activity_slots: tuple[ActivityRow | None, ...]  # … and the ring of rows pushed since
    activity_seq: int  # how many rows were pushed since the base
    chart_head: list[dict[str, object]]
    chart_tail: list[dict[str, object]]
    chart_status: str
    chart_problem: str
    # What the handlers (edit dialogs, the chart) work from.
    sources: list[ActiveSource]
    summary: WaccSummary
    history_starts: datetime | None
    targets: dict[str, EditTarget]
    # Each currency's exact factor into the reporting currency (rows' shares).
    factors: dict[str, Decimal] = field(default_factory=dict)

    def rows(self) -> list[SourceRow]:
        return present.apply_rows(present.join_rows(self.base), list(self.patches))


def targets_of(sources: list[ActiveSource]) -> dict[str, EditTarget]:
    return {
        s.source_id: EditTarget(
            s.source_id, s.name, s.available_cents, s.annual_rate, s.sequence, s.currency or ""
        )
        for s in sources
    }


class DashboardState(PageState, AppState):
    _url_view: ClassVar[bool] = True  # the moment is in the URL (issue 15)
    kpi_total: str = "—"
    kpi_total_exact: str = ""
    kpi_total_note: str = ""
    kpi_wacc: str = "—"
    kpi_wacc_note: str = ""
    kpi_count: str = "—"
    kpi_count_note: str = ""
    kpi_delta: str = "—"
    kpi_delta_tone: str = "flat"  # up | down | flat
    kpi_delta_note: str = ""
    kpi_after_tax: str = "—"
    kpi_after_tax_note: str = ""
    kpi_problem: str = ""  # a missing FX rate, in words ("" when none)
    total_cents: str = "0"  # the shares' denominator (the browser divides)

    # rows_base_0 … rows_base_{BASE_CHUNKS-1} and patch_0 … patch_{PATCH_SLOTS-1}
    # are added below the class (State.add_var): the base chunks and the patch slots.
    activity: list[ActivityRow] = []  # the base …
    activity_seq: int = 0  # … and how many rows a push wrote into the ring on top
    # (activity_0 … activity_{RECENT_ACTIVITY-1}: the ring's slots, added below the class)
    sort_key: str = "amount"
    sort_desc: bool = True

    chart_range: str = DEFAULT_RANGE
    # The chart's points in two parts, joined in the browser: a live push usually
    # changes only the last days, so only the tail travels again.
    chart_head: list[dict[str, object]] = []
    chart_tail: list[dict[str, object]] = []
    _chart_head_shown: list[dict[str, object]] = []
    chart_status: str = "loading"
    chart_problem: str = ""

    _sources: list[ActiveSource] = []
    _summary: WaccSummary | None = None
    _factors: dict[str, Decimal] = {}
    _history_starts: datetime | None = None
    _as_of: datetime | None = None
    _epoch: int = -1  # the live room base the browser holds (-1: this session's own)

    # --- reading ---------------------------------------------------------------

    async def _fetch(self, actor: Actor, pushed: int | None) -> int:
        self._leave_live()  # recomputed below; rejoined once the browser has it
        as_of, known_at = self._moment()
        summary = await call_shared(
            reports.dashboard_summary,
            actor,
            as_of,
            known_at,
            pushed=pushed,
            question=("dashboard_summary", as_of, known_at),
            timeout=LOAD_TIMEOUT_SECONDS,
            revision_of=lambda summary: summary.revision,
        )
        self._sources = summary.sources
        self._summary = summary.summary
        self._history_starts = summary.history_starts
        self._as_of = summary.moment.as_of
        self._targets = targets_of(summary.sources)
        self._factors = dict(summary.reporting.factors) if summary.reporting else {}
        self._show_kpis(
            present.kpis_of(
                summary.summary,
                summary.earlier,
                self.currency,
                summary.reporting,
                summary.earlier_reporting,
            )
        )
        self.total_cents = str(summary.summary.total_cents)
        self.activity = present.activity_rows(
            summary.recent,
            summary.names,
            datetime.now(UTC),
            self._tz(),
            self.currency,
            summary.currencies,
        )
        if self.activity_seq:
            self.activity_seq = 0  # the ring's slots keep what they hold: not shown
        if pushed is not None:
            # A per-session push (pending edits, or not in a room yet): the chart in
            # the same delta, one shared read per process.
            await self._fetch_chart(actor, pushed)
        return summary.revision

    def _follow_up(self, pushed: int | None) -> Any:
        # The chart comes second: the numbers people came for show without waiting.
        # Then the session joins its live room (after this delta has gone out).
        if pushed is None:
            return DashboardState.load_chart
        return DashboardState.join_live

    def _show_kpis(self, kpis: Kpis) -> None:
        for name in Kpis.__dataclass_fields__:
            value = getattr(kpis, name)
            if getattr(self, f"kpi_{name}") != value:
                setattr(self, f"kpi_{name}", value)

    async def _fetch_chart(self, actor: Actor, pushed: int | None = None) -> None:
        tz = self._tz()
        end = local_today(tz, self._as_of or datetime.now(UTC))
        starts = local_today(tz, self._history_starts) if self._history_starts else None
        start, interval = present.chart_window(self.chart_range, end, starts)
        _, known_at = self._moment()
        try:
            points = await call_shared(
                queries.wacc_series,
                actor,
                start,
                end,
                interval,
                known_at,
                pushed=pushed,
                question=("wacc_series", start, end, interval, known_at),
                timeout=LOAD_TIMEOUT_SECONDS,
            )
        except LedgerError as error:  # the rest of the dashboard stays useful
            self.chart_problem = error.message
            self.chart_status = "error"
            return
        long = present.long_span(start, end, interval)
        self._show_chart(present.chart_points(points, self.currency, long))
        self.chart_status = "ready"

    def _show_chart(self, points: list[dict[str, object]]) -> None:
        head, tail = present.split_chart(points, self._chart_head_shown, CHART_TAIL)
        if head is not self._chart_head_shown:
            self._chart_head_shown = head
            self.chart_head = head
        self.chart_tail = tail

    def _render(self) -> None:
        """Rows from the loaded sources with pending edits merged in (the browser sorts)."""
        if self._pending:
            self._leave_live()  # this session's rows differ from its colleagues' now
        rows = present.source_rows(
            self._sources,
            self._pending,
            self.currency,
            datetime.now(UTC),
            self._tz(),
            self._factors,
        )
        self._show_rows(present.split_rows(rows, BASE_CHUNKS), [None] * PATCH_SLOTS, -1)

    def _show_rows(
        self, base: tuple[list[SourceRow], ...], patches: list[SourceRow | None], epoch: int
    ) -> None:
        """Set the chunks and slots that differ (only those travel in the delta)."""
        for name, chunk in zip(BASE_VARS, base, strict=True):
            if self.get_value(name) != chunk:
                setattr(self, name, chunk)
        self._epoch = epoch
        for name, patch in zip(PATCH_VARS, patches, strict=True):
            if self.get_value(name) != patch:
                setattr(self, name, patch)

    # --- the live room ---------------------------------------------------------

    def _live_room(self) -> tuple[object, ...] | None:
        """The room this session belongs in now, or None (past view, pending edits, …)."""
        eligible = (
            self.user_id
            and self.organization_id
            and not (self.as_of_day or self.known_at_day)
            and not self._pending
            and self.status == "ready"
            and self.chart_status == "ready"
            and self._current_page == type(self).get_full_name()
        )
        if not eligible:
            return None
        return ("dash", self.organization_id, self.time_zone, self.chart_range, self.currency)

    def _leave_live(self) -> None:
        ROOMS.leave(self.router.session.client_token)

    def _adopt(self, view: LiveView) -> None:
        """Hold (and show) what the room sent: the same numbers the browser has."""
        self._sources = view.sources
        self._summary = view.summary
        self._factors = dict(view.factors)
        self._history_starts = view.history_starts
        self._as_of = None
        self._targets = view.targets
        self._show_kpis(view.kpis)
        if self.get_value("total_cents") != view.total_cents:
            self.total_cents = view.total_cents
        self._show_rows(view.base, list(view.patches), view.epoch)
        if self.get_value("activity") != view.activity:
            self.activity = view.activity
        for name, row in zip(ACTIVITY_VARS, view.activity_slots, strict=True):
            if self.get_value(name) != row:
                setattr(self, name, row)
        if self.activity_seq != view.activity_seq:
            self.activity_seq = view.activity_seq
        for name in ("chart_head", "chart_tail", "chart_status", "chart_problem"):
            if self.get_value(name) != getattr(view, name):
                setattr(self, name, getattr(view, name))
        self._chart_head_shown = view.chart_head
        if self.revision != view.revision:
            self.revision = view.revision

    def _sync_live(self) -> None:
        """Bring this session's server-side copy up to what its room sent it."""
        member = ROOMS.member(self.router.session.client_token)
        if member is None or member.held >= member.shown:
            return
        room = ROOMS.existing(member.room)
        if room is not None and isinstance(room.snapshot, LiveView):
            self._adopt(room.snapshot)
        member.held = member.shown

    @rx.event
    async def join_live(self):
        """Enter the live room once the browser holds this session's own data."""
        key = self._live_room()
        if key is None:
            return
        try:
            claims = verify_token(self.session_token, UI_AUDIENCE)
        except LedgerError:
            return
        while True:
            room = ROOMS.existing(key)
            view = room.snapshot if room is not None else None
            if not isinstance(view, LiveView) or view.revision < self.revision:
                break  # the room is behind: its next push brings this session the base
            if view.revision == self.revision and view.epoch == self._epoch:
                break
            self._adopt(view)
            yield  # this delta goes out before any packet of the room
            if self._live_room() != key:
                return
        room = ROOMS.room(key, _uuid(self.organization_id))
        if not isinstance(room.snapshot, LiveView) or room.snapshot.revision < self.revision:
            # The room has nothing this new: what this browser was just sent becomes
            # the room's base (members holding an older one get everything next time).
            room.epoch += 1
            room.snapshot = self._live_view(room.epoch)
            room.revision = self.revision
        ROOMS.join(
            Member(
                token=self.router.session.client_token,
                sid=self.router.session.session_id,
                user_id=_uuid(self.user_id),
                organization_id=_uuid(self.organization_id),
                room=key,
                expires_at=claims.expires_at,
                held=self.revision,
                shown=self.revision,
                epoch=self._epoch,
                issued_at=claims.issued_at,
            )
        )

    def _plain(self, name: str) -> Any:
        """A copy of a var's value, free of Reflex's mutation proxies (shared by a room)."""
        return copy.deepcopy(self.get_value(name))

    def _live_view(self, epoch: int) -> LiveView:
        """This session's data as a room snapshot (its browser holds exactly this)."""
        assert self._summary is not None
        self._epoch = epoch
        return LiveView(
            revision=self.revision,
            epoch=epoch,
            base=tuple(self._plain(name) for name in BASE_VARS),
            patches=tuple(self._plain(name) for name in PATCH_VARS),
            kpis=Kpis(**{name: getattr(self, f"kpi_{name}") for name in Kpis.__dataclass_fields__}),
            total_cents=self.total_cents,
            activity=self._plain("activity"),
            activity_slots=tuple(self._plain(name) for name in ACTIVITY_VARS),
            activity_seq=self.activity_seq,
            chart_head=self._plain("chart_head"),
            chart_tail=self._plain("chart_tail"),
            chart_status=self.chart_status,
            chart_problem=self.chart_problem,
            sources=self._sources,
            summary=self._summary,
            history_starts=self._history_starts,
            targets=dict(self._targets),
            factors=dict(self._factors),
        )

    # --- the view in the URL (the moment and the chart's range) ------------------

    def _read_view(self, params: dict[str, str], now: datetime) -> tuple[str, ...]:
        parsed = parse_view_query(
            params, viewer_zone=self.time_zone, now=now, history=False, ranges=present.RANGES
        )
        self._apply_moment(parsed.view)
        self.chart_range = parsed.view.chart_range or DEFAULT_RANGE  # read by load_chart
        return parsed.problems

    def _view(self) -> ViewQuery:
        shown = "" if self.chart_range == DEFAULT_RANGE else self.chart_range
        return replace(self._moment_view(), chart_range=shown)

    # --- events ------------------------------------------------------------------

    @rx.event
    def sort_by(self, key: str):
        if key not in present.SORT_KEYS:
            return
        if self.sort_key == key:
            self.sort_desc = not self.sort_desc
        else:
            self.sort_key = key
            self.sort_desc = key != "name"

    @rx.event
    async def load_chart(self):
        try:
            actor = self._actor()
        except LedgerError as error:
            yield self._forget(error.message)
            return
        await self._fetch_chart(actor)
        yield DashboardState.join_live

    @rx.event
    async def set_range(self, value: str | list[str]):
        value = value[0] if isinstance(value, list) and value else value
        if value not in present.RANGES or value == self.chart_range:
            return
        self._leave_live()
        self.chart_range = value
        self.chart_status = "loading"
        yield self._show_view_url(replace=False)
        try:
            actor = self._actor()
        except LedgerError as error:
            yield self._forget(error.message)
            return
        await self._fetch_chart(actor)
        yield DashboardState.join_live


for _name in BASE_VARS:
    DashboardState.add_var(_name, list[SourceRow], [])
for _name in PATCH_VARS:
    DashboardState.add_var(_name, SourceRow | None, None)
for _name in ACTIVITY_VARS:
    DashboardState.add_var(_name, ActivityRow | None, None)


def _uuid(text: str) -> UUID:
    return UUID(text)
