"""`/`: the dashboard page — KPIs, the active sources, WACC and capital over time, latest changes."""

from __future__ import annotations

import reflex as rx

from capital_app.ui.components.feedback import block_skeleton, load_error
from capital_app.ui.layout import page_header, signed_in_page
from capital_app.ui.pages.dashboard.activity import activity_card
from capital_app.ui.pages.dashboard.chart import chart_card
from capital_app.ui.pages.dashboard.kpis import kpis
from capital_app.ui.pages.dashboard.sources import sources_card
from capital_app.ui.pages.dashboard.state import DashboardState


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
            kpis(),
        ),
        sources_card(),
        rx.grid(
            chart_card(),
            activity_card(),
            columns=rx.breakpoints(initial="1", lg="2"),
            spacing="4",
            width="100%",
            align="start",
        ),
    )
