"""`/import/spreadsheet`: upload, map the columns, dry run, import (the viewer is told they
cannot)."""

from __future__ import annotations

import reflex as rx

from capital_app.service.spreadsheet_files import MAX_SPREADSHEET_BYTES
from capital_app.ui.components.feedback import block_skeleton, load_error, panel
from capital_app.ui.components.figures import TABULAR
from capital_app.ui.layout import page_header, signed_in_page
from capital_app.ui.navigation import HOME_ROUTE, IMPORT_ROUTE
from capital_app.ui.pages.spreadsheet_import.presenters import (
    FieldChoice,
    SheetProblemRow,
    field_choices,
)
from capital_app.ui.pages.spreadsheet_import.state import UPLOAD_ID, SpreadsheetState
from capital_app.ui.state import AppState

_ACCEPT = {
    "text/csv": [".csv"],
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": [".xlsx"],
}


def _failure() -> rx.Component:
    return rx.cond(
        SpreadsheetState.failure != "",
        rx.callout(
            SpreadsheetState.failure,
            icon="triangle-alert",
            color_scheme="red",
            role="alert",
            id="sheet-failure",
            width="100%",
        ),
    )


def _step_file() -> rx.Component:
    return panel(
        "1 · Your spreadsheet",
        rx.vstack(
            rx.text(
                "A CSV (UTF-8) or an Excel workbook (.xlsx, its first sheet), a header row "
                "first. One row per source to add, or per change: add, change amount, change "
                "rate, remove. A list of today's sources needs no action column.",
                size="2",
            ),
            rx.upload.root(
                rx.hstack(
                    rx.icon("file-spreadsheet", size=16),
                    rx.text("Choose a .csv or .xlsx file — or drop it here", size="2"),
                    align="center",
                    spacing="2",
                ),
                id=UPLOAD_ID,
                accept=_ACCEPT,
                max_files=1,
                multiple=False,
                max_size=MAX_SPREADSHEET_BYTES,
                disabled=SpreadsheetState.running != "",
                on_drop=SpreadsheetState.receive_file(rx.upload_files(upload_id=UPLOAD_ID)),
                on_drop_rejected=SpreadsheetState.file_rejected,
                border=f"1px dashed {rx.color('gray', 7)}",
                border_radius="var(--radius-3)",
                padding="12px 16px",
                width="100%",
                cursor="pointer",
            ),
            rx.cond(
                SpreadsheetState.file_label != "",
                rx.hstack(
                    rx.icon("file-check", size=16),
                    rx.text(
                        SpreadsheetState.file_label,
                        " · ",
                        SpreadsheetState.file_kind,
                        " · ",
                        SpreadsheetState.data_rows.to_string(),
                        rx.cond(SpreadsheetState.data_rows == 1, " row", " rows"),
                        size="2",
                        weight="medium",
                    ),
                    align="center",
                    spacing="2",
                    id="sheet-origin",
                ),
            ),
            rx.foreach(
                SpreadsheetState.file_problems,
                lambda message: rx.callout(
                    message,
                    icon="file-x",
                    color_scheme="red",
                    class_name="sheet-file-problem",
                    width="100%",
                ),
            ),
            spacing="3",
            width="100%",
        ),
    )


def _field_row(choice: FieldChoice) -> rx.Component:
    select_id = f"map-{choice.field}"
    return rx.table.row(
        rx.table.cell(
            rx.el.label(
                choice.label,
                rx.cond(choice.required, rx.text.span(" *", color=rx.color("red", 10)), ""),
                html_for=select_id,
            ),
            white_space="nowrap",
        ),
        rx.table.cell(
            rx.el.select(
                rx.el.option("(not in the file)", value=""),
                rx.foreach(
                    SpreadsheetState.columns, lambda column: rx.el.option(column, value=column)
                ),
                value=SpreadsheetState.choices[choice.field],
                on_change=lambda value: SpreadsheetState.choose_column(choice.field, value),
                disabled=SpreadsheetState.running != "",
                id=select_id,
                style={"min_width": "14rem", "padding": "4px 6px"},
            )
        ),
        rx.table.cell(rx.text(choice.hint, size="1", color=rx.color("gray", 11))),
    )


