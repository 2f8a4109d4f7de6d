"""The Reflex app: the UI's pages, with the REST API mounted in front of Reflex's backend."""

from __future__ import annotations

import reflex as rx

from capital_app.api.app import create_api_app
from capital_app.realtime.lifespan import listener_health
from capital_app.ui.routes import add_pages

# Runs before the app starts: the browser's time zone goes where the session state
# reads it (`AppState.time_zone`, localStorage "capital_tz"), so dates are shown in
# the viewer's zone from the first render, with no extra round trip.
TIME_ZONE_SCRIPT = (
    "try{localStorage.setItem('capital_tz',"
    "Intl.DateTimeFormat().resolvedOptions().timeZone||'UTC')}catch(e){}"
)

app = rx.App(
    api_transformer=create_api_app(listener_status=listener_health),
    head_components=[rx.script(TIME_ZONE_SCRIPT)],
    style={},
)

add_pages(app)
