"""The app, assembled explicitly: pages, hooks, singletons, the API in front, live updates.

Nothing in the app registers itself when imported: this module is the one place
that puts the parts together, in this order:

1. the Reflex app with the REST API (api/) in front of its backend and the
   WebSocket's bounds (`socket_guard`);
2. the session hooks (`ui.state.install_session_hooks`): the realtime layer learns
   which sessions belong to which organization and who is on which page;
3. the presence avatars in the top bar (`ui.layout.PRESENCE_SLOT`);
4. the realtime lifespan task (one listener per worker, `process_realtime()`) and
   the dashboard's live-room middleware;
5. the WebSocket's origin check;
6. every page with what runs when it loads (the sidebar's entries are the table
   `ui.navigation.NAV_ITEMS`).

capital_app/capital_app.py (the module Reflex loads) calls `build_app()`.
"""

from __future__ import annotations

import reflex as rx

from capital_app.api.app import create_api_app
from capital_app.api.security_headers import origin_allowed
from capital_app.api.socket_guard import socket_guard
from capital_app.observe.gc_freeze import frozen_startup_heap
from capital_app.observe.loop_profile import loop_profile
from capital_app.realtime.lifespan import listener_health, realtime_lifespan
from capital_app.ui import layout, live
from capital_app.ui.layout import PRODUCT_NAME
from capital_app.ui.navigation import (
    ALERTS_ROUTE,
    API_KEYS_ROUTE,
    AUDIT_ROUTE,
    GUIDE_ROUTE,
    HISTORY_ROUTE,
    HOME_ROUTE,
    IMPORT_ROUTE,
    ORGANIZATION_ROUTE,
    RATES_ROUTE,
    SOURCES_ROUTE,
    SPREADSHEET_IMPORT_ROUTE,
    USERS_ROUTE,
    WEBHOOKS_ROUTE,
)
from capital_app.ui.pages.alerts import AlertsState, alerts_page
from capital_app.ui.pages.api_keys import ApiKeysState, api_keys_page
from capital_app.ui.pages.audit import AuditState, audit_log
from capital_app.ui.pages.dashboard import DashboardState, dashboard
from capital_app.ui.pages.dashboard import live as dashboard_live
from capital_app.ui.pages.history import HistoryState, history
from capital_app.ui.pages.import_guide import GuideState, import_guide
from capital_app.ui.pages.login import LoginState, login
from capital_app.ui.pages.organization import OrganizationState, organization_page
from capital_app.ui.pages.prototype_import import ImportState, import_page
from capital_app.ui.pages.rates import RatesState, rates_page
from capital_app.ui.pages.sources import SourceDetailState, SourcesState, source_detail, sources
from capital_app.ui.pages.spreadsheet_import import SpreadsheetState, spreadsheet_import_page
from capital_app.ui.pages.users import UsersState, users
from capital_app.ui.pages.webhooks import WebhooksState, webhooks_page
from capital_app.ui.state import LOGIN_ROUTE, AppState, install_session_hooks


def _title(name: str) -> str:
    return f"{name} · {PRODUCT_NAME}"


def add_pages(app: rx.App) -> None:
    app.add_page(login, route=LOGIN_ROUTE, title=_title("Sign in"), on_load=LoginState.load)
    app.add_page(
        dashboard, route=HOME_ROUTE, title=_title("Dashboard"), on_load=DashboardState.load
    )
    app.add_page(history, route=HISTORY_ROUTE, title=_title("History"), on_load=HistoryState.load)
    app.add_page(sources, route=SOURCES_ROUTE, title=_title("Sources"), on_load=SourcesState.load)
    app.add_page(
        source_detail,
        route=f"{SOURCES_ROUTE}/[source_id]",
        title=_title("Source"),
        on_load=SourceDetailState.load,
    )
    app.add_page(alerts_page, route=ALERTS_ROUTE, title=_title("Alerts"), on_load=AlertsState.load)
    app.add_page(rates_page, route=RATES_ROUTE, title=_title("Rates"), on_load=RatesState.load)
    app.add_page(users, route=USERS_ROUTE, title=_title("Users"), on_load=UsersState.load)
    app.add_page(
        api_keys_page,
        route=API_KEYS_ROUTE,
        title=_title("API keys"),
        on_load=ApiKeysState.load,
    )
    app.add_page(
        organization_page,
        route=ORGANIZATION_ROUTE,
        title=_title("Organization"),
        on_load=OrganizationState.load,
    )
    app.add_page(audit_log, route=AUDIT_ROUTE, title=_title("Audit log"), on_load=AuditState.load)
    app.add_page(
        webhooks_page,
        route=WEBHOOKS_ROUTE,
        title=_title("Webhooks"),
        on_load=WebhooksState.load,
    )
    app.add_page(
        import_page,
        route=IMPORT_ROUTE,
        title=_title("Bring your data over"),
        # The browser's copy is looked for once the session is resumed (the role known).
        on_load=[ImportState.load, ImportState.scan_browser],
    )
    app.add_page(
        import_guide, route=GUIDE_ROUTE, title=_title("Import guide"), on_load=GuideState.load
    )
    app.add_page(
        spreadsheet_import_page,
        route=SPREADSHEET_IMPORT_ROUTE,
        title=_title("Import a spreadsheet"),
        on_load=SpreadsheetState.load,
    )


# Runs before the app starts: the browser's time zone goes where the session state
# reads it (`AppState.time_zone`, localStorage "capital_tz"), so dates are shown in
# the viewer's zone from the first render, with no extra round trip.
TIME_ZONE_SCRIPT = (
    "try{localStorage.setItem('capital_tz',"
    "Intl.DateTimeFormat().resolvedOptions().timeZone||'UTC')}catch(e){}"
)


def build_app() -> rx.App:
    """The whole app, assembled in one place (see the module's docstring)."""
    app = rx.App(
        # The REST API in front of Reflex's backend; the WebSocket's bounds around both.
        api_transformer=[create_api_app(listener_status=listener_health), socket_guard],
        head_components=[rx.script(TIME_ZONE_SCRIPT)],
        style={},
        # Sonner's Toaster reads the document's direction with getComputedStyle on every
        # render unless told: a forced style recalculation of the whole page each time
        # (~0.4 s of a dashboard load with 225 rows in Chrome's profile).
        toaster=rx.toast.provider(dir="ltr"),
    )

    # Live collaboration (docs/realtime.md): each worker LISTENs for committed changes
    # and pushes them into the sessions it holds; presence shows who else is on each page.
    install_session_hooks(live.session_hooks())
    layout.PRESENCE_SLOT[:] = [live.presence_avatars]
    app.add_middleware(dashboard_live.LiveRoomSync())
    app.register_lifespan_task(loop_profile)  # off unless CAPITAL_PROFILE_LOOP (benchmarks)
    app.register_lifespan_task(frozen_startup_heap)  # no full-heap GC pauses in pushes
    app.register_lifespan_task(
        realtime_lifespan(
            AppState.catch_up,
            live.LiveState.presence_changed,
            rooms_first=dashboard_live.broadcast,
            alerts_arrived=AppState.alerts_arrived,
        )
    )

    # The WebSocket accepts pages of this app's own origin (and CAPITAL_ALLOWED_ORIGINS)
    # only; Reflex would hand Socket.IO its CORS list, where an empty one switches the
    # check off.
    if app.sio is not None:
        app.sio.eio.cors_allowed_origins = origin_allowed

    add_pages(app)
    return app
