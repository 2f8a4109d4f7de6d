"""The app's assembly: the sidebar's table and the session hooks, with nothing registered
at import time."""

from __future__ import annotations

from uuid import uuid4

from capital_app.domain.values import Role
from capital_app.realtime.lifespan import process_realtime
from capital_app.ui import live
from capital_app.ui.navigation import IMPORT_ROUTE, NAV_ITEMS, has_route, nav_items
from capital_app.ui.state import SessionHooks, install_session_hooks, session_hooks


def test_the_sidebar_is_the_table_in_order_with_roles() -> None:
    assert [(i.label, i.route) for i in nav_items()] == [
        ("Dashboard", "/"),
        ("History", "/history"),
        ("Sources", "/sources"),
        ("Alerts", "/alerts"),
        ("Rates", "/rates"),
        ("Import", "/import"),
        ("Users", "/users"),
        ("API keys", "/api-keys"),
        ("Organization", "/organization"),
        ("Audit log", "/audit"),
        ("Webhooks", "/webhooks"),
    ]
    assert len({i.route for i in NAV_ITEMS}) == len(NAV_ITEMS)
    by_route = {i.route: i for i in NAV_ITEMS}
    assert by_route["/"].roles is None
    assert by_route[IMPORT_ROUTE].roles == frozenset({Role.EDITOR, Role.ADMIN})
    assert by_route["/webhooks"].roles == frozenset({Role.ADMIN})
    assert has_route(IMPORT_ROUTE) and not has_route("/nowhere")


def test_importing_the_pages_registers_nothing() -> None:
    import capital_app.wiring  # noqa: F401  (every page module imported)
    from capital_app.ui.layout import PRESENCE_SLOT

    assert session_hooks() == SessionHooks()  # installed by build_app() only
    assert PRESENCE_SLOT == []
    assert len(nav_items()) == len(NAV_ITEMS)


def test_installed_hooks_are_the_realtime_layers_and_register_the_session() -> None:
    before = session_hooks()
    try:
        install_session_hooks(live.session_hooks())
        hooks = session_hooks()
        assert hooks.signed_in is not None and hooks.ended is not None
        assert hooks.page_loaded is not None
        org = uuid4()
        sessions = process_realtime().sessions
        count = len(sessions)
        hooks.signed_in("tab-wiring", org)
        assert len(sessions) == count + 1
        hooks.ended("tab-wiring")
        assert len(sessions) == count
    finally:
        install_session_hooks(before)
