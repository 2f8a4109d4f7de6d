"""The realtime machinery of this backend process, started and stopped with the Reflex app.

Registered by capital_app/wiring.py, before the app starts:

    from capital_app.realtime.lifespan import realtime_lifespan
    app.register_lifespan_task(realtime_lifespan(AppState.catch_up))

Reflex 0.10.1 calls a registered function at start-up, passing `app=` because
the function has a parameter of that name; the function returns an async
context manager, which Reflex enters at start-up and exits at shutdown (after
its own event processor started, before it stops). Lifespan tasks run once per
worker process, so every worker has its own listener: intended, each pushes only
into the sessions whose sockets it holds.

This process's machinery (session registry, shared reads, presence hub, listener,
live rooms, the running app) lives in one `ProcessRealtime`, reached through
`process_realtime()`: nothing else here holds state. The UI registers each session
on page load (`register_session`) and reads its catch-up through
`process_realtime().shared_reads`; see docs/realtime.md.
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
from capital_app.realtime.rooms import ROOMS, Rooms
from capital_app.realtime.sessions import (
    RoomPush,
    SessionPusher,
    SessionRegistry,
    held_by_this_process,
)
from capital_app.realtime.shared_reads import SharedReads


def _listener_conninfo() -> str:
    """LISTEN needs no rights: the runtime login role, never the owner."""
    return libpq_url(runtime_database_url())


class ProcessRealtime:
    """The realtime machinery of this process (one per worker), created once."""

    def __init__(self) -> None:
        self.app: Any = None  # the running Reflex app, while the lifespan runs
        self.sessions = SessionRegistry(self._held_here)
        self.shared_reads = SharedReads()
        self.presence = PresenceHub(self.sessions)
        self.rooms: Rooms = ROOMS
        self._listener: ChangeListener | None = None

    def _held_here(self, token: str) -> bool:
        return self.app is not None and held_by_this_process(self.app)(token)

    @property
    def listener(self) -> ChangeListener:
        """This process's listener (created on first use, started by the lifespan)."""
        if self._listener is None:
            self._listener = ChangeListener(_listener_conninfo)
        return self._listener

    @property
    def listener_started(self) -> bool:
        return self._listener is not None


_PROCESS = ProcessRealtime()


def process_realtime() -> ProcessRealtime:
    """The one accessor of this process's realtime machinery."""
    return _PROCESS


def get_listener() -> ChangeListener:
    """This process's listener (created on first use, started by the lifespan)."""
    return _PROCESS.listener


def register_session(client_token: str, organization_id: UUID) -> None:
    """Call on every page load of a signed-in session (also runs after a reconnect)."""
    _PROCESS.sessions.register(client_token, organization_id)


def unregister_session(client_token: str) -> None:
    """Call on sign-out (closed tabs drop out by themselves)."""
    _PROCESS.sessions.unregister(client_token)
    _PROCESS.rooms.leave(client_token)


def realtime_lifespan(
    catch_up: Any,
    presence_changed: Any = None,
    rooms_first: RoomPush | None = None,
    alerts_arrived: Any = None,
) -> Callable[..., contextlib.AbstractAsyncContextManager]:
    """The lifespan task: this process's listener, pushing into its sessions.

    `catch_up` is the UI's event handler (or its full name) that each session of
    the organization gets, with `revision` (int | None) and `resync` (bool).
    `presence_changed` (optional) gets `others` and `count` (who else is on the
    session's page: realtime/presence.py, `companies`) whenever that changes.
    `rooms_first` (optional) serves the sessions sitting in live rooms
    (realtime/rooms.py) with one emit per room before the per-session pushes.
    `alerts_arrived` (optional) gets `revision` in every session of the organization
    when a change carries triggered alerts (service/alerts.py), and on a resync.
    """
    event_name = _name(catch_up)
    alert_event = None if alerts_arrived is None else _name(alerts_arrived)

    @contextlib.asynccontextmanager
    async def realtime(app: Any) -> AsyncIterator[None]:
        here = _PROCESS
        with bound_app(app):
            here.rooms.server = getattr(app, "sio", None)  # test doubles have no Socket.IO server
            listener = here.listener
            listener.subscribe(
                SessionPusher(app, here.sessions, event_name, rooms_first, alert_event)
            )
            await listener.start()
            try:
                if presence_changed is None:
                    yield
                else:
                    async with here.presence.running_in(app, _name(presence_changed)):
                        yield
            finally:
                await listener.stop()
                here.rooms.server = None

    return realtime


@contextlib.contextmanager
def bound_app(app: Any) -> Iterator[None]:
    """Let the session registry ask this app which sockets this process holds (else none
    are)."""
    _PROCESS.app = app
    try:
        yield
    finally:
        _PROCESS.app = None


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
    process = _PROCESS
    here = {
        "sessions": len(process.sessions),
        "room_members": len(process.rooms),
        "room_emits": process.rooms.emits,
        "worker_pid": os.getpid(),
        "presence": process.presence.running,
    }
    if not process.listener_started:
        return {"state": str(ListenerState.STOPPED), **here}
    return {**process.listener.status().as_json(), **here}
