"""`/`: the dashboard — KPIs, the active sources, WACC and capital over time, latest changes.

Everything but the chart comes from one read (service.reports.dashboard_summary),
so the KPIs, the rows and the activity always agree. Pending edits (optimistic)
are merged into the rows until the loaded data contains them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import reflex as rx

from capital_app.domain.dates import format_age, format_exact, local_today
from capital_app.domain.describe import story_of
from capital_app.domain.errors import LedgerError
from capital_app.domain.events import HistoryEntry
from capital_app.domain.money import (
    format_basis_points,
    format_money,
    format_money_short,
    format_rate,
)
from capital_app.domain.series import Interval
from capital_app.domain.views import ActiveSource, SeriesPoint
from capital_app.domain.wacc import WaccSummary
from capital_app.realtime.shared_reads import PUSHED_REVISION
from capital_app.service import history_queries as queries
from capital_app.service import reports
from capital_app.service.actor import Actor
from capital_app.ui.components.feedback import (
    block_skeleton,
    by_status,
    empty_state,
    item_list,
    load_error,
    panel,
    saving_badge,
    table_skeleton,
)
from capital_app.ui.components.figures import (
    TABULAR,
    VISUALLY_HIDDEN,
    change_text,
    hover_exact,
    money_cell,
    numeric_header,
    rate_cell,
)
from capital_app.ui.components.kpi import kpi_card
from capital_app.ui.components.source_actions import add_source_button, source_actions
from capital_app.ui.layout import page_header, signed_in_page
from capital_app.ui.navigation import has_route, source_href
from capital_app.ui.state import (
    LOAD_TIMEOUT_SECONDS,
    AppState,
    EditTarget,
    PageState,
    call_shared,
    unconfirmed_additions,
    unconfirmed_change,
)

RANGES = ("3M", "1Y", "All")
CHART_TAIL = 7  # points sent again on every refresh; the rest only when they change


@dataclass
class SourceRow:
    source_id: str = ""
    name: str = ""
    amount: str = ""
    rate: str = ""
    share: str = ""
    share_width: str = "0%"
    last_change: str = ""
    last_change_exact: str = ""
    pending: bool = False
    pending_label: str = ""
    removing: bool = False
    href: str = ""


@dataclass
class ActivityRow:
    who: str = ""
    verb: str = ""
    subject: str = ""
    before: str = ""
    after: str = ""
    effective: str = ""
    ago: str = ""
    exact: str = ""
    href: str = ""


def _share(cents: int, total: int) -> Decimal:
    if total <= 0:
        return Decimal(0)
    return (Decimal(cents) * 100 / Decimal(total)).quantize(Decimal("0.1"))


def _chart_window(range_key: str, end: date, starts: date | None) -> tuple[date, Interval]:
    if range_key == "3M":
        return end - timedelta(days=91), Interval.WEEK
    if range_key == "1Y":
        return end - timedelta(days=365), Interval.WEEK
    start = min(starts or end, end)
    interval = Interval.MONTH if (end - start).days > 3 * 365 else Interval.WEEK
    return start, interval


def chart_point(point: SeriesPoint, currency: str, long_span: bool) -> dict[str, object]:
    """Plot coordinates as integers (whole shillings, basis points); exact text for tooltips."""
    label = point.date.strftime("%b %Y") if long_span else f"{point.date.day} {point.date:%b}"
    return {
        "label": label,
        "total": point.total_cents // 100,
        "wacc_bp": int((point.wacc * 10000).to_integral_value())
        if point.wacc is not None
        else None,
        "total_text": format_money(point.total_cents, currency),
        "wacc_text": format_rate(point.wacc),
        "day": f"{point.date.day} {point.date:%b %Y}",
    }


# The last chart formatted in this process, by the very series object it came from:
# after a live push every session shares one series read (call_shared), so the
# hundreds of points are formatted once, not once per session.
_formatted_chart: tuple[object, str, bool, list[dict[str, object]]] | None = None


_formatted_activity: tuple[object, tuple[str, str], float, list[ActivityRow]] | None = None


def chart_points(points: list[SeriesPoint], currency: str, long_span: bool) -> list[dict]:
    global _formatted_chart
    cached = _formatted_chart
    if cached is not None and cached[0] is points and cached[1:3] == (currency, long_span):
        return list(cached[3])
    formatted = [chart_point(p, currency, long_span) for p in points]
    _formatted_chart = (points, currency, long_span, formatted)
    return list(formatted)


class DashboardState(PageState, AppState):
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

    rows: list[SourceRow] = []
    activity: list[ActivityRow] = []
    sort_key: str = "amount"
    sort_desc: bool = True

    chart_range: str = "1Y"
    # The chart's points in two parts, joined in the browser (`chart_data`): a live
    # push usually changes only the last days, so only the tail travels again.
    chart_head: list[dict[str, object]] = []
    chart_tail: list[dict[str, object]] = []
    _chart_head_shown: list[dict[str, object]] = []
    chart_status: str = "loading"
    chart_problem: str = ""

    _sources: list[ActiveSource] = []
    _summary: WaccSummary | None = None
    _history_starts: datetime | None = None
    _as_of: datetime | None = None

    async def _fetch(self, actor: Actor) -> int:
        as_of, known_at = self._moment()
        summary = await call_shared(
            reports.dashboard_summary,
            actor,
            as_of,
            known_at,
            question=("dashboard_summary", as_of, known_at),
            timeout=LOAD_TIMEOUT_SECONDS,
            revision_of=lambda summary: summary.revision,
        )
        self._sources = summary.sources
        self._summary = summary.summary
        self._history_starts = summary.history_starts
        self._as_of = summary.moment.as_of
        self._targets = {
            s.source_id: EditTarget(
                s.source_id, s.name, s.available_cents, s.annual_rate, s.sequence
            )
            for s in summary.sources
        }
        self._fill_kpis(summary)
        self._fill_activity(summary.recent, summary.names)
        if PUSHED_REVISION.get() is not None:
            # A live push: the chart in the same delta (one shared read per process),
            # not in a second event per session.
            await self._fetch_chart(actor)
        return summary.revision

    def _follow_up(self):
        # The chart comes second: the numbers people came for show without waiting for it.
        return DashboardState.load_chart if PUSHED_REVISION.get() is None else None

    def _fill_kpis(self, summary: reports.DashboardSummary) -> None:
        now, then, cur = summary.summary, summary.earlier, self.currency
        self.kpi_total = format_money_short(now.total_cents, cur)
        self.kpi_total_exact = format_money(now.total_cents, cur)
        delta_cents = now.total_cents - then.total_cents
        if delta_cents == 0:
            self.kpi_total_note = "No change over 30 days"
        else:
            arrow = "▲" if delta_cents > 0 else "▼"
            self.kpi_total_note = (
                f"{arrow} {format_money_short(abs(delta_cents), cur)} over 30 days"
            )
        self.kpi_wacc = format_rate(now.wacc)
        self.kpi_wacc_note = "Weighted by amount" if now.wacc is not None else "No active sources"
        self.kpi_count = str(now.source_count)
        change = now.source_count - then.source_count
        self.kpi_count_note = f"{change:+d} since 30 days ago" if change else "Same as 30 days ago"
        if now.wacc is None or then.wacc is None:
            self.kpi_delta, self.kpi_delta_tone = "—", "flat"
            self.kpi_delta_note = "Needs active sources now and 30 days ago"
        else:
            delta = now.wacc - then.wacc
            self.kpi_delta = format_basis_points(delta)
            self.kpi_delta_tone = "up" if delta > 0 else "down" if delta < 0 else "flat"
            self.kpi_delta_note = f"From {format_rate(then.wacc)} 30 days ago"

    def _fill_activity(self, entries: list[HistoryEntry], names: dict[str, str]) -> None:
        global _formatted_activity
        key = (self.time_zone, self.currency)
        cached = _formatted_activity
        # The same shared read (a live push) within a second: the same rows.
        if (
            cached is not None
            and cached[0] is entries
            and cached[1] == key
            and time.monotonic() - cached[2] < 1.0
        ):
            self.activity = list(cached[3])
            return
        now, tz = datetime.now(UTC), self._tz()
        rows = []
        for entry in entries:
            story = story_of(entry, names, now, tz, self.currency)
            rows.append(
                ActivityRow(
                    who=story.who,
                    verb=story.verb,
                    subject=story.subject,
                    before=story.before,
                    after=story.after,
                    effective=story.effective,
                    ago=story.ago,
                    exact=story.recorded_exact,
                    href=source_href(entry.source_id),
                )
            )
        _formatted_activity = (entries, key, time.monotonic(), rows)
        self.activity = list(rows)

    async def _fetch_chart(self, actor: Actor) -> None:
        tz = self._tz()
        end = local_today(tz, self._as_of or datetime.now(UTC))
        starts = local_today(tz, self._history_starts) if self._history_starts else None
        start, interval = _chart_window(self.chart_range, end, starts)
        _, known_at = self._moment()
        try:
            points = await call_shared(
                queries.wacc_series,
                actor,
                start,
                end,
                interval,
                known_at,
                question=("wacc_series", start, end, interval, known_at),
                timeout=LOAD_TIMEOUT_SECONDS,
            )
        except LedgerError as error:  # the rest of the dashboard stays useful
            self.chart_problem = error.message
            self.chart_status = "error"
            return
        long_span = interval is Interval.MONTH or (end - start).days > 200
        self._show_chart(chart_points(points, self.currency, long_span))
        self.chart_status = "ready"

    def _show_chart(self, points: list[dict[str, object]]) -> None:
        head, tail = points[:-CHART_TAIL], points[-CHART_TAIL:]
        if head != self._chart_head_shown or not head:
            self._chart_head_shown = head
            self.chart_head = head
        self.chart_tail = tail

    def _render(self) -> None:
        """Rows from the loaded sources, sorted, with pending edits merged in."""
        now, tz, cur = datetime.now(UTC), self._tz(), self.currency
        total = self._summary.total_cents if self._summary else 0

        def sort_value(s: ActiveSource):
            key = self.sort_key
            if key == "name":
                return s.name.lower()
            if key == "rate":
                return s.annual_rate
            if key == "changed":
                return s.last_changed_date
            return s.available_cents  # amount and share order alike

        rows = [
            SourceRow(
                name=p.name,
                amount=p.amount_text,
                rate=p.rate_text,
                share="—",
                pending=True,
                pending_label=p.label,
            )
            for p in unconfirmed_additions(self._pending, {s.name.lower() for s in self._sources})
        ]
        for s in sorted(self._sources, key=sort_value, reverse=self.sort_desc):
            p = unconfirmed_change(self._pending, s.source_id, s.sequence)
            share = _share(s.available_cents, total)
            rows.append(
                SourceRow(
                    source_id=s.source_id,
                    name=s.name,
                    amount=(p and p.amount_text) or format_money(s.available_cents, cur),
                    rate=(p and p.rate_text) or format_rate(s.annual_rate),
                    share=f"{share} %",
                    share_width=f"{share}%",
                    last_change=format_age(s.last_changed_date, now, tz),
                    last_change_exact=format_exact(s.last_changed_date, tz),
                    pending=p is not None,
                    pending_label=p.label if p else "",
                    removing=bool(p and p.kind == "remove"),
                    href=source_href(s.source_id),
                )
            )
        self.rows = rows

    @rx.event
    def sort_by(self, key: str):
        if key not in ("name", "amount", "rate", "share", "changed"):
            return
        if self.sort_key == key:
            self.sort_desc = not self.sort_desc
        else:
            self.sort_key = key
            self.sort_desc = key != "name"
        self._render()

    @rx.event
    async def load_chart(self):
        try:
            actor = self._actor()
        except LedgerError as error:
            return self._forget(error.message)
        await self._fetch_chart(actor)
        return None

    @rx.event
    async def set_range(self, value: str | list[str]):
        value = value[0] if isinstance(value, list) and value else value
        if value not in RANGES or value == self.chart_range:
            return
        self.chart_range = value
        self.chart_status = "loading"
        yield
        try:
            actor = self._actor()
        except LedgerError as error:
            yield self._forget(error.message)
            return
        await self._fetch_chart(actor)


# --- view ---------------------------------------------------------------------------


def _kpis() -> rx.Component:
    delta_color = rx.match(
        DashboardState.kpi_delta_tone,
        ("up", rx.color("red", 11)),
        ("down", rx.color("grass", 11)),
        rx.color("gray", 11),
    )
    return rx.grid(
        kpi_card(
            "Total capital",
            DashboardState.kpi_total,
            exact=DashboardState.kpi_total_exact,
            note=DashboardState.kpi_total_note,
            icon="wallet",
            id="kpi-total",
        ),
        kpi_card(
            "WACC",
            DashboardState.kpi_wacc,
            note=DashboardState.kpi_wacc_note,
            icon="percent",
            id="kpi-wacc",
        ),
        kpi_card(
            "Active sources",
            DashboardState.kpi_count,
            note=DashboardState.kpi_count_note,
            icon="landmark",
            id="kpi-count",
        ),
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.text(
                        "Change in WACC, 30 days",
                        size="2",
                        color=rx.color("gray", 11),
                        weight="medium",
                    ),
                    rx.spacer(),
                    rx.icon("activity", size=16, color=rx.color("gray", 9)),
                    width="100%",
                ),
                rx.text(
                    DashboardState.kpi_delta,
                    size="7",
                    weight="bold",
                    color=delta_color,
                    style=TABULAR,
                    id="kpi-delta-value",
                ),
                rx.text(
                    DashboardState.kpi_delta_note,
                    size="1",
                    color=rx.color("gray", 10),
                    style=TABULAR,
                ),
                spacing="1",
                align="start",
            ),
            size="2",
            width="100%",
            id="kpi-delta",
        ),
        columns=rx.breakpoints(initial="1", sm="2", lg="4"),
        spacing="4",
        width="100%",
    )


def _sort_header(label: str, key: str, numeric: bool = False) -> rx.Component:
    arrow = rx.cond(
        DashboardState.sort_key == key,
        rx.icon(rx.cond(DashboardState.sort_desc, "arrow-down", "arrow-up"), size=12),
        rx.icon("arrow-up-down", size=12, color=rx.color("gray", 8)),
    )
    button = rx.button(
        label,
        arrow,
        variant="ghost",
        color_scheme="gray",
        size="1",
        on_click=DashboardState.sort_by(key),
        class_name=f"sort-{key}",
        aria_label=f"Sort by {label}",
    )
    cell = numeric_header if numeric else rx.table.column_header_cell
    return cell(
        button,
        aria_sort=rx.cond(
            DashboardState.sort_key == key,
            rx.cond(DashboardState.sort_desc, "descending", "ascending"),
            "none",
        ),
    )


# The thin share-of-capital bar: plain elements, repeated on every row.
SHARE_TRACK = {
    "display": "inline-block",
    "width": "64px",
    "height": "4px",
    "border_radius": "2px",
    "background": rx.color("gray", 4),
    "vertical_align": "middle",
    "margin_right": "8px",
    "overflow": "hidden",
}
SHARE_FILL = {"display": "block", "height": "100%", "background": rx.color("accent", 9)}
SHARE_TEXT = {"display": "inline-block", "min_width": "48px", "text_align": "right"}


def _source_row(row: SourceRow) -> rx.Component:
    muted = row.pending
    return rx.table.row(
        rx.table.row_header_cell(
            rx.cond(
                row.href != "",
                rx.link(row.name, href=row.href, weight="medium", color=rx.color("gray", 12)),
                rx.el.span(row.name, style={"font_weight": "500"}),
            ),
            rx.cond(row.pending, saving_badge(row.pending_label)),
            text_decoration=rx.cond(row.removing, "line-through", "none"),
        ),
        money_cell(row.amount, muted=muted, class_name="cell-amount"),
        rate_cell(row.rate, muted=muted, class_name="cell-rate"),
        rx.table.cell(
            rx.el.span(
                rx.el.span(style={**SHARE_FILL, "width": row.share_width}),
                style=SHARE_TRACK,
            ),
            rx.el.span(row.share, style=SHARE_TEXT),
            justify="end",
            style=TABULAR,
        ),
        rx.table.cell(
            hover_exact(row.last_change, row.last_change_exact, color=rx.color("gray", 11)),
        ),
        rx.table.cell(
            rx.cond(row.href != "", source_actions(row.source_id, row.name, disabled=row.pending)),
            justify="end",
        ),
        opacity=rx.cond(muted, "0.6", "1"),
        class_name=rx.cond(muted, "source-row pending-row", "source-row"),
        data_source=row.name,
    )


def _sources_table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                _sort_header("Name", "name"),
                _sort_header("Amount", "amount", numeric=True),
                _sort_header("Rate", "rate", numeric=True),
                _sort_header("Share of capital", "share", numeric=True),
                _sort_header("Last change", "changed"),
                rx.table.column_header_cell(
                    rx.text("Actions", style=VISUALLY_HIDDEN), width="112px"
                ),
            )
        ),
        rx.table.body(rx.foreach(DashboardState.rows, _source_row)),
        variant="surface",
        size="2",
        width="100%",
        id="sources-table",
    )


def _empty_sources() -> rx.Component:
    actions = [add_source_button(size="2")]
    if has_route("/import"):
        actions.append(
            rx.cond(
                AppState.can_edit,
                rx.link(
                    rx.button("Import from the prototype", variant="soft", size="2"), href="/import"
                ),
            )
        )
    return empty_state(
        "landmark",
        "No capital sources yet",
        rx.cond(
            AppState.is_past,
            "None were active on this date.",
            rx.cond(
                AppState.can_edit,
                "Add your first source — or bring your data over from the browser prototype.",
                "An editor of your organization can add the first one.",
            ),
        ),
        *actions,
        id="sources-empty",
    )


def _sources_card() -> rx.Component:
    return panel(
        "Active sources",
        by_status(
            DashboardState.status,
            loading=table_skeleton(5, 5),
            error=rx.fragment(),
            ready=rx.cond(DashboardState.rows.length() > 0, _sources_table(), _empty_sources()),
        ),
        add_source_button(size="2", variant="soft"),
    )


def _chart() -> rx.Component:
    formatter = (
        "(value, name, item) => name === 'WACC' ? item.payload.wacc_text : item.payload.total_text"
    )
    chart = rx.recharts.composed_chart(
        rx.recharts.cartesian_grid(
            stroke_dasharray="3 3", vertical=False, stroke=rx.color("gray", 5)
        ),
        rx.recharts.area(
            data_key="total",
            name="Total capital",
            y_axis_id="total",
            type_="stepAfter",
            stroke=rx.color("accent", 9),
            fill=rx.color("accent", 4),
            is_animation_active=False,
        ),
        rx.recharts.line(
            data_key="wacc_bp",
            name="WACC",
            y_axis_id="wacc",
            type_="stepAfter",
            stroke=rx.color("orange", 9),
            stroke_width=2,
            dot=False,
            is_animation_active=False,
        ),
        rx.recharts.x_axis(data_key="label", tick_line=False, min_tick_gap=24, font_size=12),
        rx.recharts.y_axis(
            y_axis_id="total",
            tick_formatter="(v) => new Intl.NumberFormat('en', {notation: 'compact', maximumFractionDigits: 1}).format(v)",
            width=56,
            font_size=12,
        ),
        rx.recharts.y_axis(
            y_axis_id="wacc",
            orientation="right",
            tick_formatter="(v) => (v / 100).toFixed(2) + ' %'",
            width=76,
            font_size=12,
            domain=["auto", "auto"],
        ),
        rx.recharts.graphing_tooltip(
            custom_attrs={
                "formatter": rx.Var(formatter),
                "labelFormatter": rx.Var(
                    "(label, payload) => payload && payload.length ? payload[0].payload.day : label"
                ),
            }
        ),
        rx.recharts.legend(vertical_align="top", height=28),
        data=DashboardState.chart_head + DashboardState.chart_tail,
        margin={"top": 8, "right": 8, "left": 8, "bottom": 0},
        width="100%",
        height=280,
    )
    return panel(
        "WACC and total capital",
        rx.match(
            DashboardState.chart_status,
            ("ready", rx.box(chart, width="100%", id="wacc-chart")),
            ("error", load_error(DashboardState.chart_problem, DashboardState.load_chart)),
            block_skeleton("280px"),
        ),
        rx.segmented_control.root(
            *[rx.segmented_control.item(r, value=r) for r in RANGES],
            value=DashboardState.chart_range,
            on_change=DashboardState.set_range,
            size="1",
            id="chart-range",
        ),
    )


def _activity_row(row: ActivityRow) -> rx.Component:
    return rx.hstack(
        rx.avatar(fallback=row.who[:1], size="1", radius="full", variant="soft"),
        rx.vstack(
            rx.hstack(
                rx.text(row.who, weight="medium", size="2"),
                rx.text(row.verb, size="2", color=rx.color("gray", 11)),
                rx.link(
                    row.subject,
                    href=row.href,
                    size="2",
                    weight="medium",
                    color=rx.color("gray", 12),
                ),
                change_text(row.before, row.after),
                spacing="1",
                wrap="wrap",
                align="center",
            ),
            rx.hstack(
                rx.text(row.effective, size="1", color=rx.color("gray", 10)),
                rx.text("·", size="1", color=rx.color("gray", 8)),
                hover_exact(row.ago, row.exact, size="1", color=rx.color("gray", 10)),
                spacing="1",
            ),
            spacing="0",
            align="start",
        ),
        spacing="3",
        align="start",
        width="100%",
        padding_y="8px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        class_name="activity-row",
    )


def _activity() -> rx.Component:
    return panel(
        "Recent activity",
        by_status(
            DashboardState.status,
            loading=table_skeleton(5, 1),
            error=rx.fragment(),
            ready=item_list(
                DashboardState.activity, _activity_row, "No changes recorded yet.", id="activity"
            ),
        ),
        rx.link("Full history →", href="/history", size="2"),
    )


def dashboard() -> rx.Component:
    return signed_in_page(
        page_header("Dashboard"),
        rx.cond(
            DashboardState.status == "error",
            load_error(DashboardState.problem, DashboardState.retry),
        ),
        rx.cond(
            DashboardState.status == "loading",
            rx.grid(
                *[block_skeleton("104px") for _ in range(4)],
                columns=rx.breakpoints(initial="1", sm="2", lg="4"),
                spacing="4",
                width="100%",
            ),
            _kpis(),
        ),
        _sources_card(),
        rx.grid(
            _chart(),
            _activity(),
            columns=rx.breakpoints(initial="1", lg="2"),
            spacing="4",
            width="100%",
            align="start",
        ),
    )
