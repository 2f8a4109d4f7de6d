"""`/history`: the full audit trail — who did what and when, previous → new value.

Filter by source, action and effective-date range; newest recorded first or by
effective date. Keyset pages (service.reports.history_view) keep every page as
fast on the 100,000th entry as on the first; the total is counted only when the
filter changes.

The view — the moment, the filters and the page's keyset position — lives in the URL
(`/history?asOf=…&source=…&page=3&cursor=…`, domain/view_query.py): a copied link
opens exactly these rows, and Back returns to the previous filter or page.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import ClassVar

import reflex as rx

from capital_app.domain.dates import (
    end_of_local_day,
    format_date,
    format_datetime,
    format_utc,
    parse_day,
)
from capital_app.domain.describe import ACTION_LABELS, author_name, change_of, provenance_of
from capital_app.domain.errors import InvalidInput
from capital_app.domain.values import Action
from capital_app.domain.view_query import ViewQuery, parse_view_query
from capital_app.service import reports
from capital_app.service.actor import Actor
from capital_app.ui.components.feedback import by_status, empty_state, load_error, table_skeleton
from capital_app.ui.components.figures import TABULAR, change_text, hover_exact
from capital_app.ui.layout import page_header, signed_in_page
from capital_app.ui.navigation import source_href
from capital_app.ui.state import LOAD_TIMEOUT_SECONDS, AppState, PageState, call_service

PAGE_SIZE = 50
ALL = "all"
DEFAULT_ORDER = "recorded_desc"
ORDERS = {
    "recorded_desc": "Newest recorded first",
    "effective_desc": "Effective date, newest first",
    "effective": "Effective date, oldest first",
}
ACTION_COLORS = {
    Action.ADDED: "grass",
    Action.AMOUNT_CHANGED: "blue",
    Action.RATE_CHANGED: "orange",
    Action.REMOVED: "red",
}


@dataclass
class HistoryRow:
    entry_id: str = ""
    recorded: str = ""
    recorded_exact: str = ""
    effective: str = ""
    source: str = ""
    href: str = ""
    action: str = ""
    action_label: str = ""
    action_color: str = "gray"
    before: str = ""
    after: str = ""
    who: str = ""
    provenance: str = ""  # an imported entry's own recording, as its file says
    notes: str = ""


@dataclass
class Option:
    value: str = ""
    label: str = ""


def start_of_local_day(day, tz) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=tz).astimezone(UTC)


class HistoryState(PageState, AppState):
    source_filter: str = ALL
    action_filter: str = ALL
    from_day: str = ""
    to_day: str = ""
    order: str = "recorded_desc"

    rows: list[HistoryRow] = []
    total: int = 0
    page_number: int = 1
    has_next: bool = False
    source_options: list[Option] = []

    # The keyset position of each page after the first (index 0: page 2); "" where a
    # page opened from a link does not know an earlier page's position.
    _cursors: list[str] = []
    _cursors_for: str = ""  # the filter those positions belong to
    _next: str = ""
    _url_view: ClassVar[bool] = True

    @rx.var
    def range_text(self) -> str:
        if not self.rows:
            return ""
        first = (self.page_number - 1) * PAGE_SIZE + 1
        last = first + len(self.rows) - 1
        return f"{first:,}–{last:,} of {self.total:,}"

    def _query(self, actor: Actor, cursor: str | None, with_totals: bool):
        tz = self._tz()
        as_of, known_at = self._moment()
        start_day, end_day = parse_day(self.from_day), parse_day(self.to_day)
        return call_service(
            reports.history_view,
            actor,
            source_id=None if self.source_filter == ALL else self.source_filter,
            action=None if self.action_filter == ALL else Action(self.action_filter),
            start=start_of_local_day(start_day, tz) if start_day else None,
            end=end_of_local_day(end_day, tz) if end_day else None,
            order=self.order,
            cursor=cursor,
            limit=PAGE_SIZE,
            as_of=as_of,
            known_at=known_at,
            with_total=with_totals,
            with_sources=with_totals,
            timeout=LOAD_TIMEOUT_SECONDS,
        )

    async def _fetch(self, actor: Actor, pushed: int | None) -> int:
        """The current page again (a live update or a new view): totals included.

        A position or a source this organization does not have (from a link) gives
        the first page / every source, with a sentence saying so.
        """
        cursor = self._cursors[self.page_number - 2] if self.page_number > 1 else None
        try:
            view = await self._query(actor, cursor or None, True)
        except InvalidInput as error:
            if cursor is None or not any(e.field == "cursor" for e in error.errors):
                raise
            self._note("This link's page position does not fit this view; showing the first page.")
            self._first_page()
            view = await self._query(actor, None, True)
        known = {o.source_id for o in view.sources or ()}
        if self.source_filter != ALL and self.source_filter not in known:
            self._note(
                "This link's source is not one of your organization's sources; "
                "showing every source."
            )
            self.source_filter = ALL
            self._first_page()
            view = await self._query(actor, None, True)
        self._show(view)
        return view.revision

    def _note(self, sentence: str) -> None:
        self.view_problem = f"{self.view_problem} {sentence}".strip()

    def _first_page(self) -> None:
        self.page_number = 1
        self._cursors = []

    # --- the view in the URL ----------------------------------------------------

    def _filter_key(self) -> str:
        return "|".join(
            (self.source_filter, self.action_filter, self.from_day, self.to_day, self.order)
        )

    def _read_view(self, params: dict[str, str], now: datetime) -> tuple[str, ...]:
        parsed = parse_view_query(
            params,
            viewer_zone=self.time_zone,
            now=now,
            actions=[a.value for a in Action],
            orders=list(ORDERS),
        )
        view = parsed.view
        self._apply_moment(view)
        self.source_filter = view.source or ALL
        self.action_filter = view.action or ALL
        self.from_day = view.start.isoformat() if view.start else ""
        self.to_day = view.end.isoformat() if view.end else ""
        self.order = view.order or DEFAULT_ORDER
        # Back/forward within pages already seen keeps their positions (Previous works).
        key, page = self._filter_key(), view.page
        seen = key == self._cursors_for
        if page <= 1:
            if not seen:
                self._cursors = []
        elif not (
            seen and len(self._cursors) >= page - 1 and self._cursors[page - 2] == view.cursor
        ):
            self._cursors = [""] * (page - 2) + [view.cursor]
        self.page_number = max(page, 1)
        self._cursors_for = key
        return parsed.problems

    def _view(self) -> ViewQuery:
        page = self.page_number
        return replace(
            self._moment_view(),
            source="" if self.source_filter == ALL else self.source_filter,
            action="" if self.action_filter == ALL else self.action_filter,
            start=parse_day(self.from_day),
            end=parse_day(self.to_day),
            order="" if self.order == DEFAULT_ORDER else self.order,
            page=page,
            cursor=self._cursors[page - 2] if page > 1 else "",
        )

    def _show(self, view: reports.HistoryView) -> None:
        tz = self._tz()
        self._next = view.next_cursor or ""
        self.has_next = view.next_cursor is not None
        if view.total is not None:
            self.total = view.total
        if view.sources is not None:
            self.source_options = [
                Option(o.source_id, o.name if o.active else f"{o.name} (removed)")
                for o in view.sources
            ]
        rows = []
        for entry in view.entries:
            change = change_of(entry, view.currencies.get(entry.source_id, self.currency))
            recorded = entry.created_at or entry.effective_date
            removed = entry.action is Action.REMOVED
            rows.append(
                HistoryRow(
                    entry_id=entry.id,
                    recorded=format_datetime(recorded, tz),
                    recorded_exact=format_utc(recorded),
                    effective=format_date(entry.effective_date, tz),
                    source=entry.name,
                    href=source_href(entry.source_id),
                    action=entry.action.value,
                    action_label=ACTION_LABELS[entry.action],
                    action_color=ACTION_COLORS[entry.action],
                    before=change.before,
                    after="Removed" if removed else change.after,
                    who=author_name(entry.created_by, view.names),
                    provenance=provenance_of(entry, tz),
                    notes=entry.notes or "",
                )
            )
        self.rows = rows

    async def _reload_first_page(self):
        """A new filter: its first page, and a new URL (a history entry of its own)."""
        self._first_page()
        self._cursors_for = self._filter_key()
        self.view_problem = ""
        loaded = await self._reload(show_loading=True)
        return [e for e in (self._show_view_url(replace=False), loaded) if e is not None]

    @rx.event
    async def set_filter(self, name: str, value: str):
        if name == "source":
            self.source_filter = value or ALL
        elif name == "action":
            self.action_filter = value if value in {a.value for a in Action} else ALL
        elif name == "from":
            self.from_day = value if parse_day(value) else ""
        elif name == "to":
            self.to_day = value if parse_day(value) else ""
        elif name == "order":
            self.order = value if value in ORDERS else DEFAULT_ORDER
        else:
            return None
        return await self._reload_first_page()

    @rx.event
    async def clear_filters(self):
        self.source_filter = self.action_filter = ALL
        self.from_day = self.to_day = ""
        return await self._reload_first_page()

    async def _go(self, cursor: str | None, page_number: int) -> bool:
        try:
            actor = self._actor()
            view = await self._query(actor, cursor, False)
        except Exception as error:  # shown like any failed load, with Retry
            self.problem = getattr(error, "message", "The page could not be loaded.")
            self.status = "error"
            return False
        self.page_number = page_number
        self._show(view)
        return True

    @rx.event
    async def next_page(self):
        if not self._next:
            return None
        cursors = [*self._cursors[: self.page_number - 1], self._next]
        if not await self._go(self._next, self.page_number + 1):
            return None
        self._cursors = cursors
        self._cursors_for = self._filter_key()
        self.view_problem = ""
        return self._show_view_url(replace=False)

    @rx.event
    async def previous_page(self):
        if self.page_number <= 1:
            return None
        number = self.page_number - 1
        cursor = self._cursors[number - 2] if number > 1 else None
        if number > 1 and not cursor:
            number, cursor = 1, None  # opened from a link: that page's position is unknown
        if not await self._go(cursor, number):
            return None
        self.view_problem = ""
        return self._show_view_url(replace=False)


# --- view ---------------------------------------------------------------------------


def _select(name: str, value, items: list[tuple[str, str]] | None = None, options=None, **props):
    content = (
        [rx.select.item(label, value=val) for val, label in items]
        if items is not None
        else [
            rx.select.item("All sources", value=ALL),
            rx.foreach(options, lambda o: rx.select.item(o.label, value=o.value)),
        ]
    )
    return rx.select.root(
        rx.select.trigger(**props),
        rx.select.content(*content),
        value=value,
        on_change=lambda v: HistoryState.set_filter(name, v),
    )


def _filters() -> rx.Component:
    actions = [(ALL, "All actions")] + [(a.value, ACTION_LABELS[a]) for a in Action]
    return rx.hstack(
        _select(
            "source",
            HistoryState.source_filter,
            options=HistoryState.source_options,
            id="filter-source",
            min_width="220px",
        ),
        _select("action", HistoryState.action_filter, items=actions, id="filter-action"),
        rx.hstack(
            rx.text("Effective", size="2", color=rx.color("gray", 11)),
            rx.input(
                type="date",
                value=HistoryState.from_day,
                max=AppState.today,
                on_change=lambda v: HistoryState.set_filter("from", v),
                aria_label="Effective from",
                id="filter-from",
            ),
            rx.text("to", size="2", color=rx.color("gray", 11)),
            rx.input(
                type="date",
                value=HistoryState.to_day,
                max=AppState.today,
                on_change=lambda v: HistoryState.set_filter("to", v),
                aria_label="Effective to",
                id="filter-to",
            ),
            align="center",
            spacing="2",
        ),
        rx.spacer(),
        _select("order", HistoryState.order, items=list(ORDERS.items()), id="filter-order"),
        rx.button(
            "Clear",
            variant="ghost",
            color_scheme="gray",
            on_click=HistoryState.clear_filters,
            id="filter-clear",
        ),
        spacing="3",
        align="center",
        width="100%",
        wrap="wrap",
    )


def _row(row: HistoryRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            hover_exact(row.recorded, row.recorded_exact, size="2"),
            white_space="nowrap",
        ),
        rx.table.cell(rx.text(row.effective, size="2", style=TABULAR), white_space="nowrap"),
        rx.table.cell(
            rx.link(
                row.source,
                href=row.href + AppState.view_query,
                weight="medium",
                color=rx.color("gray", 12),
                size="2",
            )
        ),
        rx.table.cell(rx.badge(row.action_label, color_scheme=row.action_color, variant="soft")),
        rx.table.cell(change_text(row.before, row.after), class_name="cell-change"),
        rx.table.cell(
            rx.text(row.who, size="2"),
            rx.cond(
                row.provenance != "",
                rx.text(
                    row.provenance, size="1", color=rx.color("gray", 10), class_name="provenance"
                ),
            ),
            white_space="nowrap",
        ),
        rx.table.cell(rx.text(row.notes, size="1", color=rx.color("gray", 11)), max_width="260px"),
        class_name="history-row",
        data_action=row.action,
    )


def _table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("Recorded"),
                rx.table.column_header_cell("Effective"),
                rx.table.column_header_cell("Source"),
                rx.table.column_header_cell("Action"),
                rx.table.column_header_cell("Change (previous → new)"),
                rx.table.column_header_cell("By"),
                rx.table.column_header_cell("Notes"),
            )
        ),
        rx.table.body(rx.foreach(HistoryState.rows, _row)),
        variant="surface",
        size="2",
        width="100%",
        id="history-table",
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.text(
            HistoryState.range_text,
            size="2",
            color=rx.color("gray", 11),
            style=TABULAR,
            id="history-range",
        ),
        rx.spacer(),
        rx.button(
            rx.icon("chevron-left", size=16),
            "Previous",
            variant="soft",
            disabled=HistoryState.page_number <= 1,
            on_click=HistoryState.previous_page,
            id="history-previous",
        ),
        rx.text("Page ", HistoryState.page_number, size="2", style=TABULAR, id="history-page"),
        rx.button(
            "Next",
            rx.icon("chevron-right", size=16),
            variant="soft",
            disabled=~HistoryState.has_next,
            on_click=HistoryState.next_page,
            id="history-next",
        ),
        align="center",
        spacing="3",
        width="100%",
    )


def history() -> rx.Component:
    return signed_in_page(
        page_header(
            "History",
            subtitle="Every change to your capital sources: who, what, when, and the previous value.",
        ),
        _filters(),
        by_status(
            HistoryState.status,
            loading=table_skeleton(10, 7),
            error=load_error(HistoryState.problem, HistoryState.retry),
            ready=rx.cond(
                HistoryState.rows.length() > 0,
                rx.vstack(_table(), _pager(), spacing="3", width="100%"),
                empty_state(
                    "history",
                    "No entries match",
                    "Nothing was recorded for this filter and date. Clear the filters or pick another date.",
                    rx.button("Clear filters", variant="soft", on_click=HistoryState.clear_filters),
                    id="history-empty",
                ),
            ),
        ),
    )
