"""Step 1 · Your data: what was found in this browser, or a file uploaded or pasted."""

from __future__ import annotations

import reflex as rx

from capital_app.ui.components.feedback import panel
from capital_app.ui.pages.prototype_import.presenters import MAX_IMPORT_BYTES
from capital_app.ui.pages.prototype_import.state import UPLOAD_ID, ImportState


def _found_copies() -> rx.Component:
    return rx.cond(
        ImportState.found.length() > 1,
        rx.vstack(
            rx.text("Several copies were found in this browser; choose one:", size="2"),
            rx.radio_group.root(
                rx.vstack(
                    rx.foreach(
                        ImportState.found,
                        lambda f: rx.radio_group.item(
                            rx.text(
                                f.key,
                                " — ",
                                f.count_text,
                                ", ",
                                f.size,
                                size="2",
                            ),
                            value=f.key,
                        ),
                    ),
                    spacing="1",
                ),
                value=ImportState.origin_key,
                on_change=ImportState.choose_copy,
                disabled=ImportState.running != "",
                id="found-copies",
            ),
            spacing="2",
        ),
    )


def _data_in_hand() -> rx.Component:
    return rx.cond(
        ImportState.has_data,
        rx.hstack(
            rx.icon("file-json", size=20, color=rx.color("accent", 10)),
            rx.text(
                "Data from ",
                rx.text(ImportState.origin_label, weight="bold", as_="span"),
                " · ",
                ImportState.origin_size,
                rx.cond(
                    ImportState.origin_count != "",
                    rx.text(" · ", ImportState.origin_count, as_="span"),
                ),
                size="2",
                id="data-origin",
            ),
            align="center",
            spacing="2",
        ),
        rx.cond(
            ImportState.scanned,
            rx.text(
                "No prototype data was found in this browser. If you used the prototype on "
                "another computer or browser, take a backup there, then choose that file here.",
                size="2",
                color=rx.color("gray", 11),
                id="nothing-found",
            ),
            rx.text("Looking in this browser…", size="2", color=rx.color("gray", 11)),
        ),
    )


def _other_sources() -> rx.Component:
    return rx.vstack(
        rx.upload.root(
            rx.hstack(
                rx.icon("upload", size=16),
                rx.text(
                    "Or choose a JSON file (a backup, or an export) — or drop it here", size="2"
                ),
                align="center",
                spacing="2",
            ),
            id=UPLOAD_ID,
            accept={"application/json": [".json"]},
            max_files=1,
            multiple=False,
            max_size=MAX_IMPORT_BYTES,
            disabled=ImportState.running != "",
            on_drop=ImportState.receive_file(rx.upload_files(upload_id=UPLOAD_ID)),
            on_drop_rejected=ImportState.file_rejected,
            border=f"1px dashed {rx.color('gray', 7)}",
            border_radius="var(--radius-3)",
            padding="12px 16px",
            width="100%",
            cursor="pointer",
        ),
        rx.button(
            rx.icon("clipboard-paste", size=14),
            rx.cond(ImportState.paste_open, "Hide the paste box", "Or paste the JSON text"),
            variant="ghost",
            size="1",
            on_click=ImportState.toggle_paste,
            id="paste-toggle",
        ),
        rx.cond(
            ImportState.paste_open,
            rx.form(
                rx.vstack(
                    rx.text_area(
                        name="pasted",
                        placeholder='[{"id": "hist_…", "sourceId": "src_…", …}]',
                        rows="6",
                        width="100%",
                        id="paste-text",
                        style={"font_family": "var(--code-font-family)"},
                    ),
                    rx.button("Use this text", type="submit", size="2", id="paste-submit"),
                    spacing="2",
                    width="100%",
                ),
                on_submit=ImportState.submit_paste,
                reset_on_submit=True,
                width="100%",
            ),
        ),
        spacing="2",
        width="100%",
        align="start",
    )


def step_data() -> rx.Component:
    return panel(
        "1 · Your data",
        rx.vstack(_data_in_hand(), _found_copies(), _other_sources(), spacing="3", width="100%"),
    )
