"""Every page of the web UI and what runs when it loads."""

from __future__ import annotations

import reflex as rx

from capital_app.ui.layout import PRODUCT_NAME
from capital_app.ui.navigation import SOURCES_ROUTE
from capital_app.ui.pages.api_keys import API_KEYS_ROUTE, ApiKeysState, api_keys_page
from capital_app.ui.pages.audit import AUDIT_ROUTE, AuditState, audit_log
from capital_app.ui.pages.dashboard import DashboardState, dashboard
from capital_app.ui.pages.history import HistoryState, history
from capital_app.ui.pages.import_data import GUIDE_ROUTE, IMPORT_ROUTE, ImportState, import_page
from capital_app.ui.pages.import_guide import GuideState, import_guide
from capital_app.ui.pages.login import LoginState, login
from capital_app.ui.pages.organization import (
    ORGANIZATION_ROUTE,
    OrganizationState,
    organization_page,
)
from capital_app.ui.pages.sources import SourceDetailState, SourcesState, source_detail, sources
from capital_app.ui.pages.users import UsersState, users
from capital_app.ui.pages.webhooks import WEBHOOKS_ROUTE, WebhooksState, webhooks_page
from capital_app.ui.state import LOGIN_ROUTE


def _title(name: str) -> str:
    return f"{name} · {PRODUCT_NAME}"


def add_pages(app: rx.App) -> None:
    app.add_page(login, route=LOGIN_ROUTE, title=_title("Sign in"), on_load=LoginState.load)
    app.add_page(dashboard, route="/", title=_title("Dashboard"), on_load=DashboardState.load)
    app.add_page(history, route="/history", title=_title("History"), on_load=HistoryState.load)
    app.add_page(sources, route=SOURCES_ROUTE, title=_title("Sources"), on_load=SourcesState.load)
    app.add_page(
        source_detail,
        route=f"{SOURCES_ROUTE}/[source_id]",
        title=_title("Source"),
        on_load=SourceDetailState.load,
    )
    app.add_page(users, route="/users", title=_title("Users"), on_load=UsersState.load)
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
