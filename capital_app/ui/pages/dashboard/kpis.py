"""The KPI cards: total capital, WACC, WACC after tax, active sources, WACC change over
30 days; above them, a missing FX rate in words (the total is then unknown, not zero)."""

from __future__ import annotations

import reflex as rx

from capital_app.ui.components.figures import TABULAR
from capital_app.ui.components.kpi import kpi_card
from capital_app.ui.pages.dashboard.state import DashboardState


def kpis() -> rx.Component:
    delta_color = rx.match(
        DashboardState.kpi_delta_tone,
        ("up", rx.color("red", 11)),
        ("down", rx.color("grass", 11)),
        rx.color("gray", 11),
    )
    return rx.vstack(
        rx.cond(
            DashboardState.kpi_problem != "",
            rx.callout(
                DashboardState.kpi_problem
                + " Record it on the Rates page; until then the total and WACC are unknown.",
                icon="triangle-alert",
                color_scheme="red",
                size="2",
                width="100%",
                id="fx-missing",
                role="alert",
            ),
        ),
        _cards(delta_color),
        spacing="3",
        width="100%",
    )


def _cards(delta_color: rx.Var) -> rx.Component:
    return rx.grid(
        kpi_card(
            "Total capital",
            DashboardState.kpi_total,
            exact=DashboardState.kpi_total_exact,
            note=DashboardState.kpi_total_note,
            icon="wallet",
            id="kpi-total",
        ),
        kpi_card(
            "WACC",
            DashboardState.kpi_wacc,
            note=DashboardState.kpi_wacc_note,
            icon="percent",
            id="kpi-wacc",
        ),
        kpi_card(
            "WACC after tax",
            DashboardState.kpi_after_tax,
            note=DashboardState.kpi_after_tax_note,
            icon="receipt",
            id="kpi-after-tax",
        ),
        kpi_card(
            "Active sources",
            DashboardState.kpi_count,
            note=DashboardState.kpi_count_note,
            icon="landmark",
            id="kpi-count",
        ),
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.text(
                        "Change in WACC, 30 days",
                        size="2",
                        color=rx.color("gray", 11),
                        weight="medium",
                    ),
                    rx.spacer(),
                    rx.icon("activity", size=16, color=rx.color("gray", 9)),
                    width="100%",
                ),
                rx.text(
                    DashboardState.kpi_delta,
                    size="7",
                    weight="bold",
                    color=delta_color,
                    style=TABULAR,
                    id="kpi-delta-value",
                ),
                rx.text(
                    DashboardState.kpi_delta_note,
                    size="1",
                    color=rx.color("gray", 10),
                    style=TABULAR,
                ),
                spacing="1",
                align="start",
            ),
            size="2",
            width="100%",
            id="kpi-delta",
        ),
        columns=rx.breakpoints(initial="1", sm="2", lg="5"),
        spacing="4",
        width="100%",
    )
