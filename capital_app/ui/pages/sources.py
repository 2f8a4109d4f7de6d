"""`/sources` (every source, removed ones too) and `/sources/[source_id]` (one source).

The detail page shows the source's current terms, its share of capital, its
actions, and its timeline: every entry with the previous → new value, who
recorded it and when. In a past view both pages show the source as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar
from urllib.parse import unquote

import reflex as rx

from capital_app.domain.dates import (
    format_age,
    format_date,
    format_datetime,
    format_exact,
    format_relative,
    format_utc,
)
from capital_app.domain.describe import ACTION_LABELS, author_name, change_of, provenance_of
from capital_app.domain.money import format_money, format_money_short, format_rate
from capital_app.domain.values import Action
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
    change_text,
    hover_exact,
    money_cell,
    numeric_header,
    rate_cell,
)
from capital_app.ui.components.kpi import kpi_card
from capital_app.ui.components.source_actions import (
    SOURCE_ACTIONS,
    add_source_button,
    source_actions,
)
from capital_app.ui.edits import EditState
from capital_app.ui.layout import page_header, signed_in_page
from capital_app.ui.navigation import SOURCES_ROUTE, source_href
from capital_app.ui.pages.history import ACTION_COLORS
from capital_app.ui.state import (
    LOAD_TIMEOUT_SECONDS,
    AppState,
    EditTarget,
    PageState,
    call_service,
    unconfirmed_additions,
    unconfirmed_change,
)


@dataclass
class SourceLineRow:
    source_id: str = ""
    name: str = ""
    amount: str = ""
    rate: str = ""
    active: bool = True
    status: str = ""
    added: str = ""
    last_change: str = ""
    last_change_exact: str = ""
    href: str = ""
    pending: bool = False
    pending_label: str = ""


class SourcesState(PageState, AppState):
    _url_view: ClassVar[bool] = True  # the moment is in the URL (issue 15)
    rows: list[SourceLineRow] = []
    summary: str = ""

    _lines: list[reports.SourceLine] = []

    async def _fetch(self, actor: Actor, pushed: int | None) -> int:
        as_of, known_at = self._moment()
        found = await call_service(
            reports.source_list, actor, as_of, known_at, timeout=LOAD_TIMEOUT_SECONDS
        )
        self._lines = found.sources
        self._targets = {
            s.source_id: EditTarget(
                s.source_id, s.name, s.available_cents, s.annual_rate, s.sequence, s.currency or ""
            )
            for s in found.sources
            if s.active
        }
        active = sum(1 for s in found.sources if s.active)
        missing = found.reporting.missing_rates if found.reporting else ()
        total = (
            "total unknown: " + "; ".join(missing)
            if missing
            else f"{format_money(found.total_cents, self.currency)} in total"
        )
        self.summary = f"{active} active · {len(found.sources) - active} removed · {total}"
        return found.revision

    def _render(self) -> None:
        now, tz, cur = datetime.now(UTC), self._tz(), self.currency
        active_names = {s.name.lower() for s in self._lines if s.active}
        rows = [
            SourceLineRow(
                name=p.name,
                amount=p.amount_text,
                rate=p.rate_text,
                status="Active",
                pending=True,
                pending_label=p.label,
            )
            for p in unconfirmed_additions(self._pending, active_names)
        ]
        for s in self._lines:
            p = unconfirmed_change(self._pending, s.source_id, s.sequence)
            changed = s.removed_date or s.last_changed_date
            rows.append(
                SourceLineRow(
                    source_id=s.source_id,
                    name=s.name,
                    amount=(p and p.amount_text)
                    or format_money(s.available_cents, s.currency or cur),
                    rate=(p and p.rate_text) or format_rate(s.annual_rate),
                    active=s.active,
                    status="Active" if s.active else "Removed",
                    added=format_date(s.added_date, tz),
                    last_change=format_age(changed, now, tz),
                    last_change_exact=format_exact(changed, tz),
                    href=source_href(s.source_id),
                    pending=p is not None,
                    pending_label=p.label if p else "",
                )
            )
        self.rows = rows


def _line_row(row: SourceLineRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.hstack(
                rx.cond(
                    row.href != "",
                    rx.link(
                        row.name,
                        href=row.href + AppState.view_query,
                        weight="medium",
                        color=rx.color("gray", 12),
                    ),
                    rx.text(row.name, weight="medium"),
                ),
                rx.cond(row.pending, saving_badge(row.pending_label)),
                spacing="2",
                align="center",
            )
        ),
        rx.table.cell(
            rx.badge(row.status, color_scheme=rx.cond(row.active, "grass", "gray"), variant="soft")
        ),
        money_cell(row.amount, muted=~row.active | row.pending),
        rate_cell(row.rate, muted=~row.active | row.pending),
        rx.table.cell(rx.text(row.added, size="2", style=TABULAR)),
        rx.table.cell(
            hover_exact(
                row.last_change, row.last_change_exact, size="2", color=rx.color("gray", 11)
            )
        ),
        rx.table.cell(
            rx.cond(
                row.active & (row.href != ""),
                source_actions(row.source_id, row.name, disabled=row.pending),
            ),
            justify="end",
        ),
        opacity=rx.cond(row.pending, "0.6", "1"),
        class_name=rx.cond(row.pending, "source-line pending-row", "source-line"),
    )


def sources() -> rx.Component:
    return signed_in_page(
        page_header("Sources", add_source_button(), subtitle=SourcesState.summary),
        by_status(
            SourcesState.status,
            loading=table_skeleton(8, 6),
            error=load_error(SourcesState.problem, SourcesState.retry),
            ready=rx.cond(
                SourcesState.rows.length() > 0,
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Name"),
                            rx.table.column_header_cell("Status"),
                            numeric_header("Amount"),
                            numeric_header("Rate"),
                            rx.table.column_header_cell("Added"),
                            rx.table.column_header_cell("Last change"),
                            rx.table.column_header_cell(""),
                        )
                    ),
                    rx.table.body(rx.foreach(SourcesState.rows, _line_row)),
                    variant="surface",
                    width="100%",
                    id="source-list",
                ),
                empty_state(
                    "landmark",
                    "No capital sources yet",
                    rx.cond(
                        AppState.can_edit,
                        "Add your first loan, credit line or equity to start the history.",
                        "An editor of your organization can add the first one.",
                    ),
                    add_source_button(),
                ),
            ),
        ),
    )


# --- one source ---------------------------------------------------------------------


@dataclass
class TimelineRow:
    action: str = ""
    action_label: str = ""
    action_color: str = "gray"
    effective: str = ""
    before: str = ""
    after: str = ""
    who: str = ""
    provenance: str = ""  # an imported entry's own recording, as its file says
    recorded: str = ""
    recorded_exact: str = ""
    notes: str = ""
    pending: bool = False


class SourceDetailState(PageState, AppState):
    _url_view: ClassVar[bool] = True  # the moment is in the URL (issue 15)
    source_id: str = ""
    name: str = ""
    active: bool = True
    status_text: str = ""
    amount: str = "—"
    amount_exact: str = ""
    rate: str = "—"
    share: str = "—"
    added: str = ""
    last_change: str = ""
    timeline: list[TimelineRow] = []
    not_active_then: bool = False

    _detail: reports.SourceDetail | None = None

    def _requested_id(self) -> str:
        path = self.router.url.path
        prefix = SOURCES_ROUTE + "/"
        return unquote(path[len(prefix) :]) if path.startswith(prefix) else ""

    def _reset_for_new_subject(self) -> bool:
        return self._requested_id() != self.source_id

    async def _fetch(self, actor: Actor, pushed: int | None) -> int:
        source_id = self._requested_id()
        as_of, known_at = self._moment()
        detail = await call_service(
            reports.source_detail, actor, source_id, as_of, known_at, timeout=LOAD_TIMEOUT_SECONDS
        )
        self.source_id = source_id
        self._detail = detail
        current = detail.current
        self._targets = (
            {
                source_id: EditTarget(
                    source_id,
                    current.name,
                    current.available_cents,
                    current.annual_rate,
                    current.sequence,
                    detail.currency or "",
                )
            }
            if current.active
            else {}
        )
        return detail.revision

    def _render(self) -> None:
        detail = self._detail
        if detail is None:
            return
        now, tz, cur = datetime.now(UTC), self._tz(), self.currency
        line, current = detail.line, detail.current
        self.name = current.name if line is None else line.name
        self.not_active_then = line is None
        self.active = bool(line and line.active)
        p = unconfirmed_change(self._pending, current.source_id, current.sequence)
        if line is None:
            self.status_text = "Not active on this date"
            self.amount = self.rate = self.share = "—"
            self.amount_exact = ""
        else:
            self.status_text = (
                "Active"
                if line.active
                else f"Removed {format_date(line.removed_date, tz)}"
                if line.removed_date
                else "Removed"
            )
            cents = p.amount_cents if p and p.amount_cents else line.available_cents
            own = line.currency or cur
            self.amount = format_money_short(cents, own)
            self.amount_exact = format_money(cents, own)
            self.rate = p.rate_text if p and p.rate_text else format_rate(line.annual_rate)
            # The share compares amounts in the reporting currency (unknown without a rate).
            factors = detail.reporting.factors if detail.reporting else {}
            complete = detail.reporting is None or detail.reporting.complete
            factor = Decimal(1) if own == cur else factors.get(own)
            share = (
                (
                    Decimal(line.available_cents) * factor * 100 / Decimal(detail.total_cents)
                ).quantize(Decimal("0.1"))
                if line.active and detail.total_cents and factor is not None and complete
                else None
            )
            self.share = f"{share} %" if share is not None else "—"
            self.added = format_date(line.added_date, tz)
            self.last_change = format_relative(line.last_changed_date, now, tz)
        rows = []
        if p is not None:
            rows.append(
                TimelineRow(
                    action_label="Saving…",
                    action_color="gray",
                    effective="",
                    after=p.amount_text or p.rate_text or ("Removed" if p.kind == "remove" else ""),
                    who=self.user_name,
                    pending=True,
                )
            )
        for entry in detail.entries:
            change = change_of(entry, detail.currency or cur)
            recorded = entry.created_at or entry.effective_date
            rows.append(
                TimelineRow(
                    action=entry.action.value,
                    action_label=ACTION_LABELS[entry.action],
                    action_color=ACTION_COLORS[entry.action],
                    effective=format_date(entry.effective_date, tz),
                    before=change.before,
                    after="Removed" if entry.action is Action.REMOVED else change.after,
                    who=author_name(entry.created_by, detail.names),
                    provenance=provenance_of(entry, tz),
                    recorded=format_datetime(recorded, tz),
                    recorded_exact=format_utc(recorded),
                    notes=entry.notes or "",
                )
            )
        self.timeline = rows


def _timeline_item(row: TimelineRow) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.box(
                width="10px",
                height="10px",
                border_radius="50%",
                background=rx.color(row.action_color, 9),
                margin_top="6px",
            ),
            rx.box(width="2px", flex="1", background=rx.color("gray", 5)),
            align="center",
            spacing="1",
            align_self="stretch",
        ),
        rx.vstack(
            rx.hstack(
                rx.cond(
                    row.pending,
                    saving_badge(),
                    rx.badge(row.action_label, color_scheme=row.action_color, variant="soft"),
                ),
                rx.cond(
                    row.effective != "",
                    rx.text("effective ", row.effective, size="2", color=rx.color("gray", 11)),
                ),
                spacing="2",
                align="center",
            ),
            change_text(row.before, row.after),
            rx.hstack(
                rx.text(row.who, size="1", color=rx.color("gray", 11)),
                rx.cond(
                    row.recorded != "",
                    hover_exact(
                        "· recorded " + row.recorded,
                        row.recorded_exact,
                        size="1",
                        color=rx.color("gray", 10),
                    ),
                ),
                spacing="1",
            ),
            rx.cond(
                row.provenance != "",
                rx.text(
                    row.provenance, size="1", color=rx.color("gray", 10), class_name="provenance"
                ),
            ),
            rx.cond(
                row.notes != "",
                rx.text(row.notes, size="2", color=rx.color("gray", 11), font_style="italic"),
            ),
            spacing="1",
            align="start",
            padding_bottom="16px",
        ),
        spacing="3",
        align="start",
        width="100%",
        opacity=rx.cond(row.pending, "0.6", "1"),
        class_name=rx.cond(row.pending, "timeline-item pending-row", "timeline-item"),
    )


def _detail_actions() -> rx.Component:
    return rx.cond(
        AppState.can_edit & SourceDetailState.active,
        rx.hstack(
            *[
                rx.button(
                    rx.icon(icon, size=16),
                    label,
                    variant="soft",
                    color_scheme=None if color == "gray" else color,
                    on_click=EditState.open_change(kind, SourceDetailState.source_id),
                    id=f"detail-{kind}",
                )
                for kind, icon, label, color in SOURCE_ACTIONS
            ],
            spacing="2",
        ),
    )


def source_detail() -> rx.Component:
    header = rx.vstack(
        rx.link(
            rx.hstack(rx.icon("arrow-left", size=14), "All sources", align="center", spacing="1"),
            href=f"{SOURCES_ROUTE}{AppState.view_query}",
            size="2",
        ),
        rx.hstack(
            rx.heading(SourceDetailState.name, size="6", id="page-title"),
            rx.badge(
                SourceDetailState.status_text,
                color_scheme=rx.cond(SourceDetailState.active, "grass", "gray"),
                variant="soft",
                id="detail-status",
            ),
            rx.spacer(),
            _detail_actions(),
            align="center",
            width="100%",
        ),
        spacing="2",
        width="100%",
    )
    ready = rx.vstack(
        header,
        rx.grid(
            kpi_card(
                "Amount",
                SourceDetailState.amount,
                exact=SourceDetailState.amount_exact,
                id="detail-amount-card",
            ),
            kpi_card("Annual rate", SourceDetailState.rate, id="detail-rate-card"),
            kpi_card("Share of capital", SourceDetailState.share, id="detail-share-card"),
            kpi_card(
                "Added",
                SourceDetailState.added,
                note="Last change " + SourceDetailState.last_change,
                id="detail-added-card",
            ),
            columns=rx.breakpoints(initial="1", sm="2", lg="4"),
            spacing="4",
            width="100%",
        ),
        panel(
            "Timeline",
            item_list(
                SourceDetailState.timeline,
                _timeline_item,
                "Nothing was recorded for this source by this date.",
                id="timeline",
            ),
        ),
        spacing="5",
        width="100%",
    )
    return signed_in_page(
        by_status(
            SourceDetailState.status,
            loading=rx.vstack(
                block_skeleton("60px"),
                block_skeleton("104px"),
                table_skeleton(6, 3),
                spacing="4",
                width="100%",
            ),
            error=rx.vstack(
                rx.link("← All sources", href=f"{SOURCES_ROUTE}{AppState.view_query}", size="2"),
                load_error(SourceDetailState.problem, SourceDetailState.retry),
                spacing="3",
                width="100%",
            ),
            ready=ready,
        ),
    )