def _sample() -> rx.Component:
    return rx.scroll_area(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.foreach(
                        SpreadsheetState.columns,
                        lambda c: rx.table.column_header_cell(c, white_space="nowrap"),
                    )
                )
            ),
            rx.table.body(
                rx.foreach(
                    SpreadsheetState.sample,
                    lambda row: rx.table.row(
                        rx.foreach(row, lambda cell: rx.table.cell(cell, white_space="nowrap"))
                    ),
                )
            ),
            size="1",
            variant="surface",
        ),
        type="auto",
        scrollbars="horizontal",
        width="100%",
        id="sheet-sample",
    )


def _step_mapping() -> rx.Component:
    return panel(
        "2 · Which column holds what",
        rx.vstack(
            rx.text(
                "Suggested from the header's names; check each one. Columns left out are "
                "not imported.",
                size="2",
            ),
            rx.table.root(
                rx.table.body(*[_field_row(c) for c in field_choices()]),
                size="1",
                width="100%",
                id="sheet-mapping",
            ),
            rx.hstack(
                rx.el.label("Rates are written as", html_for="rate-unit"),
                rx.el.select(
                    rx.el.option("per cent (13.25 means 13.25 %)", value="percent"),
                    rx.el.option("fractions (0.1325 means 13.25 %)", value="fraction"),
                    value=SpreadsheetState.rate_unit,
                    on_change=SpreadsheetState.choose_rate_unit,
                    disabled=SpreadsheetState.running != "",
                    id="rate-unit",
                    style={"padding": "4px 6px"},
                ),
                align="center",
                spacing="2",
            ),
            rx.text(
                "Cells formatted as a percentage in Excel are read as they show. Amounts are "
                "read exactly: a figure with more decimals than the currency has is a problem, "
                "never rounded.",
                size="1",
                color=rx.color("gray", 11),
            ),
            rx.text("The first rows", size="2", weight="medium"),
            _sample(),
            spacing="3",
            width="100%",
        ),
    )


def _stat(label: str, key: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color=rx.color("gray", 11), weight="medium"),
        rx.text(
            SpreadsheetState.report[key],
            size="3",
            weight="bold",
            style={**TABULAR, "white_space": "normal"},
            id=f"sheet-stat-{key}",
        ),
        spacing="0",
        align="start",
    )


def _problem_row(row: SheetProblemRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.where, size="2", white_space="nowrap")),
        rx.table.cell(rx.text(row.column, size="2", white_space="nowrap")),
        rx.table.cell(rx.text(row.field, size="2", white_space="nowrap")),
        rx.table.cell(rx.text(row.message, size="2")),
        class_name="sheet-problem-row",
    )


def _problems() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.badge(
                rx.icon("circle-alert", size=12),
                SpreadsheetState.problems_title,
                color_scheme="red",
                size="2",
                id="sheet-problem-count",
            ),
            rx.text(
                "Nothing can be imported until every one is fixed: correct the file and "
                "choose it again, or change the mapping.",
                size="2",
                color=rx.color("gray", 11),
            ),
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        rx.scroll_area(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Where"),
                        rx.table.column_header_cell("Column"),
                        rx.table.column_header_cell("Field"),
                        rx.table.column_header_cell("Problem"),
                    )
                ),
                rx.table.body(rx.foreach(SpreadsheetState.problems, _problem_row)),
                size="1",
                variant="surface",
                width="100%",
            ),
            type="auto",
            scrollbars="vertical",
            max_height="420px",
            id="sheet-problems",
        ),
        spacing="2",
        width="100%",
    )


