"""`/webhooks` (ADMIN): register receivers of the organization's changes, see deliveries.

An endpoint is a URL and the kinds of change it wants; its signing secret (whsec_…)
is shown once, right after it is registered. Each endpoint can be disabled (nothing is
sent; enabling again resumes where it stopped, and clears "failing") or deleted. The
delivery log of the selected endpoint shows each message's status, attempts, the
receiver's last answer and how long it took, with "Resend". Everything goes through
service.webhooks, which checks the ADMIN role again.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import reflex as rx

from capital_app.domain.dates import format_datetime
from capital_app.domain.errors import LedgerError
from capital_app.domain.values import Role
from capital_app.domain.webhooks import ALL_EVENT_TYPES
from capital_app.service import sessions, webhooks
from capital_app.service.actor import Actor
from capital_app.ui.components.feedback import by_status, empty_state, load_error, table_skeleton
from capital_app.ui.layout import page_header, signed_in_page
from capital_app.ui.state import (
    HOME_ROUTE,
    LOAD_TIMEOUT_SECONDS,
    AppState,
    PageState,
    call_service,
)

STATUS_COLORS = {"active": "green", "disabled": "gray", "failing": "red"}
DELIVERY_COLORS = {"delivered": "green", "pending": "amber", "failed": "red"}


@dataclass
class EndpointRow:
    id: str = ""
    url: str = ""
    events: str = ""
    status: str = ""
    status_color: str = "gray"
    created: str = ""
    disabled: bool = False


@dataclass
class DeliveryRow:
    id: str = ""
    when: str = ""
    event_type: str = ""
    revision: str = ""
    status: str = ""
    status_color: str = "gray"
    attempts: str = ""
    response: str = ""
    latency: str = ""
    error: str = ""


class WebhooksState(PageState, AppState):
    endpoints: list[EndpointRow] = []
    deliveries: list[DeliveryRow] = []
    selected: str = ""
    new_url: str = ""
    new_secret: str = ""
    form_error: str = ""

    def _allowed(self, signed_in: sessions.SignedIn):
        if signed_in.user.role is not Role.ADMIN:
            return [
                rx.redirect(HOME_ROUTE, replace=True),
                rx.toast.warning("Only an administrator can manage webhooks."),
            ]
        return None

    async def _fetch(self, actor: Actor, pushed: int | None) -> int:
        tz = self._tz()
        found = await call_service(webhooks.list_endpoints, actor, timeout=LOAD_TIMEOUT_SECONDS)
        self.endpoints = [
            EndpointRow(
                id=str(e.id),
                url=e.url,
                events=", ".join(e.event_types),
                status=(status := _status(e)),
                status_color=STATUS_COLORS[status],
                created=format_datetime(e.created_at, tz),
                disabled=e.disabled_at is not None,
            )
            for e in found
        ]
        ids = [row.id for row in self.endpoints]
        if self.selected not in ids:
            self.selected = ids[0] if ids else ""
        await self._fetch_deliveries(actor)
        return self.revision

    async def _fetch_deliveries(self, actor: Actor) -> None:
        if not self.selected:
            self.deliveries = []
            return
        tz = self._tz()
        found = await call_service(
            webhooks.list_deliveries, actor, UUID(self.selected), timeout=LOAD_TIMEOUT_SECONDS
        )
        self.deliveries = [
            DeliveryRow(
                id=str(d.id),
                when=format_datetime(d.last_attempt_at or d.created_at, tz),
                event_type=d.event_type,
                revision=str(d.revision),
                status=d.status + (" (resend queued)" if d.resend_requested else ""),
                status_color=DELIVERY_COLORS.get(d.status, "gray"),
                attempts=str(d.attempts),
                response=str(d.response_code) if d.response_code is not None else "—",
                latency=f"{d.latency_ms} ms" if d.latency_ms is not None else "—",
                error=d.last_error or "",
            )
            for d in found
        ]

    @rx.event
    def set_new_url(self, value: str):
        self.new_url = value
        self.form_error = ""

    @rx.event
    async def create(self):
        try:
            created = await call_service(
                webhooks.create_endpoint,
                self._actor(),
                url=self.new_url,
                timeout=LOAD_TIMEOUT_SECONDS,
            )
        except LedgerError as error:
            self.form_error = error.message
            return None
        self.new_secret = created.secret
        self.new_url = ""
        self.selected = str(created.endpoint.id)
        await self._reload()
        return rx.toast.success("Endpoint registered: copy its secret now.")

    @rx.event
    def dismiss_secret(self):
        self.new_secret = ""

    @rx.event
    async def select(self, endpoint_id: str):
        self.selected = endpoint_id
        try:
            await self._fetch_deliveries(self._actor())
        except LedgerError as error:
            return rx.toast.error(f"Not loaded: {error.message}")
        return None

    @rx.event
    async def toggle(self, endpoint_id: str, disable: bool):
        try:
            await call_service(
                webhooks.set_disabled,
                self._actor(),
                UUID(endpoint_id),
                disable,
                timeout=LOAD_TIMEOUT_SECONDS,
            )
        except LedgerError as error:
            return rx.toast.error(f"Not changed: {error.message}")
        return await self._reload()

    @rx.event
    async def delete(self, endpoint_id: str):
        try:
            await call_service(
                webhooks.delete_endpoint,
                self._actor(),
                UUID(endpoint_id),
                timeout=LOAD_TIMEOUT_SECONDS,
            )
        except LedgerError as error:
            return rx.toast.error(f"Not deleted: {error.message}")
        await self._reload()
        return rx.toast.success("Endpoint deleted.")

    @rx.event
    async def resend(self, delivery_id: str):
        try:
            await call_service(
                webhooks.resend,
                self._actor(),
                UUID(self.selected),
                UUID(delivery_id),
                timeout=LOAD_TIMEOUT_SECONDS,
            )
        except LedgerError as error:
            return rx.toast.error(f"Not resent: {error.message}")
        await self._fetch_deliveries(self._actor())
        return rx.toast.info("Queued: the message will be sent again shortly.")

    @rx.event
    async def refresh_log(self):
        try:
            await self._fetch_deliveries(self._actor())
        except LedgerError as error:
            return rx.toast.error(f"Not loaded: {error.message}")
        return None


def _status(endpoint) -> str:
    if endpoint.disabled_at:
        return "disabled"
    return "failing" if endpoint.failing_since else "active"


# --- view ---------------------------------------------------------------------------


def _form() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.input(
                placeholder="https://erp.example.com/hooks/capital",
                value=WebhooksState.new_url,
                on_change=WebhooksState.set_new_url,
                aria_label="Receiver URL",
                id="webhook-url",
                width="420px",
            ),
            rx.button("Register endpoint", on_click=WebhooksState.create, id="webhook-create"),
            spacing="3",
            align="center",
        ),
        rx.text(
            "Every change is sent (" + ", ".join(ALL_EVENT_TYPES) + "), signed with the"
            " Standard Webhooks scheme.",
            size="1",
            color=rx.color("gray", 11),
        ),
        rx.cond(
            WebhooksState.form_error != "",
            rx.callout(WebhooksState.form_error, color_scheme="red", id="webhook-form-error"),
        ),
        rx.cond(
            WebhooksState.new_secret != "",
            rx.callout(
                rx.vstack(
                    rx.text("Signing secret — shown only now; give it to the receiver:"),
                    rx.code(WebhooksState.new_secret, id="webhook-secret"),
                    rx.button("I have copied it", size="1", on_click=WebhooksState.dismiss_secret),
                ),
                color_scheme="amber",
            ),
        ),
        spacing="2",
        width="100%",
    )


def _endpoint_row(row: EndpointRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.link(row.url, on_click=WebhooksState.select(row.id), cursor="pointer"),
        ),
        rx.table.cell(rx.text(row.events, size="1")),
        rx.table.cell(rx.badge(row.status, color_scheme=row.status_color, variant="soft")),
        rx.table.cell(rx.text(row.created, size="2"), white_space="nowrap"),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    rx.cond(row.disabled | (row.status == "failing"), "Enable", "Disable"),
                    size="1",
                    variant="soft",
                    on_click=WebhooksState.toggle(
                        row.id, ~(row.disabled | (row.status == "failing"))
                    ),
                ),
                rx.button(
                    "Delete",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=WebhooksState.delete(row.id),
                ),
                spacing="2",
            )
        ),
        class_name="webhook-row",
        data_selected=row.id == WebhooksState.selected,
    )


def _endpoints() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("URL"),
                rx.table.column_header_cell("Events"),
                rx.table.column_header_cell("Status"),
                rx.table.column_header_cell("Registered"),
                rx.table.column_header_cell(""),
            )
        ),
        rx.table.body(rx.foreach(WebhooksState.endpoints, _endpoint_row)),
        variant="surface",
        size="2",
        width="100%",
        id="webhook-table",
    )


def _delivery_row(row: DeliveryRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.when, size="2"), white_space="nowrap"),
        rx.table.cell(rx.text(row.event_type, size="2")),
        rx.table.cell(rx.text(row.revision, size="2")),
        rx.table.cell(rx.badge(row.status, color_scheme=row.status_color, variant="soft")),
        rx.table.cell(rx.text(row.attempts, size="2")),
        rx.table.cell(rx.text(row.response, size="2")),
        rx.table.cell(rx.text(row.latency, size="2"), white_space="nowrap"),
        rx.table.cell(rx.text(row.error, size="1", color=rx.color("gray", 11))),
        rx.table.cell(
            rx.button("Resend", size="1", variant="soft", on_click=WebhooksState.resend(row.id))
        ),
        class_name="delivery-row",
    )


def _deliveries() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading("Delivery log", size="4"),
            rx.spacer(),
            rx.button("Refresh", size="1", variant="ghost", on_click=WebhooksState.refresh_log),
            width="100%",
        ),
        rx.cond(
            WebhooksState.deliveries.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Last attempt"),
                        rx.table.column_header_cell("Event"),
                        rx.table.column_header_cell("Revision"),
                        rx.table.column_header_cell("Status"),
                        rx.table.column_header_cell("Attempts"),
                        rx.table.column_header_cell("Response"),
                        rx.table.column_header_cell("Latency"),
                        rx.table.column_header_cell("Error"),
                        rx.table.column_header_cell(""),
                    )
                ),
                rx.table.body(rx.foreach(WebhooksState.deliveries, _delivery_row)),
                variant="surface",
                size="2",
                width="100%",
                id="delivery-table",
            ),
            rx.text("Nothing sent to this endpoint yet.", size="2", color=rx.color("gray", 11)),
        ),
        spacing="2",
        width="100%",
    )


def webhooks_page() -> rx.Component:
    return signed_in_page(
        page_header(
            "Webhooks",
            subtitle="Receivers of every committed change: signed, in order, retried for 24 h.",
        ),
        _form(),
        by_status(
            WebhooksState.status,
            loading=table_skeleton(4, 5),
            error=load_error(WebhooksState.problem, WebhooksState.retry),
            ready=rx.cond(
                WebhooksState.endpoints.length() > 0,
                rx.vstack(_endpoints(), _deliveries(), spacing="4", width="100%"),
                empty_state(
                    "webhook",
                    "No endpoints yet",
                    "Register a URL above to receive the organization's changes.",
                    id="webhooks-empty",
                ),
            ),
        ),
    )
