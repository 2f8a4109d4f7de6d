"""The recent activity card: the latest changes, newest first."""

from __future__ import annotations

import reflex as rx
from reflex_base.vars.base import Var, VarData

from capital_app.service.reports import RECENT_ACTIVITY
from capital_app.ui.components.feedback import by_status, item_list, panel, table_skeleton
from capital_app.ui.components.figures import change_text, hover_exact
from capital_app.ui.pages.dashboard.presenters import ActivityRow
from capital_app.ui.pages.dashboard.state import ACTIVITY_VARS, DashboardState
from capital_app.ui.state import AppState


def _activity_row(row: ActivityRow) -> rx.Component:
    return rx.hstack(
        rx.avatar(fallback=row.who[:1], size="1", radius="full", variant="soft"),
        rx.vstack(
            rx.hstack(
                rx.text(row.who, weight="medium", size="2"),
                rx.text(row.verb, size="2", color=rx.color("gray", 11)),
                rx.link(
                    row.subject,
                    href=row.href + AppState.view_query,
                    size="2",
                    weight="medium",
                    color=rx.color("gray", 12),
                ),
                change_text(row.before, row.after),
                spacing="1",
                wrap="wrap",
                align="center",
            ),
            rx.hstack(
                rx.text(row.effective, size="1", color=rx.color("gray", 10)),
                rx.text("·", size="1", color=rx.color("gray", 8)),
                hover_exact(row.ago, row.exact, size="1", color=rx.color("gray", 10)),
                spacing="1",
            ),
            spacing="0",
            align="start",
        ),
        spacing="3",
        align="start",
        width="100%",
        padding_y="8px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        class_name="activity-row",
        # Keyed by entry id, not by position: a pushed entry inserts one row at the
        # top (and drops the last) instead of re-writing the text of all ten.
        key=row.key,
    )


def shown_js() -> Var:
    """The rows pushed since the base (ring slots, newest first), then the base, as many as loaded.

    Row j after the base sits in slot j % RING; presenters.ring_rows is the same rule.
    """
    slots = [getattr(DashboardState, name) for name in ACTIVITY_VARS]
    seq, base = DashboardState.activity_seq, DashboardState.activity
    ring = f"[{', '.join(str(v) for v in slots)}]"
    expression = (
        f"((ring, seq, base) => [...Array.from({{length: Math.min(ring.length, seq)}}, "
        f"(_, p) => ring[(seq - 1 - p) % ring.length]).filter((r) => r), ...(base ?? [])]"
        f".slice(0, {RECENT_ACTIVITY}))({ring}, {seq}, {base})"
    )
    return Var(
        _js_expr=expression,
        _var_type=list[ActivityRow],
        _var_data=VarData.merge(*(v._get_all_var_data() for v in [*slots, seq, base])),
    ).to(list[ActivityRow])


def activity_card() -> rx.Component:
    return panel(
        "Recent activity",
        by_status(
            DashboardState.status,
            loading=table_skeleton(5, 1),
            error=rx.fragment(),
            ready=item_list(shown_js(), _activity_row, "No changes recorded yet.", id="activity"),
        ),
        rx.link("Full history →", href=f"/history{AppState.view_query}", size="2"),
    )
