"""The frame of every signed-in page: sidebar, top bar, past-view banner, content.

Sidebar: product name, the pages of `NAV_ITEMS` (ui/navigation.py) for the user's
role, and at the bottom the user's name, role and sign out. Top bar: the
organization, the as-of control, who else is here (presence) and the live
indicator. capital_app/wiring.py fills `PRESENCE_SLOT` (and may replace `LIVE_SLOT`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce

import reflex as rx
from reflex_components_core.core.banner import has_connection_errors

from capital_app.domain.values import Role
from capital_app.ui.components.time_travel import (
    as_of_control,
    past_view_banner,
    view_problem_notice,
)
from capital_app.ui.navigation import VIEW_ROUTES, NavItem, nav_items
from capital_app.ui.state import AppState

PRODUCT_NAME = "Capital Ledger"
SIDEBAR_WIDTH = "232px"


def _role_allows(roles: frozenset[Role] | None):
    if roles is None:
        return None
    return reduce(lambda a, b: a | b, [AppState.user_role == r.value for r in sorted(roles)])


def _nav_link(item: NavItem) -> rx.Component:
    path = AppState.router.url.path
    active = (path == item.route) if item.route == "/" else path.startswith(item.route)
    link = rx.link(
        rx.hstack(
            rx.icon(item.icon, size=18),
            rx.text(item.label, size="2", weight="medium"),
            align="center",
            spacing="3",
            padding_x="12px",
            padding_y="8px",
            border_radius="var(--radius-3)",
            width="100%",
            color=rx.cond(active, rx.color("accent", 11), rx.color("gray", 11)),
            background=rx.cond(active, rx.color("accent", 3), "transparent"),
            _hover={"background": rx.color("gray", 4), "color": rx.color("gray", 12)},
        ),
        # A page with a view in its URL opens at the moment being viewed.
        href=item.route + AppState.view_query if item.route in VIEW_ROUTES else item.route,
        underline="none",
        width="100%",
        id=f"nav-{item.label.lower().replace(' ', '-')}",
        aria_current=rx.cond(active, "page", "false"),
    )
    allowed = _role_allows(item.roles)
    return link if allowed is None else rx.cond(allowed, link)


def _role_badge() -> rx.Component:
    return rx.badge(
        AppState.user_role,
        color_scheme=rx.match(AppState.user_role, ("ADMIN", "crimson"), ("EDITOR", "teal"), "gray"),
        variant="soft",
        size="1",
        id="user-role",
    )


def sidebar() -> rx.Component:
    """Full height of the page (its background and border), its content kept in view."""
    return rx.box(
        _sidebar_content(),
        width=SIDEBAR_WIDTH,
        min_width=SIDEBAR_WIDTH,
        align_self="stretch",
        background=rx.color("gray", 2),
        border_right=f"1px solid {rx.color('gray', 5)}",
        as_="nav",
        aria_label="Main",
    )


def _sidebar_content() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.box(
                rx.icon("chart-no-axes-combined", size=18, color="white"),
                background=rx.color("accent", 9),
                padding="6px",
                border_radius="var(--radius-3)",
                line_height="0",
            ),
            rx.heading(PRODUCT_NAME, size="4", weight="bold", white_space="nowrap"),
            align="center",
            spacing="2",
            padding_x="8px",
            padding_bottom="16px",
        ),
        rx.vstack(*[_nav_link(item) for item in nav_items()], spacing="1", width="100%"),
        rx.spacer(),
        rx.vstack(
            rx.hstack(
                rx.avatar(fallback=AppState.user_initials, size="2", radius="full"),
                rx.vstack(
                    rx.text(AppState.user_name, size="2", weight="medium", id="user-name"),
                    _role_badge(),
                    spacing="1",
                    align="start",
                ),
                align="center",
                spacing="2",
            ),
            rx.hstack(
                rx.button(
                    rx.icon("log-out", size=14),
                    "Sign out",
                    variant="soft",
                    color_scheme="gray",
                    size="1",
                    on_click=AppState.sign_out,
                    id="sign-out",
                ),
                rx.color_mode.button(size="1", variant="soft", color_scheme="gray"),
                spacing="2",
            ),
            spacing="3",
            width="100%",
            padding="8px",
            border_top=f"1px solid {rx.color('gray', 5)}",
            padding_top="16px",
        ),
        height="100vh",
        position="sticky",
        top="0",
        padding="16px",
    )


def live_indicator() -> rx.Component:
    """Connected / reconnecting, from the state of Reflex's WebSocket."""
    return rx.cond(
        has_connection_errors,
        rx.badge(
            rx.spinner(size="1"),
            "Reconnecting…",
            color_scheme="amber",
            variant="soft",
            id="live-indicator",
        ),
        rx.badge(
            rx.box(width="7px", height="7px", border_radius="50%", background=rx.color("grass", 9)),
            "Live",
            color_scheme="grass",
            variant="soft",
            id="live-indicator",
        ),
    )


# Filled by capital_app/wiring.py (presence avatars of the realtime layer); the live
# indicator by default.
PRESENCE_SLOT: list[Callable[[], rx.Component]] = []
LIVE_SLOT: list[Callable[[], rx.Component]] = [live_indicator]


def top_bar() -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text("Organization", size="1", color=rx.color("gray", 10)),
            rx.heading(AppState.organization_name, size="4", id="organization-name"),
            spacing="0",
        ),
        rx.spacer(),
        as_of_control(),
        rx.separator(orientation="vertical", size="2"),
        rx.hstack(*[slot() for slot in PRESENCE_SLOT], spacing="1", id="presence"),
        *[slot() for slot in LIVE_SLOT],
        align="center",
        spacing="4",
        width="100%",
        padding_x="32px",
        padding_y="12px",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 1),
        position="sticky",
        top="0",
        z_index="5",
        wrap="wrap",
    )


def page_header(title: str, *right: rx.Component, subtitle=None) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.heading(title, size="6", weight="bold", id="page-title"),
            rx.text(subtitle, size="2", color=rx.color("gray", 11))
            if subtitle is not None
            else rx.fragment(),
            spacing="1",
        ),
        rx.spacer(),
        *right,
        align="end",
        width="100%",
    )


def signed_in_page(*children: rx.Component) -> rx.Component:
    """Sidebar + (top bar, banner, content). Hidden until the session is resumed."""
    from capital_app.ui.components.change_dialog import change_dialog

    return rx.hstack(
        sidebar(),
        rx.box(
            top_bar(),
            past_view_banner(),
            view_problem_notice(),
            rx.box(
                rx.vstack(*children, spacing="5", width="100%"),
                padding_x="32px",
                padding_y="24px",
                max_width="1280px",
                width="100%",
            ),
            change_dialog(),
            flex="1",
            min_width="0",
            as_="main",
        ),
        spacing="0",
        align="start",
        width="100%",
        min_height="100vh",
        background=rx.color("gray", 1),
    )
