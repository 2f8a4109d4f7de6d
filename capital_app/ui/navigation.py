"""The sidebar's pages: a registry, so a page (e.g. Import) adds its own entry.

A page module registers its item when it is imported, before the app compiles;
the sidebar shows only what is registered (no dead links) and only to the roles
listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from capital_app.domain.values import Role


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    route: str
    icon: str  # a lucide icon name
    order: int
    roles: frozenset[Role] | None = None  # None: every signed-in user


SOURCES_ROUTE = "/sources"


def source_href(source_id: str) -> str:
    """The page of one source (ids are URL-safe: UUIDs or the prototype's src_… ids)."""
    return f"{SOURCES_ROUTE}/{quote(source_id, safe='')}"


_ITEMS: dict[str, NavItem] = {}

WRITERS = frozenset({Role.EDITOR, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})


def register_nav_item(item: NavItem) -> None:
    """Add (or replace, by route) a sidebar entry."""
    _ITEMS[item.route] = item


def nav_items() -> list[NavItem]:
    return sorted(_ITEMS.values(), key=lambda item: (item.order, item.label))


def has_route(route: str) -> bool:
    return route in _ITEMS


register_nav_item(NavItem("Dashboard", "/", "layout-dashboard", 10))
register_nav_item(NavItem("History", "/history", "history", 20))
register_nav_item(NavItem("Sources", SOURCES_ROUTE, "landmark", 30))
# 40 is where "Import" goes (EDITOR and ADMIN), registered by its page.
register_nav_item(NavItem("Users", "/users", "users", 50, ADMINS))
