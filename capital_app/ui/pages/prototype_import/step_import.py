"""Step 4 · Import: all or nothing, on an explicit click."""

from __future__ import annotations

import reflex as rx

from capital_app.ui.components.feedback import panel
from capital_app.ui.pages.prototype_import.state import ImportState
from capital_app.ui.state import (
    AppState,
)


def step_import() -> rx.Component:
    return panel(
        "4 · Import",
        rx.vstack(
            rx.text(
                "All or nothing: every new entry is added in one step, or none is. Entries "
                "already here are skipped, so importing the same data twice adds nothing.",
                size="2",
            ),
            rx.cond(
                AppState.is_past,
                rx.text(
                    "You are viewing the past: go back to today to import.",
                    size="2",
                    color=rx.color("amber", 11),
                ),
            ),
            rx.hstack(
                rx.button(
                    rx.icon("database", size=16),
                    ImportState.import_label,
                    on_click=ImportState.import_now,
                    loading=ImportState.running == "import",
                    disabled=(ImportState.running != "")
                    | ~ImportState.check_ok
                    | (ImportState.new_entries == 0)
                    | ImportState.imported
                    | ~AppState.can_edit,
                    color_scheme="teal",
                    id="import-confirm",
                ),
                rx.cond(
                    ImportState.imported,
                    rx.link(
                        rx.button(
                            "Open the dashboard", rx.icon("arrow-right", size=14), variant="soft"
                        ),
                        href="/",
                        id="to-dashboard",
                    ),
                ),
                spacing="3",
                align="center",
            ),
            rx.cond(
                ImportState.imported,
                rx.text(ImportState.import_text, size="2", weight="medium", id="import-result"),
            ),
            spacing="3",
            width="100%",
            align="start",
        ),
    )
