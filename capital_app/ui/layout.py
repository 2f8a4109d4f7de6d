"""The frame around every page (the sidebar and top bar arrive with the UI work)."""

from __future__ import annotations

import reflex as rx

PRODUCT_NAME = "Capital Ledger"


def page_frame(*children: rx.Component) -> rx.Component:
    """A centred column with the product name on top."""
    return rx.container(
        rx.vstack(
            rx.heading(PRODUCT_NAME, size="8"),
            *children,
            spacing="4",
            padding_y="8",
        ),
        size="3",
    )
