"""`/api-keys` (ADMIN): the organization's API keys — create, copy once, list, revoke.

Integrators (an ERP sync, a BI tool) send a key as `Authorization: Bearer clk_live_…`.
Every action goes through service.api_keys, which checks again that the acting
person is a signed-in ADMIN; the secret exists only in the answer to "create" and
is shown here once (it is stored as a hash).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID

import reflex as rx

from capital_app.domain.dates import end_of_local_day, format_date, format_datetime, parse_day
from capital_app.domain.errors import LedgerError
from capital_app.domain.scopes import Scope
from capital_app.domain.values import Role
from capital_app.service import api_keys, sessions
from capital_app.service.actor import Actor
from capital_app.ui.components.feedback import by_status, empty_state, load_error, table_skeleton
from capital_app.ui.layout import page_header, signed_in_page

if TYPE_CHECKING:
    from capital_app.db.api_key_repository import ApiKeyRecord

from capital_app.ui.state import (
    HOME_ROUTE,
    LOAD_TIMEOUT_SECONDS,
    AppState,
    PageState,
    call_service,
    is_signed_out,
)

SCOPES = [
    (Scope.READ.value, "Read the history, sources, WACC and the change feed"),
    (Scope.WRITE.value, "Also add and change capital sources"),
    (Scope.ADMIN.value, "Also manage users and read the audit log"),
]


@dataclass
class KeyRow:
    key_id: str = ""
    name: str = ""
    prefix: str = ""
    scopes: str = ""
    creator: str = ""
    created: str = ""
    last_used: str = ""
    expires: str = ""
    state: str = ""  # Active | Expired | Revoked
    revocable: bool = True


def key_state(key: ApiKeyRecord, now: datetime) -> str:
    if key.revoked_at is not None:
        return "Revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "Expired"
    return "Active"


class ApiKeysState(PageState, AppState):
    rows: list[KeyRow] = []
    busy_key: str = ""

    create_open: bool = False
    new_name: str = ""
    new_scopes: list[str] = [Scope.READ.value]
    new_expiry: str = ""  # a day (YYYY-MM-DD), empty: never
    create_error: str = ""
    creating: bool = False
    # The secret of the key just created: shown once, forgotten when the dialog closes.
    new_secret: str = ""

    def _allowed(self, signed_in: sessions.SignedIn):
        if signed_in.user.role is not Role.ADMIN:
            return [
                rx.redirect(HOME_ROUTE, replace=True),
                rx.toast.warning("Only an administrator can manage API keys."),
            ]
        return None

    async def _fetch(self, actor: Actor, pushed: int | None) -> int:
        found = await call_service(api_keys.list_keys, actor, timeout=LOAD_TIMEOUT_SECONDS)
        tz = self._tz()
        now = datetime.now(UTC)
        self.rows = [
            KeyRow(
                key_id=str(k.id),
                name=k.name,
                prefix=k.prefix + "…",
                scopes=", ".join(k.scopes),
                creator=k.created_by_name,
                created=format_date(k.created_at, tz),
                last_used=format_datetime(k.last_used_at, tz) if k.last_used_at else "Never",
                expires=format_date(k.expires_at, tz) if k.expires_at else "Never",
                state=key_state(k, now),
                revocable=k.revoked_at is None,
            )
            for k in found
        ]
        return self.revision

    @rx.event
    def open_create(self):
        self.new_name = ""
        self.new_scopes = [Scope.READ.value]
        self.new_expiry = ""
        self.create_error = ""
        self.new_secret = ""
        self.create_open = True

    @rx.event
    def set_create_open(self, open: bool):
        if self.creating:
            return
        self.create_open = open
        if not open:
            self.new_secret = ""  # shown once: gone when the dialog closes

    @rx.event
    def set_new_name(self, value: str):
        self.new_name = value
        self.create_error = ""

    @rx.event
    def set_new_expiry(self, value: str):
        self.new_expiry = value
        self.create_error = ""

    @rx.event
    def toggle_scope(self, scope: str, on: bool):
        if scope not in {s for s, _ in SCOPES}:
            return
        chosen = [s for s in self.new_scopes if s != scope]
        self.new_scopes = [s for s, _ in SCOPES if s in chosen or (s == scope and on)]
        self.create_error = ""

    @rx.event
    async def create_key(self, form_data: dict):
        if isinstance(form_data.get("name"), str):
            self.new_name = form_data["name"]
        expires_at = None
        if self.new_expiry.strip():
            day = parse_day(self.new_expiry)
            if day is None:
                self.create_error = "The expiry must be a date."
                return
            expires_at = end_of_local_day(day, self._tz())
        self.creating = True
        yield
        try:
            created = await call_service(
                api_keys.create_key,
                self._actor(),
                name=self.new_name,
                scopes=list(self.new_scopes),
                expires_at=expires_at,
                timeout=LOAD_TIMEOUT_SECONDS,
            )
        except LedgerError as error:
            self.creating = False
            if is_signed_out(error):
                yield self._forget(error.message)
                return
            self.create_error = error.message
            return
        self.creating = False
        self.new_secret = created.secret
        await self._reload()

    @rx.event
    def copy_secret(self):
        if not self.new_secret:
            return None
        return [rx.set_clipboard(self.new_secret), rx.toast.success("Copied.")]

    @rx.event
    async def revoke(self, key_id: str):
        self.busy_key = key_id
        yield
        try:
            key = await call_service(
                api_keys.revoke_key, self._actor(), UUID(key_id), timeout=LOAD_TIMEOUT_SECONDS
            )
        except LedgerError as error:
            self.busy_key = ""
            if is_signed_out(error):
                yield self._forget(error.message)
                return
            yield rx.toast.error(f"Not revoked: {error.message}")
            return
        self.busy_key = ""
        await self._reload()
        yield rx.toast.success(f"“{key.name}” is revoked: it is refused from now on.")


def _revoke_button(row: KeyRow) -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(
                "Revoke",
                size="1",
                variant="soft",
                color_scheme="red",
                loading=ApiKeysState.busy_key == row.key_id,
                class_name="revoke-key",
            ),
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Revoke “" + row.name + "”?"),
            rx.alert_dialog.description(
                "Every request with this key is refused from the very next one on. "
                "This cannot be undone; the key stays listed as revoked.",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Revoke key",
                        color_scheme="red",
                        on_click=ApiKeysState.revoke(row.key_id),
                        class_name="confirm-revoke",
                    ),
                ),
                spacing="3",
                justify="end",
                padding_top="12px",
            ),
        ),
    )


_STATE_COLORS = {"Active": "grass", "Expired": "amber", "Revoked": "gray"}


def _key_row(row: KeyRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(row.name, weight="medium", size="2")),
        rx.table.cell(rx.code(row.prefix, size="2", class_name="key-prefix")),
        rx.table.cell(rx.text(row.scopes, size="2")),
        rx.table.cell(rx.text(row.creator, size="2")),
        rx.table.cell(rx.text(row.created, size="2")),
        rx.table.cell(rx.text(row.last_used, size="2", class_name="key-last-used")),
        rx.table.cell(rx.text(row.expires, size="2")),
        rx.table.cell(
            rx.badge(
                row.state,
                color_scheme=rx.match(row.state, *_STATE_COLORS.items(), "gray"),
                variant="soft",
                class_name="key-state",
            )
        ),
        rx.table.cell(rx.cond(row.revocable, _revoke_button(row), rx.fragment()), justify="end"),
        class_name="key-row",
        data_name=row.name,
    )


def _label(text: str, html_for: str) -> rx.Component:
    return rx.text(text, as_="label", html_for=html_for, size="2", weight="medium")


def _create_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.dialog.title("Create an API key"),
            rx.dialog.description(
                "For a system that calls the API on the organization's behalf. "
                "What it writes is recorded as made by this key.",
                size="2",
            ),
            rx.cond(
                ApiKeysState.create_error != "",
                rx.callout(
                    ApiKeysState.create_error,
                    icon="triangle-alert",
                    color_scheme="red",
                    size="1",
                    id="create-key-error",
                ),
            ),
            rx.vstack(
                _label("Name", "key-name"),
                rx.input(
                    name="name",
                    id="key-name",
                    value=ApiKeysState.new_name,
                    on_change=ApiKeysState.set_new_name,
                    placeholder="ERP sync",
                    auto_focus=True,
                    width="100%",
                    size="3",
                ),
                spacing="1",
                width="100%",
            ),
            rx.vstack(
                rx.text("Scopes", size="2", weight="medium"),
                *[
                    rx.text(
                        rx.hstack(
                            rx.checkbox(
                                checked=ApiKeysState.new_scopes.contains(scope),
                                on_change=lambda on, scope=scope: ApiKeysState.toggle_scope(
                                    scope, on
                                ),
                                id=f"scope-{scope}",
                            ),
                            rx.text(scope, weight="medium"),
                            rx.text("— " + help_text, color=rx.color("gray", 11)),
                            spacing="2",
                            align="center",
                        ),
                        as_="label",
                        size="2",
                    )
                    for scope, help_text in SCOPES
                ],
                spacing="2",
                width="100%",
            ),
            rx.vstack(
                _label("Expires (optional)", "key-expiry"),
                rx.input(
                    type="date",
                    id="key-expiry",
                    value=ApiKeysState.new_expiry,
                    on_change=ApiKeysState.set_new_expiry,
                    width="100%",
                ),
                rx.text("Empty: the key works until it is revoked.", size="1"),
                spacing="1",
                width="100%",
            ),
            rx.hstack(
                rx.dialog.close(
                    rx.button("Cancel", type="button", variant="soft", color_scheme="gray")
                ),
                rx.button(
                    "Create key",
                    type="submit",
                    loading=ApiKeysState.creating,
                    disabled=ApiKeysState.new_scopes.length() == 0,
                    id="create-key-submit",
                ),
                justify="end",
                spacing="3",
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=ApiKeysState.create_key,
        reset_on_submit=False,
    )


def _secret_once() -> rx.Component:
    return rx.vstack(
        rx.dialog.title("Copy your new key now"),
        rx.callout(
            "You won't see this key again: it is stored only as a hash. Copy it into the "
            "system that will use it; if it is lost, revoke it and create another.",
            icon="triangle-alert",
            color_scheme="amber",
            size="1",
        ),
        rx.hstack(
            rx.code(
                ApiKeysState.new_secret,
                id="new-key-secret",
                size="2",
                style={"word_break": "break-all"},
            ),
            rx.icon_button(
                rx.icon("copy", size=16),
                on_click=ApiKeysState.copy_secret,
                variant="soft",
                aria_label="Copy the key",
                id="copy-key",
            ),
            align="center",
            spacing="2",
            width="100%",
        ),
        rx.text("Send it as: Authorization: Bearer <key>", size="1"),
        rx.hstack(
            rx.dialog.close(rx.button("Done", id="secret-done")),
            justify="end",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


def _create_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.cond(ApiKeysState.new_secret != "", _secret_once(), _create_form()),
            max_width="560px",
        ),
        open=ApiKeysState.create_open,
        on_open_change=ApiKeysState.set_create_open,
    )


def api_keys_page() -> rx.Component:
    return signed_in_page(
        page_header(
            "API keys",
            rx.button(
                rx.icon("key-round", size=16),
                "Create key",
                on_click=ApiKeysState.open_create,
                id="create-key",
            ),
            subtitle="Keys let other systems read and write through the API, within their scopes.",
        ),
        by_status(
            ApiKeysState.status,
            loading=table_skeleton(5, 6),
            error=load_error(ApiKeysState.problem, ApiKeysState.retry),
            ready=rx.cond(
                ApiKeysState.rows.length() == 0,
                empty_state(
                    "key-round",
                    "No API keys yet",
                    "Create one for each system that uses the API, so each can be revoked alone.",
                ),
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h)
                                for h in (
                                    "Name",
                                    "Key",
                                    "Scopes",
                                    "Created by",
                                    "Created",
                                    "Last used",
                                    "Expires",
                                    "State",
                                    "",
                                )
                            ]
                        )
                    ),
                    rx.table.body(rx.foreach(ApiKeysState.rows, _key_row)),
                    variant="surface",
                    width="100%",
                    id="api-keys-table",
                ),
            ),
        ),
        _create_dialog(),
    )
