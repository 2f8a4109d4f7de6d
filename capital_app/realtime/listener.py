"""One LISTEN connection per backend process, fanned out to async subscribers.

The insert trigger on capital_history sends one NOTIFY per statement and
organization, only when the transaction commits. This listener holds one
dedicated autocommit connection (as the owner: LISTEN needs no table rights),
merges bursts per organization for a few milliseconds (an import can send many
notifications in a row) and hands each subscriber the latest revision of its
organization.

Notifications sent while the connection is down are lost, so every (re)connect
tells every subscriber to resync: re-read everything since its own revision.
Reconnects back off exponentially (capped, with jitter so several workers do
not knock at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import psycopg

from capital_app.observe import metrics
from capital_app.realtime.changes import CHANNEL, OrganizationChange, parse_notification

logger = logging.getLogger(__name__)

Subscriber = Callable[[OrganizationChange], Awaitable[None]]
ConninfoSource = Callable[[], str]

APPLICATION_NAME = "capital-ledger-listener"


class ListenerState(StrEnum):
    CONNECTING = "connecting"  # first connection not made yet
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"  # lost (or never got) the connection, retrying
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ListenerStatus:
    """What /api/health reports about this process's listener."""

    state: ListenerState
    connected_since: datetime | None
    last_notification_at: datetime | None
    notifications: int
    reconnect_count: int
    failed_attempts: int
    last_error: str | None
    backend_pid: int | None
    subscribers: int

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("connected_since", "last_notification_at"):
            data[key] = data[key].isoformat() if data[key] else None
        data["state"] = str(self.state)
        return data


@dataclass(frozen=True, slots=True)
class ListenerTiming:
    """How quickly changes are passed on and how patiently reconnects are retried."""

    debounce_seconds: float = 0.003
    backoff_initial_seconds: float = 0.1
    backoff_max_seconds: float = 5.0
    health_check_seconds: float = 30.0
    connect_timeout_seconds: int = 5


class Subscription:
    """One subscriber's mailbox: at most one pending change per organization.

    The subscriber is never called concurrently with itself; while it works,
    newer changes merge into the pending one, so a slow subscriber gets the
    latest revision next instead of a backlog.
    """

    def __init__(
        self, listener: ChangeListener, callback: Subscriber, organization_id: UUID | None
    ) -> None:
        self.organization_id = organization_id
        self._listener = listener
        self._callback = callback
        self._pending: dict[UUID | None, OrganizationChange] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.closed = False

    def deliver(self, change: OrganizationChange) -> None:
        if self.closed:
            return
        key = change.organization_id
        previous = self._pending.get(key)
        self._pending[key] = previous.merged(change) if previous else change
        self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._drain(), name=f"realtime-subscriber-{id(self):x}"
            )

    async def _drain(self) -> None:
        while not self.closed:
            await self._wake.wait()
            self._wake.clear()
            pending, self._pending = self._pending, {}
            for change in pending.values():
                try:
                    await self._callback(change)
                except Exception:
                    logger.exception("A realtime subscriber failed on %s", change)

    async def close(self) -> None:
        """Stop delivering; waits for a delivery in progress to be cancelled."""
        self.closed = True
        self._listener._forget(self)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@dataclass
class _Counters:
    state: ListenerState = ListenerState.STOPPED
    connected_since: datetime | None = None
    last_notification_at: datetime | None = None
    notifications: int = 0
    connects: int = 0
    failed_attempts: int = 0
    last_error: str | None = None
    backend_pid: int | None = None
    burst: dict[UUID, OrganizationChange] = field(default_factory=dict)


