"""Numbers as a finance user reads them: tabular figures, right-aligned, exact on hover.

One money cell and one rate cell, used by every table; the text they show comes
from the one formatting helper of each kind (domain/money.py).
"""

from __future__ import annotations

from typing import Any

import reflex as rx

TABULAR = {"font_variant_numeric": "tabular-nums", "white_space": "nowrap"}
# Read by screen readers, not shown (e.g. the header of an actions column).
VISUALLY_HIDDEN = {
    "position": "absolute",
    "width": "1px",
    "height": "1px",
    "overflow": "hidden",
    "clip": "rect(0 0 0 0)",
    "white_space": "nowrap",
}


def figure(text: Any, **props: Any) -> rx.Component:
    """A number in running text or a card: tabular, never wrapped."""
    return rx.text(text, as_="span", style=TABULAR, **props)


def money_cell(text: Any, *, muted: Any = False, **props: Any) -> rx.Component:
    """'KES 1,234,567.89', right-aligned in its table column.

    The text sits directly in the cell (no wrapper component): tables repeat this
    hundreds of times.
    """
    return rx.table.cell(
        text,
        justify="end",
        style=TABULAR,
        color=rx.cond(muted, rx.color("gray", 10), rx.color("gray", 12)),
        **props,
    )


def rate_cell(text: Any, *, muted: Any = False, **props: Any) -> rx.Component:
    """'13.25 %', right-aligned in its table column."""
    return money_cell(text, muted=muted, **props)


def numeric_header(label: str, **props: Any) -> rx.Component:
    return rx.table.column_header_cell(label, justify="end", **props)


def change_text(before: Any, after: Any, size: str = "2") -> rx.Component:
    """'old → new', the new value emphasized; just the new value when nothing came before."""
    return rx.hstack(
        rx.cond(
            before != "",
            rx.hstack(
                figure(before, color=rx.color("gray", 10), size=size),
                rx.text("→", as_="span", color=rx.color("gray", 9), size=size),
                spacing="1",
            ),
        ),
        figure(after, weight="bold", size=size),
        spacing="1",
        align="center",
        wrap="wrap",
    )


def hover_exact(text: Any, exact: Any, *, size: str | None = None, **style: Any) -> rx.Component:
    """A short text with its exact form (a UTC time, a full amount) on hover.

    A native title, not a Radix tooltip: tables render hundreds of these, and a
    tooltip per cell costs the browser seconds on a large page.
    """
    if size is not None:
        style["font_size"] = f"var(--font-size-{size})"
    return rx.el.span(text, title=exact, style={**TABULAR, "cursor": "help", **style})
