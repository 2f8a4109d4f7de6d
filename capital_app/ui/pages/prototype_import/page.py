"""`/import`: the page, its steps in order (the viewer is told they cannot)."""

from __future__ import annotations

import reflex as rx

from capital_app.ui.components.feedback import block_skeleton, load_error
from capital_app.ui.layout import page_header, signed_in_page
from capital_app.ui.navigation import GUIDE_ROUTE, SPREADSHEET_IMPORT_ROUTE
from capital_app.ui.pages.prototype_import.state import ImportState
from capital_app.ui.pages.prototype_import.step_backup import step_backup
from capital_app.ui.pages.prototype_import.step_check import step_check
from capital_app.ui.pages.prototype_import.step_clear import step_clear
from capital_app.ui.pages.prototype_import.step_data import step_data
from capital_app.ui.pages.prototype_import.step_import import step_import
from capital_app.ui.state import (
    AppState,
)


def _failure() -> rx.Component:
    return rx.cond(
        ImportState.failure != "",
        rx.callout(
            ImportState.failure,
            icon="triangle-alert",
            color_scheme="red",
            role="alert",
            id="import-failure",
            width="100%",
        ),
    )


def _viewer_notice() -> rx.Component:
    return rx.callout(
        "Only editors and administrators can bring data over from the browser prototype. "
        "Ask one of them to do it; you will see the history here once they have.",
        icon="lock",
        color_scheme="gray",
        id="import-not-allowed",
        width="100%",
    )


def _writer_view() -> rx.Component:
    return rx.vstack(
        _failure(),
        step_data(),
        rx.cond(
            ImportState.has_data,
            rx.vstack(
                rx.cond(ImportState.origin != "file", step_backup()),
                step_check(),
                rx.cond(ImportState.check_ok, step_import()),
                rx.cond(
                    (ImportState.origin == "browser") & ImportState.all_stored,
                    step_clear(),
                ),
                spacing="5",
                width="100%",
            ),
        ),
        spacing="5",
        width="100%",
    )


def import_page() -> rx.Component:
    return signed_in_page(
        page_header(
            "Bring your data over",
            rx.link(
                rx.button(
                    rx.icon("file-spreadsheet", size=16),
                    "Import a spreadsheet",
                    variant="soft",
                    white_space="nowrap",
                ),
                href=SPREADSHEET_IMPORT_ROUTE,
                id="to-spreadsheet-import",
                flex_shrink="0",
            ),
            rx.link(
                rx.button(
                    rx.icon("book-open", size=16),
                    "Read the guide",
                    variant="soft",
                    white_space="nowrap",
                ),
                href=GUIDE_ROUTE,
                id="guide-link",
                flex_shrink="0",
            ),
            subtitle="Move the capital history the browser prototype kept on this computer "
            "into Capital Ledger — nothing lost, nothing duplicated.",
        ),
        rx.match(
            ImportState.status,
            ("error", load_error(ImportState.problem, ImportState.retry)),
            ("ready", rx.cond(AppState.is_writer, _writer_view(), _viewer_notice())),
            block_skeleton("160px"),
        ),
    )
