"""The sidebar's pages: one table, `NAV_ITEMS`, and every page's route.

Nothing is registered at import time: the sidebar shows exactly the table's
entries (each one a page that capital_app/wiring.py adds), each only to the roles
listed. A new page adds its route here, a row in NAV_ITEMS if it belongs in the
sidebar, and an `add_page` in wiring.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from capital_app.domain.values import Role


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    route: str
    icon: str  # a lucide icon name
    order: int
    roles: frozenset[Role] | None = None  # None: every signed-in user


HOME_ROUTE = "/"
LOGIN_ROUTE = "/login"
HISTORY_ROUTE = "/history"
SOURCES_ROUTE = "/sources"
IMPORT_ROUTE = "/import"
GUIDE_ROUTE = "/import/guide"
SPREADSHEET_IMPORT_ROUTE = "/import/spreadsheet"
USERS_ROUTE = "/users"
API_KEYS_ROUTE = "/api-keys"
ORGANIZATION_ROUTE = "/organization"
AUDIT_ROUTE = "/audit"
WEBHOOKS_ROUTE = "/webhooks"
ALERTS_ROUTE = "/alerts"
RATES_ROUTE = "/rates"

WRITERS = frozenset({Role.EDITOR, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})

NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("Dashboard", HOME_ROUTE, "layout-dashboard", 10),
    NavItem("History", HISTORY_ROUTE, "history", 20),
    NavItem("Sources", SOURCES_ROUTE, "landmark", 30),
    NavItem("Alerts", ALERTS_ROUTE, "bell", 35),
    NavItem("Rates", RATES_ROUTE, "arrow-left-right", 37),
    NavItem("Import", IMPORT_ROUTE, "import", 40, WRITERS),
    NavItem("Users", USERS_ROUTE, "users", 50, ADMINS),
    NavItem("API keys", API_KEYS_ROUTE, "key-round", 55, ADMINS),
    NavItem("Organization", ORGANIZATION_ROUTE, "building-2", 57, ADMINS),
    NavItem("Audit log", AUDIT_ROUTE, "shield-check", 60, ADMINS),
    NavItem("Webhooks", WEBHOOKS_ROUTE, "webhook", 65, ADMINS),
)


def source_href(source_id: str) -> str:
    """The page of one source (ids are URL-safe: UUIDs or the prototype's src_… ids)."""
    return f"{SOURCES_ROUTE}/{quote(source_id, safe='')}"


# The pages whose view (as of, as known at, filters, page) lives in their URL; links
# to them carry the view along (ui/state.py `AppState.view_query`).
VIEW_ROUTES = frozenset({HOME_ROUTE, HISTORY_ROUTE, SOURCES_ROUTE})


def login_path(place: str) -> str:
    """The sign-in page, remembering where to come back to (`next`) unless it is home."""
    target = safe_next(place)
    if target == HOME_ROUTE:
        return LOGIN_ROUTE
    return f"{LOGIN_ROUTE}?{urlencode({'next': target}, safe='/')}"


def safe_next(place: str | None) -> str:
    """Where to go after signing in: a page of this app (path and query), else home.

    Never another site (`//host`, `https://…`, `/\\host`), the API or the sign-in page
    itself: the value comes from a URL anyone can send.
    """
    if not place or len(place) > 2_000 or not place.startswith("/"):
        return HOME_ROUTE
    if place.startswith("//") or "\\" in place or any(ord(c) < 32 or ord(c) == 127 for c in place):
        return HOME_ROUTE
    parts = urlsplit(place)
    if parts.scheme or parts.netloc or parts.fragment:
        return HOME_ROUTE
    path = parts.path.rstrip("/") or "/"
    if path == LOGIN_ROUTE or path == "/api" or path.startswith("/api/"):
        return HOME_ROUTE
    return place


def nav_items() -> list[NavItem]:
    return sorted(NAV_ITEMS, key=lambda item: (item.order, item.label))


def has_route(route: str) -> bool:
    return any(item.route == route for item in NAV_ITEMS)
