"""`/audit` (ADMIN): the security audit log — sign-ins, user changes, imports, exports.

Laid out like the History page: filters above a table, newest first, older pages
on demand; "Download CSV" saves what the filters select. Reads go through
service.audit, which checks the ADMIN role again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import reflex as rx

from capital_app.domain.audit import AuditEventRecord
from capital_app.domain.dates import format_datetime, format_utc, parse_day
from capital_app.domain.errors import LedgerError
from capital_app.domain.values import Role
from capital_app.service import audit, sessions
from capital_app.service.actor import Actor
from capital_app.ui.audit_presenters import (
    ACTION_COLORS,
    ACTION_LABELS,
    action_label,
    audit_csv,
    describe_details,
)
from capital_app.ui.components.feedback import by_status, empty_state, load_error, table_skeleton
from capital_app.ui.components.figures import TABULAR, hover_exact
from capital_app.ui.layout import page_header, signed_in_page
from capital_app.ui.state import (
    HOME_ROUTE,
    LOAD_TIMEOUT_SECONDS,
    AppState,
    PageState,
    call_service,
)

PAGE_SIZE = 100
CSV_LIMIT = audit.MAX_PAGE
ALL = "all"


@dataclass
class AuditRow:
    event_id: str = ""
    when: str = ""
    when_exact: str = ""
    action: str = ""
    action_label: str = ""
    action_color: str = "gray"
    who: str = ""
    client: str = ""
    what: str = ""


def _local_midnight(day, tz) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=tz).astimezone(UTC)


class AuditState(PageState, AppState):
    action_filter: str = ALL
    from_day: str = ""
    to_day: str = ""
    rows: list[AuditRow] = []
    has_more: bool = False

    _oldest_id: int = 0

    def _allowed(self, signed_in: sessions.SignedIn):
        if signed_in.user.role is not Role.ADMIN:
            return [
                rx.redirect(HOME_ROUTE, replace=True),
                rx.toast.warning("Only an administrator can read the audit log."),
            ]
        return None

    def _query(self, actor: Actor, before_id: int | None, limit: int):
        tz = self._tz()
        start, end = parse_day(self.from_day), parse_day(self.to_day)
        return call_service(
            audit.list_audit_events,
            actor,
            actions=None if self.action_filter == ALL else [self.action_filter],
            since=_local_midnight(start, tz) if start else None,
            until=_local_midnight(end + timedelta(days=1), tz) if end else None,
            before_id=before_id,
            limit=limit,
            timeout=LOAD_TIMEOUT_SECONDS,
        )

    def _rows(self, events: list[AuditEventRecord]) -> list[AuditRow]:
        tz = self._tz()
        return [
            AuditRow(
                event_id=str(e.id),
                when=format_datetime(e.occurred_at, tz),
                when_exact=format_utc(e.occurred_at),
                action=e.action,
                action_label=action_label(e.action),
                action_color=ACTION_COLORS.get(e.action, "gray"),
                who=e.actor_email or "operator",
                client=e.client_address or "",
                what=describe_details(e.action, e.details),
            )
            for e in events
        ]

    async def _fetch(self, actor: Actor, pushed: int | None) -> int:
        events = await self._query(actor, None, PAGE_SIZE)
        self.rows = self._rows(events)
        self.has_more = len(events) == PAGE_SIZE
        self._oldest_id = events[-1].id if events else 0
        return self.revision

    @rx.event
    async def set_filter(self, name: str, value: str):
        if name == "action":
            self.action_filter = value if value in ACTION_LABELS else ALL
        elif name == "from":
            self.from_day = value if parse_day(value) else ""
        elif name == "to":
            self.to_day = value if parse_day(value) else ""
        else:
            return None
        return await self._reload(show_loading=True)

    @rx.event
    async def clear_filters(self):
        self.action_filter = ALL
        self.from_day = self.to_day = ""
        return await self._reload(show_loading=True)

    @rx.event
    async def load_older(self):
        if not self.has_more:
            return None
        try:
            events = await self._query(self._actor(), self._oldest_id, PAGE_SIZE)
        except LedgerError as error:
            return rx.toast.error(f"Not loaded: {error.message}")
        self.rows = [*self.rows, *self._rows(events)]
        self.has_more = len(events) == PAGE_SIZE
        self._oldest_id = events[-1].id if events else self._oldest_id
        return None

    @rx.event
    async def download_csv(self):
        try:
            events = await self._query(self._actor(), None, CSV_LIMIT)
        except LedgerError as error:
            return rx.toast.error(f"Not downloaded: {error.message}")
        stamp = datetime.now(UTC).strftime("%Y-%m-%d")
        return rx.download(
            data=audit_csv(events), filename=f"audit-log-{stamp}.csv", mime_type="text/csv"
        )


# --- view ---------------------------------------------------------------------------


def _filters() -> rx.Component:
    actions = [(ALL, "All actions"), *ACTION_LABELS.items()]
    return rx.hstack(
        rx.select.root(
            rx.select.trigger(id="audit-filter-action", min_width="200px"),
            rx.select.content(*[rx.select.item(label, value=v) for v, label in actions]),
            value=AuditState.action_filter,
            on_change=lambda v: AuditState.set_filter("action", v),
        ),
        rx.hstack(
            rx.text("From", size="2", color=rx.color("gray", 11)),
            rx.input(
                type="date",
                value=AuditState.from_day,
                max=AppState.today,
                on_change=lambda v: AuditState.set_filter("from", v),
                aria_label="From day",
                id="audit-filter-from",
            ),
            rx.text("to", size="2", color=rx.color("gray", 11)),
            rx.input(
                type="date",
                value=AuditState.to_day,
                max=AppState.today,
                on_change=lambda v: AuditState.set_filter("to", v),
                aria_label="To day",
                id="audit-filter-to",
            ),
            align="center",
            spacing="2",
        ),
        rx.spacer(),
        rx.button(
            "Clear",
            variant="ghost",
            color_scheme="gray",
            on_click=AuditState.clear_filters,
            id="audit-filter-clear",
        ),
        spacing="3",
        align="center",
        width="100%",
        wrap="wrap",
    )


def _row(row: AuditRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(hover_exact(row.when, row.when_exact, size="2"), white_space="nowrap"),
        rx.table.cell(rx.badge(row.action_label, color_scheme=row.action_color, variant="soft")),
        rx.table.cell(rx.text(row.who, size="2"), white_space="nowrap"),
        rx.table.cell(rx.text(row.what, size="2")),
        rx.table.cell(
            rx.text(row.client, size="1", color=rx.color("gray", 11), style=TABULAR),
            white_space="nowrap",
        ),
        class_name="audit-row",
        data_action=row.action,
    )


def _table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("When"),
                rx.table.column_header_cell("Action"),
                rx.table.column_header_cell("By"),
                rx.table.column_header_cell("What"),
                rx.table.column_header_cell("Client"),
            )
        ),
        rx.table.body(rx.foreach(AuditState.rows, _row)),
        variant="surface",
        size="2",
        width="100%",
        id="audit-table",
    )


def audit_log() -> rx.Component:
    return signed_in_page(
        page_header(
            "Audit log",
            rx.button(
                rx.icon("download", size=16),
                "Download CSV",
                variant="soft",
                on_click=AuditState.download_csv,
                id="audit-download",
            ),
            subtitle="Sign-ins, user changes, imports and exports: who, what, when. "
            "Nothing here can be changed or deleted.",
        ),
        _filters(),
        by_status(
            AuditState.status,
            loading=table_skeleton(10, 5),
            error=load_error(AuditState.problem, AuditState.retry),
            ready=rx.cond(
                AuditState.rows.length() > 0,
                rx.vstack(
                    _table(),
                    rx.cond(
                        AuditState.has_more,
                        rx.button(
                            "Load older",
                            variant="soft",
                            on_click=AuditState.load_older,
                            id="audit-older",
                        ),
                    ),
                    spacing="3",
                    width="100%",
                ),
                empty_state(
                    "shield-check",
                    "No events match",
                    "Nothing was recorded for these filters. Clear them or pick other days.",
                    rx.button("Clear filters", variant="soft", on_click=AuditState.clear_filters),
                    id="audit-empty",
                ),
            ),
        ),
    )
