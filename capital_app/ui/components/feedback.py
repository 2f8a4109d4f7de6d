"""Loading, empty and failed states: skeletons, a next step, and a way to retry."""

from __future__ import annotations

from typing import Any

import reflex as rx


def table_skeleton(rows: int = 6, columns: int = 5, **props: Any) -> rx.Component:
    """A table-shaped placeholder while rows load (never a blank page)."""
    return rx.vstack(
        *[
            rx.hstack(
                *[
                    rx.skeleton(rx.box(height="18px", width="100%"), loading=True)
                    for _ in range(columns)
                ],
                spacing="4",
                width="100%",
            )
            for _ in range(rows)
        ],
        spacing="3",
        width="100%",
        padding_y="12px",
        aria_busy="true",
        aria_label="Loading",
        **props,
    )


def block_skeleton(height: str = "120px", **props: Any) -> rx.Component:
    return rx.skeleton(rx.box(height=height, width="100%"), loading=True, **props)


def empty_state(
    icon: str, title: str, text: Any, *actions: rx.Component, **props: Any
) -> rx.Component:
    """Nothing to show yet, and what to do about it."""
    return rx.center(
        rx.vstack(
            rx.box(
                rx.icon(icon, size=28, color=rx.color("accent", 10)),
                padding="12px",
                border_radius="full",
                background=rx.color("accent", 3),
            ),
            rx.heading(title, size="4", weight="medium"),
            rx.text(text, color=rx.color("gray", 11), size="2", align="center", max_width="44ch"),
            rx.hstack(*actions, spacing="3", padding_top="8px"),
            align="center",
            spacing="2",
        ),
        padding_y="64px",
        width="100%",
        border=f"1px dashed {rx.color('gray', 6)}",
        border_radius="var(--radius-4)",
        **props,
    )


def load_error(problem: Any, on_retry: Any, **props: Any) -> rx.Component:
    """A failed load says why and offers Retry (nothing spins forever)."""
    return rx.callout.root(
        rx.callout.icon(rx.icon("triangle-alert")),
        rx.callout.text(
            rx.hstack(
                rx.text(problem),
                rx.button(
                    rx.icon("rotate-cw", size=14),
                    "Retry",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=on_retry,
                    id="retry-load",
                ),
                align="center",
                spacing="3",
                wrap="wrap",
            )
        ),
        color_scheme="red",
        role="alert",
        id="load-error",
        **props,
    )


def by_status(status: Any, *, loading: rx.Component, ready: rx.Component, error: rx.Component):
    return rx.match(status, ("ready", ready), ("error", error), loading)


def saving_badge(label: Any = "Saving…") -> rx.Component:
    """The mark of a pending (not yet confirmed) row."""
    return rx.hstack(
        rx.spinner(size="1"),
        rx.text(label, size="1", color=rx.color("gray", 10)),
        spacing="1",
        align="center",
        display="inline-flex",
        margin_left="8px",
        vertical_align="middle",
        class_name="pending-mark",
    )


def panel(title: str, body: rx.Component, *actions: rx.Component, **props: Any) -> rx.Component:
    """A titled card: the heading, its actions on the right, then the content."""
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(title, size="4"),
                rx.spacer(),
                *actions,
                width="100%",
                align="center",
            ),
            body,
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
        **props,
    )


def item_list(items: Any, render: Any, empty: str, **props: Any) -> rx.Component:
    """Stacked items (activity, a timeline), or one quiet line when there are none."""
    return rx.cond(
        items.length() > 0,
        rx.vstack(rx.foreach(items, render), spacing="0", width="100%", **props),
        rx.text(empty, size="2", color=rx.color("gray", 10), padding_y="12px"),
    )
