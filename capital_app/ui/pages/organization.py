"""`/organization` (ADMIN): the organization's settings — its name and reporting currency.

The name is checked as you type with the same rule every name follows
(domain.values.check_name); saving goes through service.organizations, which
checks the ADMIN role again and records the change in the audit log. The
currency is shown read-only once there is history (every stored amount is in
it); while the organization has none, it can be set. Other roles see no sidebar
entry, and opening the address says plainly that they are not allowed.
"""

from __future__ import annotations

import reflex as rx

from capital_app.domain.dates import format_date
from capital_app.domain.errors import InvalidInput, LedgerError
from capital_app.domain.values import MAX_NAME_LENGTH, Role, check_currency, check_name
from capital_app.service import organizations, sessions
from capital_app.service.actor import Actor
from capital_app.ui.components.feedback import block_skeleton, by_status, load_error, panel
from capital_app.ui.layout import page_header, signed_in_page
from capital_app.ui.state import (
    LOAD_TIMEOUT_SECONDS,
    AppState,
    PageState,
    call_service,
    is_signed_out,
)

NOT_ALLOWED = "Only an administrator can change the organization's settings."


def _name_problem(value: str) -> str:
    try:
        check_name(value)
    except InvalidInput as error:
        return error.errors[0].message
    return ""


def _currency_problem(value: str) -> str:
    try:
        check_currency(value)
    except InvalidInput as error:
        return error.errors[0].message
    return ""


class OrganizationState(PageState, AppState):
    denied: bool = False
    saved_name: str = ""
    saved_currency: str = ""
    created: str = ""
    currency_changeable: bool = False
    draft_name: str = ""
    draft_currency: str = ""
    save_error: str = ""
    saving: bool = False

    def _allowed(self, signed_in: sessions.SignedIn):
        self.denied = signed_in.user.role is not Role.ADMIN
        if self.denied:
            self.status = "ready"
            return rx.noop()
        return None

    async def _fetch(self, actor: Actor, pushed: int | None) -> int:
        settings = await call_service(
            organizations.organization_settings, actor, timeout=LOAD_TIMEOUT_SECONDS
        )
        self._show(settings)
        return self.revision

    def _show(self, settings: organizations.OrganizationSettings) -> None:
        org = settings.organization
        self.saved_name = self.draft_name = org.name
        self.saved_currency = self.draft_currency = org.currency
        self.currency_changeable = settings.currency_changeable
        self.created = format_date(org.created_at, self._tz())
        # The top bar shows the organization's name: keep it in step.
        self.organization_name = org.name
        self.currency = org.currency

    @rx.var
    def name_error(self) -> str:
        return _name_problem(self.draft_name)

    @rx.var
    def currency_error(self) -> str:
        return _currency_problem(self.draft_currency) if self.currency_changeable else ""

    @rx.var
    def changed(self) -> bool:
        return (
            self.draft_name.strip() != self.saved_name
            or self.draft_currency.strip() != self.saved_currency
        )

    @rx.event
    def set_draft(self, field: str, value: str):
        if field == "name":
            self.draft_name = value
        elif field == "currency" and self.currency_changeable:
            self.draft_currency = value.upper()
        self.save_error = ""

    @rx.event
    def reset_draft(self):
        self.draft_name, self.draft_currency = self.saved_name, self.saved_currency
        self.save_error = ""

    @rx.event
    async def save(self, form_data: dict):
        if isinstance(form_data.get("name"), str):
            self.draft_name = form_data["name"]
        if self.name_error or self.currency_error or not self.changed:
            return
        self.saving = True
        yield
        name = self.draft_name if self.draft_name.strip() != self.saved_name else None
        currency = (
            self.draft_currency.strip()
            if self.draft_currency.strip() != self.saved_currency
            else None
        )
        try:
            settings = await call_service(
                organizations.update_organization_settings,
                self._actor(),
                name=name,
                currency=currency,
                timeout=LOAD_TIMEOUT_SECONDS,
            )
        except LedgerError as error:
            self.saving = False
            if is_signed_out(error):
                yield self._forget(error.message)
                return
            self.save_error = error.message
            return
        self.saving = False
        self._show(settings)
        yield rx.toast.success("Saved. The change is in the audit log.")


