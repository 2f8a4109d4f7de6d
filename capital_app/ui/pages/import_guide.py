"""`/import/guide`: the migration guide (docs/migrating-from-the-browser-prototype.md) in the app.

One text, two places: the Markdown file in the repository is what the page shows,
rendered to HTML once when the app compiles (markdown-it, tables on; raw HTML in
the file is escaped, not rendered).
"""

from __future__ import annotations

from functools import cache

import reflex as rx
from markdown_it import MarkdownIt

from capital_app.settings import PROJECT_ROOT
from capital_app.ui.layout import page_header, signed_in_page
from capital_app.ui.navigation import IMPORT_ROUTE
from capital_app.ui.state import AppState, PageState

GUIDE_FILE = PROJECT_ROOT / "docs" / "migrating-from-the-browser-prototype.md"

# Plain HTML from Markdown gets Radix-like spacing and readable tables.
_PROSE = {
    "max_width": "860px",
    "line_height": "1.6",
    "font_size": "var(--font-size-2)",
    "& h1": {"display": "none"},  # the page header already says it
    "& h2": {"font_size": "var(--font-size-5)", "font_weight": "700", "margin": "28px 0 8px"},
    "& h3": {"font_size": "var(--font-size-4)", "font_weight": "600", "margin": "20px 0 6px"},
    "& p, & ul, & ol, & table, & pre": {"margin": "0 0 12px"},
    "& ul, & ol": {"padding_left": "22px"},
    "& table": {"border_collapse": "collapse", "width": "100%"},
    "& th, & td": {
        "border": f"1px solid {rx.color('gray', 5)}",
        "padding": "6px 10px",
        "vertical_align": "top",
        "text_align": "left",
    },
    "& th": {"background": rx.color("gray", 3)},
    "& code": {
        "font_family": "var(--code-font-family)",
        "background": rx.color("gray", 3),
        "padding": "0 4px",
        "border_radius": "var(--radius-1)",
    },
    "& pre": {
        "background": rx.color("gray", 3),
        "padding": "12px",
        "border_radius": "var(--radius-3)",
        "overflow_x": "auto",
    },
    "& pre code": {"background": "transparent", "padding": "0"},
    "& a": {"color": rx.color("accent", 11)},
}


@cache
def guide_html() -> str:
    """The guide as HTML (read once)."""
    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
    return renderer.render(GUIDE_FILE.read_text(encoding="utf-8"))


class GuideState(PageState, AppState):
    async def _fetch(self, actor, pushed: int | None) -> int:
        return self.revision  # the guide is static text


def import_guide() -> rx.Component:
    return signed_in_page(
        page_header(
            "Moving your history from the browser prototype",
            rx.cond(
                AppState.is_writer,
                rx.link(
                    rx.button(
                        rx.icon("arrow-left", size=16), "Bring your data over", variant="soft"
                    ),
                    href=IMPORT_ROUTE,
                    id="back-to-import",
                ),
            ),
            subtitle="What moves, the backup, the dry run, every problem the report can name, "
            "and what happens to the copy in your browser.",
        ),
        rx.box(rx.html(guide_html()), style=_PROSE, id="guide"),
    )
