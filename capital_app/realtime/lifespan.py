"""The listener of this backend process, started and stopped with the Reflex app.

Register it in capital_app/capital_app.py, before the app starts:

    from capital_app.realtime.lifespan import realtime_lifespan
    app.register_lifespan_task(realtime_lifespan)

Reflex (0.10.1) calls a registered function at start-up (passing `app=` when the
function has a parameter of that name) and, since this one returns an async
context manager, enters it and exits it at shutdown. Lifespan tasks run once per
worker process, so every worker has its own listener: that is intended, each
pushes only into the sessions whose sockets it holds.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from capital_app.db.engine import libpq_url, owner_database_url
from capital_app.realtime.listener import ChangeListener, ListenerState

_listener: ChangeListener | None = None


def _owner_conninfo() -> str:
    return libpq_url(owner_database_url())


def get_listener() -> ChangeListener:
    """This process's listener (created on first use, started by the lifespan)."""
    global _listener
    if _listener is None:
        _listener = ChangeListener(_owner_conninfo)
    return _listener


@contextlib.asynccontextmanager
async def realtime_lifespan() -> AsyncIterator[None]:
    """Run this process's listener for as long as the app runs."""
    listener = get_listener()
    await listener.start()
    try:
        yield
    finally:
        await listener.stop()


def listener_health() -> dict[str, Any]:
    """The listener's state for GET /api/health ("stopped" when none runs here)."""
    if _listener is None:
        return {"state": str(ListenerState.STOPPED)}
    return _listener.status().as_json()
