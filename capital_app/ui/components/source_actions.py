"""Row actions on an active source (Change amount, Change rate, Remove) for editors."""

from __future__ import annotations

from typing import Any

import reflex as rx

from capital_app.ui.edits import AMOUNT, RATE, REMOVE, EditState
from capital_app.ui.state import AppState

# (edit, icon, label, colour): the actions on an active source, in this order everywhere.
SOURCE_ACTIONS = (
    (AMOUNT, "banknote", "Change amount", "gray"),
    (RATE, "percent", "Change rate", "gray"),
    (REMOVE, "trash-2", "Remove", "red"),
)


def source_actions(
    source_id: Any, name: Any, *, disabled: Any = False, can_edit: Any = None
) -> rx.Component:
    """Three small buttons; absent for viewers and in past views (editing is disabled there).

    `can_edit` defaults to AppState.can_edit; a memoized row passes it as a prop, so
    the row reads no state context (a context change would re-render every row).
    """
    return rx.cond(
        AppState.can_edit if can_edit is None else can_edit,
        rx.hstack(
            *[
                rx.icon_button(
                    rx.icon(icon, size=15),
                    variant="ghost",
                    color_scheme=color,
                    size="1",
                    disabled=disabled,
                    on_click=EditState.open_change(kind, source_id),
                    aria_label=label + " of " + name,
                    title=label,
                    class_name=f"action-{kind}",
                )
                for kind, icon, label, color in SOURCE_ACTIONS
            ],
            spacing="3",
            justify="end",
            class_name="row-actions",
        ),
    )


def add_source_button(**props: Any) -> rx.Component:
    return rx.cond(
        AppState.can_edit,
        rx.button(
            rx.icon("plus", size=16),
            "Add source",
            on_click=EditState.open_add,
            class_name="add-source",
            **props,
        ),
    )
