"""`/users` (ADMIN): the organization's people — add, change role, deactivate.

Every action goes through service.users, which checks that the acting user is
an ADMIN (read fresh) and that the organization keeps an active ADMIN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import reflex as rx

from capital_app.domain.dates import format_date
from capital_app.domain.errors import InvalidInput, LedgerError
from capital_app.domain.values import Role, check_email, check_name, check_password_rules
from capital_app.service import sessions
from capital_app.service import users as user_service
from capital_app.service.actor import Actor
from capital_app.ui.components.feedback import by_status, load_error, table_skeleton
from capital_app.ui.layout import page_header, signed_in_page
from capital_app.ui.state import (
    HOME_ROUTE,
    LOAD_TIMEOUT_SECONDS,
    AppState,
    PageState,
    call_service,
    is_signed_out,
)

ROLES = [Role.ADMIN.value, Role.EDITOR.value, Role.VIEWER.value]
ROLE_HELP = {
    Role.ADMIN.value: "Everything, and manages users",
    Role.EDITOR.value: "Views and changes the capital history",
    Role.VIEWER.value: "Views only",
}


@dataclass
class UserRow:
    user_id: str = ""
    name: str = ""
    email: str = ""
    role: str = ""
    active: bool = True
    since: str = ""
    is_me: bool = False


def _first_message(check: Any, value: Any) -> str:
    try:
        check(value)
    except InvalidInput as error:
        return error.errors[0].message
    return ""


class UsersState(PageState, AppState):
    rows: list[UserRow] = []
    busy_user: str = ""

    add_open: bool = False
    new_email: str = ""
    new_name: str = ""
    new_role: str = Role.VIEWER.value
    new_password: str = ""
    add_touched: list[str] = []
    add_error: str = ""
    adding: bool = False

    def _allowed(self, signed_in: sessions.SignedIn):
        if signed_in.user.role is not Role.ADMIN:
            return [
                rx.redirect(HOME_ROUTE, replace=True),
                rx.toast.warning("Only an administrator can manage users."),
            ]
        return None

    async def _fetch(self, actor: Actor, pushed: int | None) -> int:
        found = await call_service(user_service.list_users, actor, timeout=LOAD_TIMEOUT_SECONDS)
        tz = self._tz()
        self.rows = [
            UserRow(
                user_id=str(u.id),
                name=u.name,
                email=u.email,
                role=u.role.value,
                active=u.active,
                since=format_date(u.created_at, tz),
                is_me=str(u.id) == self.user_id,
            )
            for u in found
        ]
        return self.revision

    @rx.var
    def add_errors(self) -> dict[str, str]:
        found = {
            "email": _first_message(check_email, self.new_email),
            "name": _first_message(check_name, self.new_name),
            "password": _first_message(check_password_rules, self.new_password),
        }
        return {k: v for k, v in found.items() if v}

    @rx.var
    def shown_add_errors(self) -> dict[str, str]:
        return {k: v for k, v in self.add_errors.items() if k in self.add_touched}

    async def _update(self, user_id: str, **changes: Any):
        self.busy_user = user_id
        yield
        try:
            await call_service(
                user_service.update_user,
                self._actor(),
                UUID(user_id),
                **changes,
                timeout=LOAD_TIMEOUT_SECONDS,
            )
        except LedgerError as error:
            self.busy_user = ""
            if is_signed_out(error):
                yield self._forget(error.message)
                return
            yield rx.toast.error(f"Not saved: {error.message}")
            yield UsersState.retry
            return
        self.busy_user = ""
        await self._reload()
        yield rx.toast.success("Saved.")

    @rx.event
    async def change_role(self, user_id: str, role: str):
        async for update in self._update(user_id, role=role):
            yield update

    @rx.event
    async def set_active(self, user_id: str, active: bool):
        async for update in self._update(user_id, active=active):
            yield update

    @rx.event
    def open_add(self):
        self.new_email = self.new_name = self.new_password = ""
        self.new_role = Role.VIEWER.value
        self.add_touched = []
        self.add_error = ""
        self.add_open = True

    @rx.event
    def set_add_open(self, open: bool):
        if not self.adding:
            self.add_open = open

    @rx.event
    def set_new(self, field: str, value: str):
        if field not in ("email", "name", "password", "role"):
            return
        setattr(self, f"new_{field}", value)
        if field not in self.add_touched:
            self.add_touched = [*self.add_touched, field]
        self.add_error = ""

    @rx.event
    async def add_user(self, form_data: dict):
        for field in ("email", "name", "password"):
            if isinstance(form_data.get(field), str):
                setattr(self, f"new_{field}", form_data[field])
        self.add_touched = ["email", "name", "password"]
        if self.add_errors:
            return
        self.adding = True
        yield
        try:
            created = await call_service(
                user_service.create_user,
                self._actor(),
                email=self.new_email,
                name=self.new_name,
                role=self.new_role,
                password=self.new_password,
                timeout=LOAD_TIMEOUT_SECONDS,
            )
        except LedgerError as error:
            self.adding = False
            if is_signed_out(error):
                yield self._forget(error.message)
                return
            self.add_error = error.message
            return
        self.adding = False
        self.add_open = False
        self.new_password = ""
        await self._reload()
        yield rx.toast.success(f"{created.name} can now sign in as {created.role.value}.")


def _role_select(row: UserRow) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(variant="ghost", aria_label="Role of " + row.name),
        rx.select.content(*[rx.select.item(role, value=role) for role in ROLES]),
        value=row.role,
        on_change=lambda role: UsersState.change_role(row.user_id, role),
        disabled=row.is_me | (UsersState.busy_user == row.user_id),
        size="2",
    )


def _user_row(row: UserRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.hstack(
                rx.avatar(fallback=row.name[:1], size="2", radius="full", variant="soft"),
                rx.vstack(
                    rx.hstack(
                        rx.text(row.name, weight="medium", size="2"),
                        rx.cond(row.is_me, rx.badge("You", size="1", variant="outline")),
                        spacing="2",
                    ),
                    rx.text(row.email, size="1", color=rx.color("gray", 11)),
                    spacing="0",
                ),
                spacing="3",
                align="center",
            )
        ),
        rx.table.cell(_role_select(row)),
        rx.table.cell(
            rx.badge(
                rx.cond(row.active, "Active", "Deactivated"),
                color_scheme=rx.cond(row.active, "grass", "gray"),
                variant="soft",
            )
        ),
        rx.table.cell(rx.text(row.since, size="2")),
        rx.table.cell(
            rx.cond(
                row.is_me,
                rx.fragment(),
                rx.cond(
                    row.active,
                    rx.alert_dialog.root(
                        rx.alert_dialog.trigger(
                            rx.button(
                                "Deactivate",
                                size="1",
                                variant="soft",
                                color_scheme="red",
                                loading=UsersState.busy_user == row.user_id,
                                class_name="deactivate",
                            ),
                        ),
                        rx.alert_dialog.content(
                            rx.alert_dialog.title("Deactivate " + row.name + "?"),
                            rx.alert_dialog.description(
                                "They are signed out at once and cannot sign in or use the API. "
                                "Their entries in the history stay as recorded.",
                            ),
                            rx.hstack(
                                rx.alert_dialog.cancel(
                                    rx.button("Cancel", variant="soft", color_scheme="gray")
                                ),
                                rx.alert_dialog.action(
                                    rx.button(
                                        "Deactivate",
                                        color_scheme="red",
                                        on_click=UsersState.set_active(row.user_id, False),
                                        class_name="confirm-deactivate",
                                    ),
                                ),
                                spacing="3",
                                justify="end",
                                padding_top="12px",
                            ),
                        ),
                    ),
                    rx.button(
                        "Reactivate",
                        size="1",
                        variant="soft",
                        loading=UsersState.busy_user == row.user_id,
                        on_click=UsersState.set_active(row.user_id, True),
                        class_name="reactivate",
                    ),
                ),
            ),
            justify="end",
        ),
        class_name="user-row",
        data_email=row.email,
    )


def _add_field(field: str, label: str, control: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.text(label, as_="label", html_for=f"new-{field}", size="2", weight="medium"),
        control,
        rx.cond(
            UsersState.shown_add_errors.contains(field),
            rx.text(
                UsersState.shown_add_errors[field],
                size="1",
                color=rx.color("red", 11),
                id=f"new-{field}-error",
            ),
        ),
        spacing="1",
        width="100%",
    )


def _add_dialog() -> rx.Component:
    def text_input(field: str, **props: Any) -> rx.Component:
        return rx.input(
            name=field,
            id=f"new-{field}",
            value=getattr(UsersState, f"new_{field}"),
            on_change=lambda v: UsersState.set_new(field, v),
            width="100%",
            size="3",
            **props,
        )

    return rx.dialog.root(
        rx.dialog.content(
            rx.form(
                rx.vstack(
                    rx.dialog.title("Add a user"),
                    rx.dialog.description("They sign in with this email and password.", size="2"),
                    rx.cond(
                        UsersState.add_error != "",
                        rx.callout(
                            UsersState.add_error,
                            icon="triangle-alert",
                            color_scheme="red",
                            size="1",
                            id="add-user-error",
                        ),
                    ),
                    _add_field("name", "Name", text_input("name", auto_focus=True)),
                    _add_field("email", "Email", text_input("email", type="email")),
                    _add_field(
                        "role",
                        "Role",
                        rx.select.root(
                            rx.select.trigger(width="100%"),
                            rx.select.content(
                                *[rx.select.item(f"{r} — {ROLE_HELP[r]}", value=r) for r in ROLES]
                            ),
                            value=UsersState.new_role,
                            on_change=lambda v: UsersState.set_new("role", v),
                        ),
                    ),
                    _add_field(
                        "password",
                        "Initial password",
                        text_input("password", type="password", auto_complete="new-password"),
                    ),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", type="button", variant="soft", color_scheme="gray")
                        ),
                        rx.button(
                            "Add user",
                            type="submit",
                            loading=UsersState.adding,
                            disabled=UsersState.add_errors.length() > 0,
                            id="add-user-submit",
                        ),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="4",
                    width="100%",
                ),
                on_submit=UsersState.add_user,
                reset_on_submit=False,
            ),
            max_width="480px",
        ),
        open=UsersState.add_open,
        on_open_change=UsersState.set_add_open,
    )


def users() -> rx.Component:
    return signed_in_page(
        page_header(
            "Users",
            rx.button(
                rx.icon("user-plus", size=16),
                "Add user",
                on_click=UsersState.open_add,
                id="add-user",
            ),
            subtitle="Who can sign in to your organization, and what they may do.",
        ),
        by_status(
            UsersState.status,
            loading=table_skeleton(5, 4),
            error=load_error(UsersState.problem, UsersState.retry),
            ready=rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("User"),
                        rx.table.column_header_cell("Role"),
                        rx.table.column_header_cell("Status"),
                        rx.table.column_header_cell("Since"),
                        rx.table.column_header_cell(""),
                    )
                ),
                rx.table.body(rx.foreach(UsersState.rows, _user_row)),
                variant="surface",
                width="100%",
                id="users-table",
            ),
        ),
        _add_dialog(),
    )
