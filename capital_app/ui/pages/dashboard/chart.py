"""The chart card: WACC and total capital over time, in a chosen range."""

from __future__ import annotations

import reflex as rx

from capital_app.ui.components.feedback import block_skeleton, load_error, panel
from capital_app.ui.pages.dashboard.presenters import RANGES
from capital_app.ui.pages.dashboard.state import DashboardState

AFTER_TAX = "WACC after tax"


def chart_card() -> rx.Component:
    formatter = (
        "(value, name, item) => name === 'WACC' ? item.payload.wacc_text"
        f" : name === '{AFTER_TAX}' ? item.payload.after_tax_text : item.payload.total_text"
    )
    chart = rx.recharts.composed_chart(
        rx.recharts.cartesian_grid(
            stroke_dasharray="3 3", vertical=False, stroke=rx.color("gray", 5)
        ),
        rx.recharts.area(
            data_key="total",
            name="Total capital",
            y_axis_id="total",
            type_="stepAfter",
            stroke=rx.color("accent", 9),
            fill=rx.color("accent", 4),
            is_animation_active=False,
        ),
        rx.recharts.line(
            data_key="wacc_bp",
            name="WACC",
            y_axis_id="wacc",
            type_="stepAfter",
            stroke=rx.color("orange", 9),
            stroke_width=2,
            dot=False,
            is_animation_active=False,
        ),
        rx.recharts.line(  # points without a tax rate in force carry no value: a gap
            data_key="after_tax_bp",
            name=AFTER_TAX,
            y_axis_id="wacc",
            type_="stepAfter",
            stroke=rx.color("orange", 7),
            stroke_width=2,
            stroke_dasharray="5 3",
            dot=False,
            is_animation_active=False,
        ),
        rx.recharts.x_axis(data_key="label", tick_line=False, min_tick_gap=24, font_size=12),
        rx.recharts.y_axis(
            y_axis_id="total",
            tick_formatter="(v) => new Intl.NumberFormat('en', {notation: 'compact', maximumFractionDigits: 1}).format(v)",
            width=56,
            font_size=12,
        ),
        rx.recharts.y_axis(
            y_axis_id="wacc",
            orientation="right",
            tick_formatter="(v) => (v / 100).toFixed(2) + ' %'",
            width=76,
            font_size=12,
            domain=["auto", "auto"],
        ),
        rx.recharts.graphing_tooltip(
            custom_attrs={
                "formatter": rx.Var(formatter),
                "labelFormatter": rx.Var(
                    "(label, payload) => payload && payload.length ? payload[0].payload.day : label"
                ),
            }
        ),
        rx.recharts.legend(vertical_align="top", height=28),
        data=DashboardState.chart_head + DashboardState.chart_tail,
        margin={"top": 8, "right": 8, "left": 8, "bottom": 0},
        width="100%",
        height=280,
    )
    return panel(
        "WACC and total capital",
        rx.match(
            DashboardState.chart_status,
            ("ready", rx.box(chart, width="100%", id="wacc-chart")),
            ("error", load_error(DashboardState.chart_problem, DashboardState.load_chart)),
            block_skeleton("280px"),
        ),
        rx.segmented_control.root(
            *[rx.segmented_control.item(r, value=r) for r in RANGES],
            value=DashboardState.chart_range,
            on_change=DashboardState.set_range,
            size="1",
            id="chart-range",
        ),
    )