def _report() -> rx.Component:
    return rx.vstack(
        rx.grid(
            _stat("Rows in file", "rows"),
            _stat(
                rx.cond(SpreadsheetState.report["verb"] == "imported", "Imported", "Would import"),
                "entries",
            ),
            _stat("New sources", "sources"),
            _stat("Effective dates", "span"),
            _stat("Total capital after", "total"),
            _stat("WACC after", "wacc"),
            _stat("Active sources after", "active"),
            columns=rx.breakpoints(initial="2", md="4"),
            spacing="4",
            width="100%",
            id="sheet-report",
        ),
        rx.cond(SpreadsheetState.problem_count > 0, _problems()),
        rx.cond(
            SpreadsheetState.check_ok & ~SpreadsheetState.imported,
            rx.callout(
                "No problems found. Nothing has been written yet.",
                icon="circle-check",
                color_scheme="grass",
                id="sheet-check-ok",
                width="100%",
            ),
        ),
        spacing="4",
        width="100%",
    )


def _step_check() -> rx.Component:
    return panel(
        "3 · Dry run, then import",
        rx.vstack(
            rx.text(
                "The dry run checks every row — dates, numbers, names, the sources each change "
                "names — against what is already here, and writes nothing. The import then "
                "writes every row or none.",
                size="2",
            ),
            rx.hstack(
                rx.button(
                    rx.icon("scan-search", size=16),
                    rx.cond(SpreadsheetState.checked, "Check again", "Check (dry run)"),
                    on_click=SpreadsheetState.check,
                    loading=SpreadsheetState.running == "check",
                    disabled=SpreadsheetState.running != "",
                    id="sheet-dry-run",
                ),
                rx.cond(
                    SpreadsheetState.can_import,
                    rx.button(
                        rx.icon("database", size=16),
                        "Import ",
                        SpreadsheetState.report["entries"],
                        on_click=SpreadsheetState.import_now,
                        loading=SpreadsheetState.running == "import",
                        disabled=SpreadsheetState.running != "",
                        color_scheme="grass",
                        id="sheet-import",
                    ),
                ),
                spacing="3",
            ),
            rx.cond(SpreadsheetState.checked, _report()),
            rx.cond(
                SpreadsheetState.imported,
                rx.callout(
                    rx.text(
                        SpreadsheetState.import_text,
                        " ",
                        rx.link("See the dashboard", href=HOME_ROUTE, id="sheet-to-dashboard"),
                    ),
                    icon="circle-check",
                    color_scheme="grass",
                    id="sheet-imported",
                    width="100%",
                ),
            ),
            spacing="3",
            width="100%",
            align="start",
        ),
    )


def _viewer_notice() -> rx.Component:
    return rx.callout(
        "Only editors and administrators can import. Ask one of them to do it.",
        icon="lock",
        color_scheme="gray",
        id="sheet-not-allowed",
        width="100%",
    )


def _writer_view() -> rx.Component:
    return rx.vstack(
        _failure(),
        _step_file(),
        rx.cond(
            SpreadsheetState.has_file,
            rx.vstack(_step_mapping(), _step_check(), spacing="5", width="100%"),
        ),
        spacing="5",
        width="100%",
    )


def spreadsheet_import_page() -> rx.Component:
    return signed_in_page(
        page_header(
            "Import a spreadsheet",
            rx.link(
                rx.button(
                    rx.icon("arrow-left", size=16),
                    "From the browser prototype",
                    variant="soft",
                    white_space="nowrap",
                ),
                href=IMPORT_ROUTE,
                id="to-prototype-import",
                flex_shrink="0",
            ),
            subtitle="Sources and their changes from a CSV or an Excel workbook: map the "
            "columns, check every row, then import all of it or nothing.",
        ),
        rx.match(
            SpreadsheetState.status,
            ("error", load_error(SpreadsheetState.problem, SpreadsheetState.retry)),
            ("ready", rx.cond(AppState.is_writer, _writer_view(), _viewer_notice())),
            block_skeleton("160px"),
        ),
    )
