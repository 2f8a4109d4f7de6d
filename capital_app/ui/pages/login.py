"""`/login`: email and password, checked (and throttled) by the service layer.

An email may have accounts in several organizations. Only when the password fits
more than one of them does the form ask which organization (listing just those).

The session token goes to the browser's localStorage; every later page load
resumes it on the server. A page that found no valid session sends people here
with the reason (expired, signed out, deactivated), and with the page it was (`next`,
its view included: a shared link opens exactly that view once signed in).
"""

from __future__ import annotations

import reflex as rx

from capital_app.domain.errors import LedgerError
from capital_app.service import sessions
from capital_app.service.errors import OrganizationNeeded
from capital_app.ui.layout import PRODUCT_NAME
from capital_app.ui.navigation import safe_next
from capital_app.ui.state import LOAD_TIMEOUT_SECONDS, AppState, call_service


class LoginState(AppState):
    email: str = ""
    error: str = ""
    busy: bool = False
    # Offered only after the password proved to fit each of them (id and name).
    organizations: list[dict[str, str]] = []
    organizations_for: str = ""  # the email they were offered for

    def _next(self) -> str:
        """Where to go once signed in: the page (and view) that sent people here, else home."""
        return safe_next(self.router.url.query_parameters.get("next"))

    @rx.event
    async def load(self):
        """Already signed in (a valid session in this browser)? Go straight in."""
        if not self.session_token:
            return None
        try:
            await self._resume()
        except LedgerError as error:
            self.session_token = ""
            self.auth_message = error.message
            return None
        return rx.redirect(self._next(), replace=True)

    @rx.event
    async def sign_in(self, form_data: dict):
        email = str(form_data.get("email") or "").strip()
        password = str(form_data.get("password") or "")
        organization = str(form_data.get("organization") or "").strip() or None
        if email.lower() != self.organizations_for:
            organization = None  # a choice offered for another email does not apply
            self.organizations = []
        self.email = email
        if not email or not password:
            self.error = "Enter your email and password."
            return
        self.busy = True
        self.error = ""
        yield
        try:
            new = await call_service(
                sessions.sign_in,
                email,
                password,
                self._client_address(),
                organization,
                timeout=LOAD_TIMEOUT_SECONDS,
            )
        except OrganizationNeeded as error:
            self.busy = False
            self.error = error.message
            self.organizations = [{"id": str(i), "name": n} for i, n in error.organizations]
            self.organizations_for = email.lower()
            return
        except LedgerError as error:
            self.busy = False
            self.error = error.message
            self.organizations = []
            self.organizations_for = ""
            return
        self.organizations = []
        self.organizations_for = ""
        self.session_token = new.token
        self.auth_message = ""
        self._remember(new.signed_in)
        self.busy = False
        yield rx.redirect(self._next(), replace=True)


def login() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.hstack(
                rx.box(
                    rx.icon("chart-no-axes-combined", size=22, color="white"),
                    background=rx.color("accent", 9),
                    padding="8px",
                    border_radius="var(--radius-3)",
                    line_height="0",
                ),
                rx.heading(PRODUCT_NAME, size="6"),
                align="center",
                spacing="3",
            ),
            rx.card(
                rx.form(
                    rx.vstack(
                        rx.heading("Sign in", size="5"),
                        rx.text(
                            "Your organization's capital sources and WACC, with every change on record.",
                            size="2",
                            color=rx.color("gray", 11),
                        ),
                        rx.cond(
                            AppState.auth_message != "",
                            rx.callout(
                                AppState.auth_message, icon="info", size="1", id="login-notice"
                            ),
                        ),
                        rx.cond(
                            LoginState.error != "",
                            rx.callout(
                                LoginState.error,
                                icon="triangle-alert",
                                color_scheme="red",
                                size="1",
                                id="login-error",
                                role="alert",
                            ),
                        ),
                        rx.vstack(
                            rx.text(
                                "Email",
                                as_="label",
                                html_for="login-email",
                                size="2",
                                weight="medium",
                            ),
                            rx.input(
                                name="email",
                                id="login-email",
                                type="email",
                                auto_focus=True,
                                auto_complete="username",
                                required=True,
                                size="3",
                                width="100%",
                                default_value=LoginState.email,
                            ),
                            spacing="1",
                            width="100%",
                        ),
                        rx.vstack(
                            rx.text(
                                "Password",
                                as_="label",
                                html_for="login-password",
                                size="2",
                                weight="medium",
                            ),
                            rx.input(
                                name="password",
                                id="login-password",
                                type="password",
                                auto_complete="current-password",
                                required=True,
                                size="3",
                                width="100%",
                            ),
                            spacing="1",
                            width="100%",
                        ),
                        rx.cond(
                            LoginState.organizations.length() > 0,
                            rx.vstack(
                                rx.text(
                                    "Organization",
                                    as_="label",
                                    html_for="login-organization",
                                    size="2",
                                    weight="medium",
                                ),
                                rx.el.select(
                                    rx.foreach(
                                        LoginState.organizations,
                                        lambda o: rx.el.option(o["name"], value=o["id"]),
                                    ),
                                    name="organization",
                                    id="login-organization",
                                    style={
                                        "width": "100%",
                                        "padding": "8px",
                                        "border_radius": "var(--radius-2)",
                                        "border": "1px solid var(--gray-7)",
                                        "background": "var(--color-surface)",
                                    },
                                ),
                                spacing="1",
                                width="100%",
                            ),
                        ),
                        rx.button(
                            rx.cond(LoginState.busy, rx.spinner(size="2"), rx.fragment()),
                            "Sign in",
                            type="submit",
                            size="3",
                            width="100%",
                            disabled=LoginState.busy,
                            id="login-submit",
                        ),
                        spacing="4",
                        width="100%",
                    ),
                    on_submit=LoginState.sign_in,
                    reset_on_submit=False,
                    width="100%",
                ),
                size="4",
                width="100%",
            ),
            spacing="5",
            align="center",
            width="400px",
            max_width="92vw",
        ),
        min_height="100vh",
        background=rx.color("gray", 2),
    )