# --- view ---------------------------------------------------------------------------


def _not_allowed() -> rx.Component:
    return rx.callout(
        rx.text(
            rx.text.strong("Not allowed. "),
            NOT_ALLOWED,
            " Ask an administrator of your organization.",
        ),
        icon="lock",
        color_scheme="amber",
        size="2",
        id="organization-not-allowed",
    )


def _field(label: str, html_for: str, control: rx.Component, error, hint=None) -> rx.Component:
    return rx.vstack(
        rx.text(label, as_="label", html_for=html_for, size="2", weight="medium"),
        control,
        rx.cond(
            error != "",
            rx.text(error, size="1", color=rx.color("red", 11), id=f"{html_for}-error"),
            hint if hint is not None else rx.fragment(),
        ),
        spacing="1",
        width="100%",
        max_width="480px",
    )


def _form() -> rx.Component:
    currency_locked = rx.vstack(
        rx.hstack(
            rx.badge(OrganizationState.saved_currency, size="3", variant="soft", id="org-currency"),
            rx.text("read-only", size="1", color=rx.color("gray", 11)),
            align="center",
            spacing="2",
        ),
        rx.text(
            "The reporting currency cannot change once the organization has history: every "
            "stored amount is in " + OrganizationState.saved_currency + ".",
            size="1",
            color=rx.color("gray", 11),
            id="org-currency-locked",
        ),
        spacing="1",
    )
    currency_input = rx.input(
        name="currency",
        id="org-currency-input",
        value=OrganizationState.draft_currency,
        on_change=lambda v: OrganizationState.set_draft("currency", v),
        max_length=3,
        width="100px",
        size="3",
    )
    return panel(
        "Settings",
        rx.form(
            rx.vstack(
                rx.cond(
                    OrganizationState.save_error != "",
                    rx.callout(
                        OrganizationState.save_error,
                        icon="triangle-alert",
                        color_scheme="red",
                        size="1",
                        id="org-save-error",
                    ),
                ),
                _field(
                    "Organization name",
                    "org-name",
                    rx.input(
                        name="name",
                        id="org-name",
                        value=OrganizationState.draft_name,
                        on_change=lambda v: OrganizationState.set_draft("name", v),
                        max_length=MAX_NAME_LENGTH + 50,
                        width="100%",
                        size="3",
                        auto_focus=True,
                    ),
                    OrganizationState.name_error,
                    rx.text(
                        "Shown in the top bar of every page. Recorded in the audit log.",
                        size="1",
                        color=rx.color("gray", 11),
                    ),
                ),
                _field(
                    "Reporting currency",
                    "org-currency-input",
                    rx.cond(OrganizationState.currency_changeable, currency_input, currency_locked),
                    OrganizationState.currency_error,
                    rx.cond(
                        OrganizationState.currency_changeable,
                        rx.text(
                            "No history yet, so the currency can still be set "
                            "(three capital letters, e.g. KES).",
                            size="1",
                            color=rx.color("gray", 11),
                        ),
                        rx.fragment(),
                    ),
                ),
                rx.text(
                    "Created " + OrganizationState.created, size="1", color=rx.color("gray", 11)
                ),
                rx.hstack(
                    rx.button(
                        "Discard",
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=OrganizationState.reset_draft,
                        disabled=~OrganizationState.changed | OrganizationState.saving,
                    ),
                    rx.button(
                        "Save",
                        type="submit",
                        loading=OrganizationState.saving,
                        disabled=~OrganizationState.changed
                        | (OrganizationState.name_error != "")
                        | (OrganizationState.currency_error != ""),
                        id="org-save",
                    ),
                    spacing="3",
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=OrganizationState.save,
            reset_on_submit=False,
            width="100%",
        ),
        id="organization-settings",
    )


def organization_page() -> rx.Component:
    return signed_in_page(
        page_header(
            "Organization",
            subtitle="The organization's name and the currency every amount is reported in.",
        ),
        rx.cond(
            OrganizationState.denied,
            _not_allowed(),
            by_status(
                OrganizationState.status,
                loading=block_skeleton("240px"),
                error=load_error(OrganizationState.problem, OrganizationState.retry),
                ready=_form(),
            ),
        ),
    )