class ChangeListener:
    """LISTEN on `capital_history` and pass changes to subscribers, per organization."""

    def __init__(self, conninfo: ConninfoSource, timing: ListenerTiming | None = None) -> None:
        """`conninfo` is called (in a thread) before each connect: a libpq URL."""
        self._conninfo = conninfo
        self.timing = timing or ListenerTiming()
        self._by_org: dict[UUID, set[Subscription]] = {}
        self._everywhere: set[Subscription] = set()
        self._c = _Counters()
        self._task: asyncio.Task[None] | None = None
        self._flush_handle: asyncio.TimerHandle | None = None
        self._connected = asyncio.Event()

    # -- subscribers ---------------------------------------------------------

    def subscribe(self, callback: Subscriber, organization_id: UUID | None = None) -> Subscription:
        """Call `callback` with changes of one organization (None: of every organization)."""
        subscription = Subscription(self, callback, organization_id)
        if organization_id is None:
            self._everywhere.add(subscription)
        else:
            self._by_org.setdefault(organization_id, set()).add(subscription)
        return subscription

    def _forget(self, subscription: Subscription) -> None:
        self._everywhere.discard(subscription)
        org = subscription.organization_id
        if org is not None and (subs := self._by_org.get(org)) is not None:
            subs.discard(subscription)
            if not subs:
                del self._by_org[org]

    def _subscriptions(self) -> list[Subscription]:
        return [*self._everywhere, *(s for subs in self._by_org.values() for s in subs)]

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self._c.state = ListenerState.CONNECTING
        self._task = asyncio.get_running_loop().create_task(self._run(), name="realtime-listener")

    async def stop(self) -> None:
        """Close the connection and end every subscription."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._c.burst.clear()
        for subscription in self._subscriptions():
            await subscription.close()
        self._c.state = ListenerState.STOPPED
        metrics.set_listener_connected(False)
        self._c.backend_pid = None
        self._connected.clear()

    async def wait_connected(self, timeout: float) -> None:
        """Wait until LISTEN is in place (for tests and start-up checks)."""
        await asyncio.wait_for(self._connected.wait(), timeout)

    def status(self) -> ListenerStatus:
        c = self._c
        return ListenerStatus(
            state=c.state,
            connected_since=c.connected_since,
            last_notification_at=c.last_notification_at,
            notifications=c.notifications,
            reconnect_count=max(0, c.connects - 1),
            failed_attempts=c.failed_attempts,
            last_error=c.last_error,
            backend_pid=c.backend_pid,
            subscribers=len(self._subscriptions()),
        )

    # -- the connection loop -------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                await self._listen_once()
                # A clean return means the server closed the connection.
                error_text = "connection closed"
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError, TimeoutError) as error:
                error_text = f"{type(error).__name__}: {error}".strip()
            except Exception as error:  # never let the listener die for good
                logger.exception("Realtime listener failed unexpectedly")
                error_text = f"{type(error).__name__}: {error}"
            was_connected = self._c.state is ListenerState.CONNECTED
            self._connected.clear()
            metrics.set_listener_connected(False)
            self._c.state = ListenerState.RECONNECTING
            self._c.backend_pid = None
            self._c.connected_since = None
            self._c.last_error = error_text
            if was_connected:
                attempt = 0
                logger.warning("Realtime listener lost its connection: %s", error_text)
            else:
                self._c.failed_attempts += 1
                logger.warning("Realtime listener cannot connect: %s", error_text)
            await asyncio.sleep(self._backoff(attempt))
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        t = self.timing
        delay = min(t.backoff_max_seconds, t.backoff_initial_seconds * (2**attempt))
        return delay * random.uniform(0.8, 1.0)

    async def _listen_once(self) -> None:
        conninfo = await asyncio.to_thread(self._conninfo)
        conn = await psycopg.AsyncConnection.connect(
            conninfo,
            autocommit=True,
            application_name=APPLICATION_NAME,
            connect_timeout=self.timing.connect_timeout_seconds,
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )
        async with conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            c = self._c
            c.state = ListenerState.CONNECTED
            c.connected_since = datetime.now(UTC)
            c.backend_pid = conn.info.backend_pid
            c.connects += 1
            c.last_error = None
            self._connected.set()
            metrics.set_listener_connected(True)
            if c.connects > 1:
                metrics.count_listener_reconnect()
                logger.info("Realtime listener reconnected (pid %s)", c.backend_pid)
            # Whatever was sent while we were not listening is lost: everyone resyncs.
            self._announce_resync()
            await self._read(conn)

    async def _read(self, conn: psycopg.AsyncConnection) -> None:
        interval = self.timing.health_check_seconds
        while True:
            async for notify in conn.notifies(timeout=interval):
                self._on_notify(notify.payload)
            # Quiet for a while: prove the connection is alive (a dead peer
            # behind a silent network would otherwise look like silence).
            await asyncio.wait_for(conn.execute("SELECT 1"), timeout=interval)

    # -- merging and dispatch ------------------------------------------------

    def _on_notify(self, payload: str) -> None:
        change = parse_notification(payload)
        if change is None or change.organization_id is None:
            return
        change = replace(change, noticed_at=time.monotonic())
        c = self._c
        c.notifications += 1
        c.last_notification_at = datetime.now(UTC)
        org_id = change.organization_id
        assert org_id is not None  # checked above; `replace` loses the narrowing
        previous = c.burst.get(org_id)
        c.burst[org_id] = previous.merged(change) if previous else change
        if self._flush_handle is None:
            # The first notification of a burst opens a short window; everything
            # arriving within it goes out as one change per organization.
            self._flush_handle = asyncio.get_running_loop().call_later(
                self.timing.debounce_seconds, self._flush
            )

    def _flush(self) -> None:
        self._flush_handle = None
        burst, self._c.burst = self._c.burst, {}
        for org, change in burst.items():
            for subscription in (*self._by_org.get(org, ()), *self._everywhere):
                subscription.deliver(change)

    def _announce_resync(self) -> None:
        for org, subs in self._by_org.items():
            for subscription in subs:
                subscription.deliver(OrganizationChange(org, None, resync=True))
        for subscription in self._everywhere:
            subscription.deliver(OrganizationChange(None, None, resync=True))
