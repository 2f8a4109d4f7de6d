"""Step 5 · Clear the browser's copy: only after the import, only what was imported."""

from __future__ import annotations

import reflex as rx

from capital_app.ui.components.feedback import panel
from capital_app.ui.pages.prototype_import.state import ImportState


def step_clear() -> rx.Component:
    key = ImportState.origin_key
    return panel(
        "5 · The copy in this browser",
        rx.vstack(
            rx.cond(
                ImportState.clear_result == "removed",
                rx.text(
                    "Removed from this browser. Your backup file and Capital Ledger keep it.",
                    size="2",
                    id="clear-result",
                ),
                rx.cond(
                    ImportState.clear_result == "changed",
                    rx.text(
                        "Not removed: the copy in this browser changed since it was read (the "
                        "prototype may still be open). Check it again and import the new entries.",
                        size="2",
                        color=rx.color("amber", 11),
                        id="clear-result",
                    ),
                    rx.cond(
                        ImportState.clear_result == "missing",
                        rx.text("It is already gone.", size="2", id="clear-result"),
                        rx.vstack(
                            rx.text(
                                "Every entry is now in Capital Ledger. You may remove the "
                                "prototype's copy (“",
                                key,
                                "”) from this browser; nothing else is touched.",
                                size="2",
                            ),
                            rx.alert_dialog.root(
                                rx.alert_dialog.trigger(
                                    rx.button(
                                        rx.icon("trash-2", size=14),
                                        "Clear the browser copy",
                                        variant="soft",
                                        color_scheme="red",
                                        id="clear-browser-copy",
                                    )
                                ),
                                rx.alert_dialog.content(
                                    rx.alert_dialog.title("Remove the browser copy?"),
                                    rx.alert_dialog.description(
                                        rx.text(
                                            "This removes “",
                                            key,
                                            "” from this browser's storage. Capital Ledger "
                                            "keeps every entry; keep your backup file too.",
                                        )
                                    ),
                                    rx.hstack(
                                        rx.alert_dialog.cancel(
                                            rx.button(
                                                "Keep it", variant="soft", color_scheme="gray"
                                            )
                                        ),
                                        rx.alert_dialog.action(
                                            rx.button(
                                                "Remove",
                                                color_scheme="red",
                                                on_click=ImportState.clear_browser_copy,
                                                id="confirm-clear",
                                            )
                                        ),
                                        spacing="3",
                                        justify="end",
                                        padding_top="12px",
                                    ),
                                ),
                            ),
                            spacing="3",
                            align="start",
                        ),
                    ),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        id="clear-step",
    )
