"""The as-of control (top bar), the banner that marks a past view as read-only, and the
notice that a link's value could not be used."""

from __future__ import annotations

import reflex as rx

from capital_app.ui.state import AppState


def _date_input(value, on_change, label: str, id: str) -> rx.Component:
    return rx.input(
        type="date",
        value=value,
        max=AppState.today,
        min="1900-01-01",
        on_change=on_change,
        size="2",
        aria_label=label,
        id=id,
        width="150px",
    )


def as_of_control() -> rx.Component:
    """As of [date] [Today]  [Advanced → As known at [date]]."""
    return rx.hstack(
        rx.text("As of", size="2", color=rx.color("gray", 11), as_="label", html_for="as-of-date"),
        _date_input(
            AppState.as_of_input,
            AppState.set_as_of,
            "As of date",
            "as-of-date",
        ),
        rx.button(
            "Today",
            size="2",
            variant=rx.cond(AppState.is_past, "solid", "soft"),
            on_click=AppState.back_to_today,
            disabled=~AppState.is_past,
            id="as-of-today",
        ),
        rx.cond(
            AppState.show_known_at,
            rx.hstack(
                rx.text(
                    "As known at",
                    size="2",
                    color=rx.color("gray", 11),
                    as_="label",
                    html_for="known-at-date",
                ),
                _date_input(
                    AppState.known_at_input,
                    AppState.set_known_at,
                    "As known at date",
                    "known-at-date",
                ),
                spacing="2",
                align="center",
            ),
        ),
        rx.tooltip(
            rx.icon_button(
                rx.icon("history", size=16),
                size="2",
                variant=rx.cond(AppState.show_known_at, "soft", "ghost"),
                on_click=AppState.toggle_known_at,
                aria_label="Advanced: as known at",
                id="as-of-advanced",
            ),
            content="Advanced: what the ledger knew at an earlier date",
        ),
        spacing="2",
        align="center",
        id="as-of-control",
    )


def past_view_banner() -> rx.Component:
    """Full width: 'Viewing 31 Jan 2026 as known on 1 Mar 2026 — read-only' + Back to today."""
    return rx.cond(
        AppState.is_past,
        rx.hstack(
            rx.icon("clock", size=18),
            rx.text(AppState.past_view_text, weight="medium", id="past-view-text"),
            rx.cond(
                AppState.newer_data,
                rx.text(
                    "· Newer changes have been recorded since.",
                    size="2",
                    id="past-view-newer",
                ),
            ),
            rx.spacer(),
            rx.button(
                rx.icon("undo-2", size=14),
                "Back to today",
                size="2",
                color_scheme="amber",
                variant="solid",
                on_click=AppState.back_to_today,
                id="back-to-today",
            ),
            width="100%",
            align="center",
            padding_x="24px",
            padding_y="8px",
            background=rx.color("amber", 4),
            color=rx.color("amber", 12),
            border_bottom=f"1px solid {rx.color('amber', 7)}",
            role="status",
            id="past-view-banner",
        ),
    )


def view_problem_notice() -> rx.Component:
    """'This link's as-of date “notadate” is not a date …; showing today.' (from the URL)."""
    return rx.cond(
        AppState.view_problem != "",
        rx.callout(
            AppState.view_problem,
            icon="triangle-alert",
            color_scheme="orange",
            size="1",
            role="alert",
            id="view-problem",
            margin_x="32px",
            margin_top="16px",
        ),
    )
