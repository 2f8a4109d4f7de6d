"""The Reflex app: the UI's pages, with the REST API mounted in front of Reflex's backend."""

from __future__ import annotations

import reflex as rx

from capital_app.api.app import create_api_app
from capital_app.api.security_headers import origin_allowed
from capital_app.api.socket_guard import socket_guard
from capital_app.realtime.lifespan import listener_health, realtime_lifespan
from capital_app.ui import live
from capital_app.ui.pages.dashboard import live as dashboard_live
from capital_app.ui.routes import add_pages
from capital_app.ui.state import AppState

# Runs before the app starts: the browser's time zone goes where the session state
# reads it (`AppState.time_zone`, localStorage "capital_tz"), so dates are shown in
# the viewer's zone from the first render, with no extra round trip.
TIME_ZONE_SCRIPT = (
    "try{localStorage.setItem('capital_tz',"
    "Intl.DateTimeFormat().resolvedOptions().timeZone||'UTC')}catch(e){}"
)

app = rx.App(
    # The REST API in front of Reflex's backend; the WebSocket's bounds around both.
    api_transformer=[create_api_app(listener_status=listener_health), socket_guard],
    head_components=[rx.script(TIME_ZONE_SCRIPT)],
    style={},
)

# Live collaboration (docs/realtime.md): each worker LISTENs for committed changes and
# pushes them into the sessions it holds; presence shows who else is on each page.
live.install()
app.add_middleware(dashboard_live.LiveRoomSync())
app.register_lifespan_task(
    realtime_lifespan(
        AppState.catch_up, live.LiveState.presence_changed, rooms_first=dashboard_live.broadcast
    )
)

# The WebSocket accepts pages of this app's own origin (and CAPITAL_ALLOWED_ORIGINS) only;
# Reflex would hand Socket.IO its CORS list, where an empty one switches the check off.
if app.sio is not None:
    app.sio.eio.cors_allowed_origins = origin_allowed

add_pages(app)
