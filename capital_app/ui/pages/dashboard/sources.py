"""The active sources card: a table merged, sorted and shared out in the browser.

The state sends a base in BASE_CHUNKS lists and PATCH_SLOTS one-row patches keyed
by source id (state.py); `rows_js` joins them, orders them by the chosen column (ties by name,
then id, ascending — presenters.sorted_rows is the same rule) and computes each
row's share of the total in integers (BigInt; presenters.share_text is the same
formula), so a change to one source needs only that row and the new total.
"""

from __future__ import annotations

import reflex as rx
from reflex_base.vars.base import Var, VarData

from capital_app.ui.components.feedback import (
    by_status,
    empty_state,
    panel,
    saving_badge,
    table_skeleton,
)
from capital_app.ui.components.figures import (
    TABULAR,
    VISUALLY_HIDDEN,
    hover_exact,
    money_cell,
    numeric_header,
    rate_cell,
)
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


# The thin share-of-capital bar: plain elements, repeated on every row.
SHARE_TRACK = {
    "display": "inline-block",
    "width": "64px",
    "height": "4px",
    "border_radius": "2px",
    "background": rx.color("gray", 4),
    "vertical_align": "middle",
    "margin_right": "8px",
    "overflow": "hidden",
}
SHARE_FILL = {"display": "block", "height": "100%", "background": rx.color("accent", 9)}
SHARE_TEXT = {"display": "inline-block", "min_width": "48px", "text_align": "right"}


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
    return rx.table.row(
        rest,
        rx.table.row_header_cell(
            rx.cond(
                href != "",
                rx.link(name, href=href + view_query, weight="medium", color=rx.color("gray", 12)),
                rx.el.span(name, style={"font_weight": "500"}),
            ),
            rx.cond(pending, saving_badge(pending_label)),
            text_decoration=rx.cond(removing, "line-through", "none"),
        ),
        money_cell(amount, muted=pending, class_name="cell-amount"),
        rate_cell(rate, muted=pending, class_name="cell-rate"),
        rx.table.cell(
            rx.el.span(
                rx.el.span(style={**SHARE_FILL, "width": share_width}),
                style=SHARE_TRACK,
            ),
            rx.el.span(share, style=SHARE_TEXT),
            justify="end",
            style=TABULAR,
        ),
        rx.table.cell(
            hover_exact(last_change, last_change_exact, color=rx.color("gray", 11)),
        ),
        rx.table.cell(
            rx.cond(
                href != "", source_actions(source_id, name, disabled=pending, can_edit=can_edit)
            ),
            justify="end",
        ),
        opacity=rx.cond(pending, "0.6", "1"),
        class_name=rx.cond(pending, "source-row pending-row", "source-row"),
        data_source=name,
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
