"""Push changes into the Reflex sessions this process holds, per organization.

Each backend worker runs its own listener and pushes only into the sessions
whose WebSocket it holds: every worker sees every notification, so together
they reach every session exactly once, with no cross-worker relay and no lock.
A session is "pushed" by enqueuing its own catch-up event handler, as if its
browser had sent it: the handler runs under the session's state lock, with the
session's own view (filters, as-of date, pending edits) and its own
authorization, and its delta goes out over the session's socket like any other.

The registry is filled by the UI state (on every page load, so also after a
WebSocket reconnect) and pruned against Reflex's token manager, so closed tabs
drop out by themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from reflex.event import Event

from capital_app.observe import metrics
from capital_app.realtime.changes import OrganizationChange

logger = logging.getLogger(__name__)

IsLocal = Callable[[str], bool]
# Serves the sessions sitting in live rooms (one emit per room); returns their tokens.
RoomPush = Callable[[OrganizationChange, IsLocal], Awaitable[set[str]]]


def held_by_this_process(app: Any) -> IsLocal:
    """Whether a client token's WebSocket is connected to this worker.

    Reads Reflex's token manager (`EventNamespace._token_manager`, private in
    0.10.1): its `token_to_socket` records carry the owning worker's
    `instance_id`; a record of another worker (cached from Redis) is not ours.
    """

    def check(token: str) -> bool:
        namespace = app.event_namespace
        if namespace is None:
            return False
        manager = namespace._token_manager
        record = manager.token_to_socket.get(token)
        return record is not None and record.instance_id == manager.instance_id

    return check


class SessionRegistry:
    """Client tokens of this process's sessions, by organization."""

    def __init__(self, is_local: IsLocal) -> None:
        self._is_local = is_local
        self._org_of: dict[str, UUID] = {}
        self._tokens: dict[UUID, set[str]] = {}

    def is_local(self, token: str) -> bool:
        return self._is_local(token)

    def register(self, token: str, organization_id: UUID) -> None:
        """Remember a session (again after a reconnect: same token, maybe a new org)."""
        previous = self._org_of.get(token)
        if previous == organization_id:
            return
        if previous is not None:
            self.unregister(token)
        self._org_of[token] = organization_id
        self._tokens.setdefault(organization_id, set()).add(token)
        metrics.set_live_sessions(len(self._org_of))

    def unregister(self, token: str) -> None:
        org = self._org_of.pop(token, None)
        if org is not None and (tokens := self._tokens.get(org)) is not None:
            tokens.discard(token)
            if not tokens:
                del self._tokens[org]
            metrics.set_live_sessions(len(self._org_of))

    def tokens(self, organization_id: UUID | None) -> list[str]:
        """Connected tokens of one organization (None: of all), forgetting gone ones."""
        orgs = list(self._tokens) if organization_id is None else [organization_id]
        alive: list[str] = []
        for org in orgs:
            for token in list(self._tokens.get(org, ())):
                if self._is_local(token):
                    alive.append(token)
                else:
                    self.unregister(token)
        return alive

    def __len__(self) -> int:
        return len(self._org_of)


class SessionPusher:
    """A listener subscriber that enqueues a catch-up event for each session of the org.

    `event_name` is the full name of the UI's handler (e.g.
    `LiveState.catch_up.get_full_name()`... see docs/realtime.md); it receives
    `revision` (the organization's latest, or None) and `resync`.

    `alert_event_name` (optional): the handler every session of the organization gets,
    with `revision`, when the change carries alerts (or on a resync) — room members
    too: a room emit carries the dashboard's data, not the alerts.
    """

    def __init__(
        self,
        app: Any,
        registry: SessionRegistry,
        event_name: str,
        rooms_first: RoomPush | None = None,
        alert_event_name: str | None = None,
    ) -> None:
        self._app = app
        self._registry = registry
        self._event_name = event_name
        self._rooms_first = rooms_first
        self._alert_event_name = alert_event_name
        self.pushed = 0

    async def __call__(self, change: OrganizationChange) -> None:
        served: set[str] = set()
        if self._rooms_first is not None:
            try:
                served = await self._rooms_first(change, self._registry.is_local)
            except Exception:  # the per-session path below still reaches everyone
                logger.exception("live room push failed")
        payload = {"revision": change.revision, "resync": change.resync}
        processor = self._app.event_processor
        tokens = self._registry.tokens(change.organization_id)
        for token in tokens:
            if token in served:
                continue
            await processor.enqueue(token, Event(name=self._event_name, payload=payload))
            self.pushed += 1
        if self._alert_event_name is not None and (change.alerts > 0 or change.resync):
            news = {"revision": change.revision}
            for token in tokens:
                await processor.enqueue(token, Event(name=self._alert_event_name, payload=news))
