"""Step 2 · Take a backup first: download exactly what was found."""

from __future__ import annotations

import reflex as rx

from capital_app.ui.components.feedback import panel
from capital_app.ui.pages.prototype_import.state import ImportState


def step_backup() -> rx.Component:
    return panel(
        "2 · Take a backup first",
        rx.vstack(
            rx.text(
                "Save a copy of exactly what was found, as a file, before anything else. Keep it "
                "until you have checked the result in Capital Ledger.",
                size="2",
            ),
            rx.hstack(
                rx.button(
                    rx.icon("download", size=16),
                    "Download a backup",
                    on_click=ImportState.download_backup,
                    variant=rx.cond(ImportState.backup_taken, "soft", "solid"),
                    id="backup-download",
                ),
                rx.cond(
                    ImportState.backup_taken,
                    rx.badge(
                        rx.icon("check", size=12),
                        "Backup downloaded",
                        color_scheme="grass",
                        id="backup-taken",
                    ),
                ),
                align="center",
                spacing="3",
            ),
            spacing="3",
            width="100%",
        ),
    )
