"""The active sources card: a table merged, sorted and shared out in the browser.

The state sends a base in BASE_CHUNKS lists and PATCH_SLOTS one-row patches keyed
by source id (state.py); `rows_js` joins them, orders them by the chosen column (ties by name,
then id, ascending — presenters.sorted_rows is the same rule) and computes each
row's share of the total in integers (BigInt; presenters.share_text is the same
formula), so a change to one source needs only that row and the new total.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex_base.vars.base import Var, VarData

from capital_app.ui.components.feedback import (
    by_status,
    empty_state,
    panel,
    saving_badge,
    table_skeleton,
)
from capital_app.ui.components.figures import VISUALLY_HIDDEN, numeric_header
from capital_app.ui.components.source_actions import add_source_button, source_actions
from capital_app.ui.navigation import has_route
from capital_app.ui.pages.dashboard.presenters import SourceRow
from capital_app.ui.pages.dashboard.state import BASE_VARS, PATCH_VARS, DashboardState
from capital_app.ui.state import AppState

MERGE_JS = """((bases, patches, key, desc, total) => {
  const rows = new Map(), pending = [];
  for (const base of bases) {
    for (const r of base ?? []) { if (r.source_id) rows.set(r.source_id, r); else pending.push(r); }
  }
  for (const p of patches) {
    if (!p) continue;
    if (p.gone) rows.delete(p.source_id); else rows.set(p.source_id, p);
  }
  const text = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  const big = (a, b) => { const x = BigInt(a), y = BigInt(b); return x < y ? -1 : x > y ? 1 : 0; };
  const num = (a, b) => { const x = Number(a), y = Number(b); return x < y ? -1 : x > y ? 1 : 0; };
  const first = key === "name" ? (a, b) => text(a.name_key, b.name_key)
    : key === "rate" ? (a, b) => num(a.rate_key, b.rate_key)
    : key === "changed" ? (a, b) => text(a.changed_key, b.changed_key)
    : (a, b) => big(a.cents, b.cents);
  const order = (a, b) => (desc ? first(b, a) : first(a, b))
    || text(a.name_key, b.name_key) || text(a.source_id, b.source_id);
  const t = BigInt(total || "0");
  const share = (r) => {
    if (!r.source_id || t <= 0n) return ["—", "0%"];  // no known total: no share
    const tenths = t > 0n ? (BigInt(r.cents) * 2000n + t) / (2n * t) : 0n;
    const s = `${tenths / 10n}.${tenths % 10n}`;
    return [`${s} %`, `${s}%`];
  };
  return pending.concat([...rows.values()].sort(order)).map((r) => {
    const [s, w] = share(r);
    return { ...r, share: s, share_width: w };
  });
})"""


def rows_js() -> Var:
    """The rows as the browser shows them (a JS expression over the state's vars)."""
    bases = [getattr(DashboardState, name) for name in BASE_VARS]
    patches = [getattr(DashboardState, name) for name in PATCH_VARS]
    used = [
        *bases,
        *patches,
        DashboardState.sort_key,
        DashboardState.sort_desc,
        DashboardState.total_cents,
    ]
    expression = (
        f"{MERGE_JS}([{', '.join(str(b) for b in bases)}], [{', '.join(str(p) for p in patches)}], "
        f"{DashboardState.sort_key}, {DashboardState.sort_desc}, {DashboardState.total_cents})"
    )
    return Var(
        _js_expr=expression,
        _var_type=list[SourceRow],
        _var_data=VarData.merge(*(v._get_all_var_data() for v in used)),
    ).to(list[SourceRow])


def _sort_header(label: str, key: str, numeric: bool = False) -> rx.Component:
    arrow = rx.cond(
        DashboardState.sort_key == key,
        rx.icon(rx.cond(DashboardState.sort_desc, "arrow-down", "arrow-up"), size=12),
        rx.icon("arrow-up-down", size=12, color=rx.color("gray", 8)),
    )
    button = rx.button(
        label,
        arrow,
        variant="ghost",
        color_scheme="gray",
        size="1",
        on_click=DashboardState.sort_by(key),
        class_name=f"sort-{key}",
        aria_label=f"Sort by {label}",
    )
    cell = numeric_header if numeric else rx.table.column_header_cell
    return cell(
        button,
        aria_sort=rx.cond(
            DashboardState.sort_key == key,
            rx.cond(DashboardState.sort_desc, "descending", "ascending"),
            "none",
        ),
    )


# A row's look, as plain inline styles and Radix Themes' own class names. The rows
# are the bulk of the page (225 at 100,000 entries, 1,000 sources must stay usable):
# a `style=` prop becomes an emotion class per element and render (serialized,
# hashed, a rule inserted into the page's stylesheet, the page's styles
# recalculated), and each Radix `Table.Cell` re-derives its class names from its
# props. Chrome's profile of a dashboard load put emotion, Radix's prop helpers and
# style recalculation at over a third of the main thread. The same elements with
# the classes Radix would give them (`rt-TableCell`, `rt-r-ta-right` for
# justify="end") and a React `style` object look the same and cost a fraction.
INLINE_TABULAR = {"fontVariantNumeric": "tabular-nums", "whiteSpace": "nowrap"}
SHARE_TRACK = {
    "display": "inline-block",
    "width": "64px",
    "height": "4px",
    "borderRadius": "2px",
    "background": rx.color("gray", 4),
    "verticalAlign": "middle",
    "marginRight": "8px",
    "overflow": "hidden",
}
SHARE_FILL = {"display": "block", "height": "100%", "background": rx.color("accent", 9)}
SHARE_TEXT = {"display": "inline-block", "minWidth": "48px", "textAlign": "right"}
CELL = "rt-TableCell"
NUMBER_CELL = "rt-TableCell rt-r-ta-right"  # Radix's class for justify="end"


def _inline(style: dict[str, Any]) -> dict[str, Any]:
    """A React style attribute (no emotion class): see the note above."""
    return {"style": style}


def _number_cell(text: rx.Var[str], muted: rx.Var[bool], class_name: str) -> rx.Component:
    color = rx.cond(muted, rx.color("gray", 10), rx.color("gray", 12))
    return rx.el.td(
        text,
        class_name=f"{NUMBER_CELL} {class_name}",
        custom_attrs=_inline({**INLINE_TABULAR, "color": color}),
    )


@rx.memo
def source_row_view(
    source_id: rx.Var[str],
    name: rx.Var[str],
    amount: rx.Var[str],
    rate: rx.Var[str],
    share: rx.Var[str],
    share_width: rx.Var[str],
    last_change: rx.Var[str],
    last_change_exact: rx.Var[str],
    pending: rx.Var[bool],
    pending_label: rx.Var[str],
    removing: rx.Var[bool],
    href: rx.Var[str],
    can_edit: rx.Var[bool],
    view_query: rx.Var[str],
    rest: rx.RestProp,
) -> rx.Component:
    """One row, a React.memo component of plain props: a push re-renders only the
    rows whose text changed (rows_js builds new row objects on every merge). It
    reads no state itself (can_edit comes as a prop): a context it read would
    re-render every row on every push (AppState.revision changes each time)."""
    return rx.el.tr(
        rest,
        rx.el.th(
            rx.cond(
                href != "",
                rx.link(
                    name,
                    href=href + view_query,
                    weight="medium",
                    color=rx.color("gray", 12),  # one static class, with Reflex's hover colour
                ),
                rx.el.span(name, custom_attrs=_inline({"fontWeight": "500"})),
            ),
            rx.cond(pending, saving_badge(pending_label)),
            class_name="rt-TableCell rt-TableRowHeaderCell",
            custom_attrs={
                "scope": "row",
                **_inline({"textDecoration": rx.cond(removing, "line-through", "none")}),
            },
        ),
        _number_cell(amount, pending, "cell-amount"),
        _number_cell(rate, pending, "cell-rate"),
        rx.el.td(
            rx.el.span(
                rx.el.span(custom_attrs=_inline({**SHARE_FILL, "width": share_width})),
                custom_attrs=_inline(SHARE_TRACK),
            ),
            rx.el.span(share, custom_attrs=_inline(SHARE_TEXT)),
            class_name=NUMBER_CELL,
            custom_attrs=_inline(INLINE_TABULAR),
        ),
        rx.el.td(
            rx.el.span(
                last_change,
                title=last_change_exact,
                custom_attrs=_inline(
                    {**INLINE_TABULAR, "cursor": "help", "color": rx.color("gray", 11)}
                ),
            ),
            class_name=CELL,
        ),
        rx.el.td(
            rx.cond(
                href != "", source_actions(source_id, name, disabled=pending, can_edit=can_edit)
            ),
            class_name=NUMBER_CELL,
        ),
        class_name=rx.cond(pending, "rt-TableRow source-row pending-row", "rt-TableRow source-row"),
        data_source=name,
        custom_attrs=_inline({"opacity": rx.cond(pending, "0.6", "1")}),
    )


def _source_row(row: SourceRow) -> rx.Component:
    # Keyed by source id (a pending addition, which has none yet, by its name), so a
    # row that moves in the order is moved, not every row between re-rendered.
    return source_row_view(
        source_id=row.source_id,
        name=row.name,
        amount=row.amount,
        rate=row.rate,
        share=row.share,
        share_width=row.share_width,
        last_change=row.last_change,
        last_change_exact=row.last_change_exact,
        pending=row.pending,
        pending_label=row.pending_label,
        removing=row.removing,
        href=row.href,
        can_edit=AppState.can_edit,
        view_query=AppState.view_query,  # a prop, not state read in the row (see above)
        key=rx.cond(row.source_id != "", row.source_id, "+" + row.name_key),
    )


def _sources_table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                _sort_header("Name", "name"),
                _sort_header("Amount", "amount", numeric=True),
                _sort_header("Rate", "rate", numeric=True),
                _sort_header("Share of capital", "share", numeric=True),
                _sort_header("Last change", "changed"),
                rx.table.column_header_cell(
                    rx.text("Actions", style=VISUALLY_HIDDEN), width="112px"
                ),
            )
        ),
        rx.table.body(rx.foreach(rows_js(), _source_row)),
        variant="surface",
        size="2",
        width="100%",
        id="sources-table",
    )


def _empty_sources() -> rx.Component:
    actions = [add_source_button(size="2")]
    if has_route("/import"):
        actions.append(
            rx.cond(
                AppState.can_edit,
                rx.link(
                    rx.button("Import from the prototype", variant="soft", size="2"), href="/import"
                ),
            )
        )
    return empty_state(
        "landmark",
        "No capital sources yet",
        rx.cond(
            AppState.is_past,
            "None were active on this date.",
            rx.cond(
                AppState.can_edit,
                "Add your first source — or bring your data over from the browser prototype.",
                "An editor of your organization can add the first one.",
            ),
        ),
        *actions,
        id="sources-empty",
    )


def sources_card() -> rx.Component:
    return panel(
        "Active sources",
        by_status(
            DashboardState.status,
            loading=table_skeleton(5, 5),
            error=rx.fragment(),
            ready=rx.cond(rows_js().length() > 0, _sources_table(), _empty_sources()),
        ),
        add_source_button(size="2", variant="soft"),
    )
