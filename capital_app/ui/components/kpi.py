"""A KPI card: a label, one generous number (exact on hover), and how it moved."""

from __future__ import annotations

from typing import Any

import reflex as rx

from capital_app.ui.components.figures import TABULAR


def kpi_card(
    label: str,
    value: Any,
    *,
    exact: Any = None,
    note: Any = "",
    note_color: Any = None,
    icon: str = "",
    id: str = "",
) -> rx.Component:
    number = rx.text(
        value, size="7", weight="bold", style=TABULAR, id=f"{id}-value" if id else None
    )
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(label, size="2", color=rx.color("gray", 11), weight="medium"),
                rx.spacer(),
                *([rx.icon(icon, size=16, color=rx.color("gray", 9))] if icon else []),
                width="100%",
                align="center",
            ),
            rx.tooltip(number, content=exact) if exact is not None else number,
            rx.text(
                note,
                size="1",
                color=note_color if note_color is not None else rx.color("gray", 10),
                style=TABULAR,
                id=f"{id}-note" if id else None,
            ),
            spacing="1",
            align="start",
        ),
        size="2",
        width="100%",
        id=id or None,
    )
