"""Step 3 · Dry run: what an import would do, every problem, the progress while it runs."""

from __future__ import annotations

from typing import Any

import reflex as rx

from capital_app.ui.components.feedback import panel
from capital_app.ui.components.figures import TABULAR
from capital_app.ui.pages.prototype_import.presenters import (
    ProblemRow,
)
from capital_app.ui.pages.prototype_import.state import ImportState


def _stat(label: str, key: str, note: Any = None) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color=rx.color("gray", 11), weight="medium"),
        rx.text(
            ImportState.summary[key],
            size="3",
            weight="bold",
            style={**TABULAR, "white_space": "normal"},
            id=f"stat-{key}",
        ),
        rx.text(note, size="1", color=rx.color("gray", 10)) if note is not None else rx.fragment(),
        spacing="0",
        align="start",
    )


def _report() -> rx.Component:
    return rx.vstack(
        rx.grid(
            _stat("Entries in file", "entries"),
            _stat(
                rx.cond(ImportState.summary["verb"] == "imported", "Imported", "Would import"),
                "imported",
                ImportState.summary["by_action"],
            ),
            _stat("Already here (skipped)", "skipped"),
            _stat("Sources in file", "sources"),
            _stat("Effective dates", "span"),
            _stat("Total capital after", "total"),
            _stat("WACC after", "wacc"),
            _stat("Active sources after", "active"),
            columns=rx.breakpoints(initial="2", md="4"),
            spacing="4",
            width="100%",
            id="import-report",
        ),
        rx.cond(ImportState.problem_count > 0, _problems(), rx.fragment()),
        rx.cond(
            ImportState.check_ok,
            rx.callout(
                rx.cond(
                    ImportState.imported,
                    ImportState.import_text,
                    rx.cond(
                        ImportState.new_entries > 0,
                        "No problems found. Nothing has been written yet.",
                        "Every entry of this data is already in Capital Ledger: nothing new to "
                        "import.",
                    ),
                ),
                icon="circle-check",
                color_scheme="grass",
                id="check-ok",
                width="100%",
            ),
        ),
        spacing="4",
        width="100%",
    )


def _problem_row(row: ProblemRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.where, size="2", white_space="nowrap")),
        rx.table.cell(rx.code(row.entry_id, size="1", variant="ghost")),
        rx.table.cell(rx.code(row.field, size="1", variant="ghost")),
        rx.table.cell(rx.text(row.message, size="2")),
        class_name="problem-row",
    )


def _problems() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.badge(
                rx.icon("circle-alert", size=12),
                ImportState.problem_count.to_string(),
                rx.cond(ImportState.problem_count == 1, " problem", " problems"),
                color_scheme="red",
                size="2",
                id="problem-count",
            ),
            rx.text(
                "Nothing can be imported until every one is fixed. The guide explains each "
                "message.",
                size="2",
                color=rx.color("gray", 11),
            ),
            rx.spacer(),
            rx.button(
                rx.icon("download", size=14),
                "Download the list (CSV)",
                variant="soft",
                size="1",
                on_click=ImportState.download_problems,
                id="problems-download",
            ),
            align="center",
            spacing="3",
            width="100%",
            wrap="wrap",
        ),
        rx.cond(
            ImportState.problems_note != "",
            rx.text(ImportState.problems_note, size="1", color=rx.color("gray", 10)),
        ),
        rx.scroll_area(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Where"),
                        rx.table.column_header_cell("Entry id"),
                        rx.table.column_header_cell("Field"),
                        rx.table.column_header_cell("Problem"),
                    )
                ),
                rx.table.body(rx.foreach(ImportState.problems, _problem_row)),
                size="1",
                variant="surface",
                width="100%",
            ),
            type="auto",
            scrollbars="vertical",
            max_height="420px",
            id="problem-list",
        ),
        spacing="2",
        width="100%",
    )


def _progress() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.spinner(size="2"),
            rx.text(ImportState.progress_label, size="2", id="import-progress-text"),
            align="center",
            spacing="2",
        ),
        rx.progress(value=ImportState.progress_value, max=100, width="100%"),
        spacing="2",
        width="100%",
        id="import-progress",
        aria_busy="false",
    )


def step_check() -> rx.Component:
    return panel(
        "3 · Dry run: see what would happen",
        rx.vstack(
            rx.text(
                "Reads and checks everything, compares it with what is already here, and "
                "writes nothing.",
                size="2",
            ),
            rx.button(
                rx.icon("scan-search", size=16),
                rx.cond(ImportState.checked, "Check again", "Check (dry run)"),
                on_click=ImportState.check,
                loading=ImportState.running == "check",
                disabled=ImportState.running != "",
                id="dry-run",
            ),
            rx.cond(ImportState.running != "", _progress()),
            rx.cond(ImportState.checked, _report()),
            spacing="3",
            width="100%",
            align="start",
        ),
    )
