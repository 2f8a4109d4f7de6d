"""The Reflex app: the UI's pages, with the REST API mounted in front of Reflex's backend."""

from __future__ import annotations

import reflex as rx

from capital_app.api.app import create_api_app
from capital_app.realtime.lifespan import listener_health
from capital_app.ui.layout import PRODUCT_NAME
from capital_app.ui.pages.home import HomeState, home

app = rx.App(api_transformer=create_api_app(listener_status=listener_health))

app.add_page(home, route="/", title=PRODUCT_NAME, on_load=HomeState.load)
