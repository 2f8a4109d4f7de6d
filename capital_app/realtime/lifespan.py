"""The realtime machinery of this backend process, started and stopped with the Reflex app.

Register it in capital_app/capital_app.py, before the app starts:

    from capital_app.realtime.lifespan import realtime_lifespan
    app.register_lifespan_task(realtime_lifespan(AppState.catch_up))

Reflex 0.10.1 calls a registered function at start-up, passing `app=` because
the function has a parameter of that name; the function returns an async
context manager, which Reflex enters at start-up and exits at shutdown (after
its own event processor started, before it stops). Lifespan tasks run once per
worker process, so every worker has its own listener: intended, each pushes only
into the sessions whose sockets it holds.

The UI registers each session on page load (`register_session`) and reads its
catch-up through `SHARED_READS`; see docs/realtime.md.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from uuid import UUID

from capital_app.db.engine import libpq_url, runtime_database_url
from capital_app.realtime.listener import ChangeListener, ListenerState
from capital_app.realtime.presence_hub import PresenceHub
from capital_app.realtime.sessions import SessionPusher, SessionRegistry, held_by_this_process
from capital_app.realtime.shared_reads import SharedReads

_listener: ChangeListener | None = None
_app: Any = None


def _listener_conninfo() -> str:
    """LISTEN needs no rights: the runtime login role, never the owner."""
    return libpq_url(runtime_database_url())


def _held_here(token: str) -> bool:
    return _app is not None and held_by_this_process(_app)(token)


SESSIONS = SessionRegistry(_held_here)
SHARED_READS = SharedReads()
PRESENCE = PresenceHub(SESSIONS)


def get_listener() -> ChangeListener:
    """This process's listener (created on first use, started by the lifespan)."""
    global _listener
    if _listener is None:
        _listener = ChangeListener(_listener_conninfo)
    return _listener


def register_session(client_token: str, organization_id: UUID) -> None:
    """Call on every page load of a signed-in session (also runs after a reconnect)."""
    SESSIONS.register(client_token, organization_id)


def unregister_session(client_token: str) -> None:
    """Call on sign-out (closed tabs drop out by themselves)."""
    SESSIONS.unregister(client_token)


def realtime_lifespan(
    catch_up: Any, presence_changed: Any = None
) -> Callable[..., contextlib.AbstractAsyncContextManager]:
    """The lifespan task: this process's listener, pushing into its sessions.

    `catch_up` is the UI's event handler (or its full name) that each session of
    the organization gets, with `revision` (int | None) and `resync` (bool).
    `presence_changed` (optional) gets `viewers` (the organization's open tabs)
    whenever someone of the organization arrives, moves or leaves.
    """
    event_name = _name(catch_up)

    @contextlib.asynccontextmanager
    async def realtime(app: Any) -> AsyncIterator[None]:
        with bound_app(app):
            listener = get_listener()
            listener.subscribe(SessionPusher(app, SESSIONS, event_name))
            await listener.start()
            try:
                if presence_changed is None:
                    yield
                else:
                    async with PRESENCE.running_in(app, _name(presence_changed)):
                        yield
            finally:
                await listener.stop()

    return realtime


@contextlib.contextmanager
def bound_app(app: Any) -> Iterator[None]:
    """Let SESSIONS ask this app which sockets this process holds (else none are)."""
    global _app
    _app = app
    try:
        yield
    finally:
        _app = None


def _name(handler: Any) -> str:
    if isinstance(handler, str):
        return handler
    from reflex_base.utils.format import format_event_handler

    return format_event_handler(handler)


def listener_health() -> dict[str, Any]:
    """The listener's state for GET /api/health ("stopped" when none runs here).

    Per worker: `worker_pid` says which worker answered, `sessions` how many
    sessions it holds, `presence` whether its presence hub runs.
    """
    here = {"sessions": len(SESSIONS), "worker_pid": os.getpid(), "presence": PRESENCE.running}
    if _listener is None:
        return {"state": str(ListenerState.STOPPED), **here}
    return {**_listener.status().as_json(), **here}
