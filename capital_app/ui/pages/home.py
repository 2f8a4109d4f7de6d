"""`/`: proves the whole path works — browser → Reflex state → service → PostgreSQL.

A placeholder until the dashboard lands: it shows the demo organization that
`make run` seeds, read through the service layer off the event loop.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from capital_app.domain.errors import LedgerError
from capital_app.service.demo import DEMO_ORGANIZATION
from capital_app.service.errors import NotFound
from capital_app.service.organizations import find_organization
from capital_app.ui.layout import page_frame
from capital_app.ui.state import AppState


class HomeState(AppState):
    """What `/` shows about the demo organization."""

    status: str = "loading"  # loading | ready | missing | unavailable
    organization_name: str = ""
    currency: str = ""
    problem: str = ""

    @rx.event
    async def load(self) -> None:
        try:
            org = await asyncio.to_thread(find_organization, DEMO_ORGANIZATION)
        except NotFound:
            self.status = "missing"
            return
        except LedgerError as error:
            self.status = "unavailable"
            self.problem = error.message
            return
        self.organization_name = org.name
        self.currency = org.currency
        self.problem = ""
        self.status = "ready"


def _organization() -> rx.Component:
    return rx.match(
        HomeState.status,
        (
            "ready",
            rx.vstack(
                rx.text("Organization", size="2", color_scheme="gray"),
                rx.heading(HomeState.organization_name, id="organization-name", size="6"),
                rx.text("Reporting currency: ", HomeState.currency, id="organization-currency"),
            ),
        ),
        (
            "missing",
            rx.callout(
                "The demo organization does not exist yet: run `capital-app seed-demo`.",
                color_scheme="amber",
                id="organization-missing",
            ),
        ),
        (
            "unavailable",
            rx.callout(HomeState.problem, color_scheme="red", id="organization-unavailable"),
        ),
        rx.skeleton(rx.text("Loading the organization…"), loading=True),
    )


def home() -> rx.Component:
    return page_frame(_organization())
