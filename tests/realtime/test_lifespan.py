"""The lifespan task end to end: a commit reaches the catch-up of the organization's sessions.

The Reflex app is replaced by the few attributes the push uses (the token
manager's socket records, the event processor's enqueue); the real thing is
covered by the browser tests and benchmarks/realtime.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from reflex.event import Event

from capital_app.realtime.lifespan import (
    get_listener,
    listener_health,
    process_realtime,
    realtime_lifespan,
    register_session,
    unregister_session,
)
from tests.realtime.conftest import raw_insert
from tests.support.factories import Tenant

pytestmark = pytest.mark.anyio

CATCH_UP = "reflex___state____state.capital_app___ui___state____app_state.catch_up"


@dataclass
class _Processor:
    enqueued: list[tuple[str, Event]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def enqueue(self, token: str, event: Event) -> None:
        self.enqueued.append((token, event))
        self.arrived.set()


def _app(connected: dict[str, str]) -> SimpleNamespace:
    """Tokens connected to this worker ("me") or to another one."""
    manager = SimpleNamespace(
        instance_id="me",
        token_to_socket={t: SimpleNamespace(instance_id=i, sid=t) for t, i in connected.items()},
    )
    return SimpleNamespace(
        event_namespace=SimpleNamespace(_token_manager=manager), event_processor=_Processor()
    )


async def test_a_commit_enqueues_the_catch_up_of_this_workers_sessions_of_the_org(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    app = _app({"mine": "me", "theirs": "me", "elsewhere": "other-worker"})
    register_session("mine", tenant.org_id)
    register_session("elsewhere", tenant.org_id)  # its socket is held by another worker
    register_session("theirs", other_tenant.org_id)
    assert listener_health()["state"] == "stopped"
    try:
        async with realtime_lifespan(CATCH_UP)(app=app):
            await get_listener().wait_connected(timeout=10)
            health = listener_health()
            assert health["state"] == "connected"
            assert health["subscribers"] == 1
            await asyncio.wait_for(app.event_processor.arrived.wait(), 5)  # the first resync
            app.event_processor.enqueued.clear()

            revision = await asyncio.to_thread(raw_insert, tenant.org_id)
            for _ in range(100):
                if app.event_processor.enqueued:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)

            assert [(t, e.name, e.payload) for t, e in app.event_processor.enqueued] == [
                ("mine", CATCH_UP, {"revision": revision, "resync": False})
            ]
            assert listener_health()["last_notification_at"] is not None
            assert listener_health()["sessions"] == 2  # "elsewhere" was forgotten
    finally:
        for token in ("mine", "elsewhere", "theirs"):
            unregister_session(token)
    assert listener_health()["state"] == "stopped"
    assert process_realtime().app is None
