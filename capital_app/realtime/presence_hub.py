"""Presence in a running worker: record who views which page, refresh it, tell the sessions.

The stores (presence.py) say who is where; this hub drives them from the app:

- `arrive` (a page load of a signed-in session, on the worker holding its socket)
  records the session's page at once;
- a heartbeat refreshes the sessions this worker still holds, and drops at once
  those whose socket closed here (a closed tab is gone within one beat; a crashed
  worker's sessions expire with the store's TTL);
- whenever any worker announces a change for an organization, this worker reads
  its viewers once, works out once per (page, person) what a tab there shows (the
  first few others and how many: `presence.companies`), and enqueues the UI's
  presence handler into each session of that organization it holds whose answer
  changed, with that small answer (not the whole list: with 1,000 tabs open, the
  list in every event made each push cost a million entries).

With `REFLEX_REDIS_URL` the store is Redis (shared by every worker), else memory
(one worker). The hub never raises into a page load: presence is a courtesy.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from reflex.event import Event

from capital_app.realtime.presence import Company, MemoryPresence, RedisPresence, Viewer, companies
from capital_app.realtime.sessions import SessionRegistry
from capital_app.settings import get_settings

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
TTL_SECONDS = 20.0
MERGE_SECONDS = 0.05  # announcements of one organization within this are one push
# … plus this much per session of the organization held here: a push is one Reflex
# event per session whose view changed, so with 1,000 tabs open, arrivals are merged
# over about a second instead of each costing 1,000 events (presence is a courtesy;
# the data pushes go first).
MERGE_SECONDS_PER_SESSION = 0.001


def presence_store() -> MemoryPresence | RedisPresence:
    """Redis when the app runs with REFLEX_REDIS_URL (several workers), else memory."""
    url = get_settings().redis_url
    if not url:
        return MemoryPresence(ttl_seconds=TTL_SECONDS)
    import redis.asyncio

    return RedisPresence(redis.asyncio.from_url(url), ttl_seconds=TTL_SECONDS)


class PresenceHub:
    """This worker's side of presence: its sessions' entries and their push."""

    def __init__(self, registry: SessionRegistry) -> None:
        self._registry = registry
        self._store: MemoryPresence | RedisPresence | None = None
        self._app: Any = None
        self._event_name = ""
        self._here: dict[str, tuple[UUID, Viewer]] = {}  # client token → (org, entry)
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: set[UUID] = set()  # organizations with a push waiting or running
        self._again: set[UUID] = set()  # … announced again meanwhile
        self._sent: dict[str, Company] = {}  # client token → what its tab shows now

    @property
    def running(self) -> bool:
        return self._store is not None

    async def arrive(self, organization_id: UUID, viewer: Viewer) -> None:
        """A session shows `viewer.page` now (called on every page load)."""
        if self._store is None:
            return
        previous = self._here.get(viewer.client_token)
        self._here[viewer.client_token] = (organization_id, viewer)
        self._sent.pop(viewer.client_token, None)  # a page load: its tab shows no one yet
        try:
            if previous is not None and previous[0] != organization_id:
                await self._store.leave(previous[0], viewer.client_token)
            await self._store.touch(organization_id, viewer)
        except Exception:
            logger.warning("presence could not be recorded", exc_info=True)

    def depart(self, client_token: str) -> None:
        """A session signed out (sync: called from the UI's SESSION_ENDED hook)."""
        found = self._here.pop(client_token, None)
        self._sent.pop(client_token, None)
        if found is not None and self._store is not None:
            asyncio.get_running_loop().create_task(self._leave(found[0], client_token))

    async def _leave(self, organization_id: UUID, client_token: str) -> None:
        try:
            await self._store.leave(organization_id, client_token)  # type: ignore[union-attr]
        except Exception:
            logger.warning("presence could not be cleared", exc_info=True)

    @contextlib.asynccontextmanager
    async def running_in(self, app: Any, event_name: str) -> AsyncIterator[None]:
        """Open the store, follow every worker's announcements, beat until shutdown."""
        self._store, self._app, self._event_name = presence_store(), app, event_name
        try:
            async with self._store.subscribe(self._push):
                beat = asyncio.get_running_loop().create_task(self._heartbeat())
                try:
                    yield
                finally:
                    beat.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await beat
        finally:
            store, self._store = self._store, None
            self._here.clear()
            if isinstance(store, RedisPresence):
                await store.redis.aclose()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self.beat()
            except Exception:
                logger.warning("presence heartbeat failed", exc_info=True)

    async def beat(self) -> None:
        """Refresh the entries of sessions held here; drop those whose socket is gone."""
        held = set(self._registry.tokens(None))
        for token, (org, viewer) in list(self._here.items()):
            if token in held:
                await self._store.touch(org, viewer)  # type: ignore[union-attr]
            else:
                del self._here[token]
                self._sent.pop(token, None)
                await self._store.leave(org, token)  # type: ignore[union-attr]
        for org in {org for org, _ in self._here.values()}:
            await self._store.sweep(org)  # type: ignore[union-attr]

    async def _push(self, organization_id: UUID) -> None:
        """Announced (by any worker): tell this worker's sessions of the organization.

        Runs as a task of its own, in an empty context: in memory the announcement
        comes from inside a session's event, and Reflex would give events enqueued
        from there that session's router data (whose client token it is).
        """
        # Merged per organization: announcements arriving while a push for it is
        # waiting or running make one more push afterwards (with the latest
        # viewers), not one each — 100 tabs arriving cost a few pushes, not 100.
        if organization_id in self._pending:
            self._again.add(organization_id)
            return
        self._pending.add(organization_id)
        task = asyncio.get_running_loop().create_task(
            self._merged(organization_id), context=contextvars.Context()
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _merged(self, organization_id: UUID) -> None:
        try:
            while True:
                sessions = len(self._registry.tokens(organization_id))
                await asyncio.sleep(MERGE_SECONDS + MERGE_SECONDS_PER_SESSION * sessions)
                self._again.discard(organization_id)
                await self._push_now(organization_id)
                if organization_id not in self._again:
                    return
        finally:
            self._pending.discard(organization_id)
            self._again.discard(organization_id)

    async def _push_now(self, organization_id: UUID) -> None:
        tokens = self._registry.tokens(organization_id)
        if not tokens or self._store is None:
            return
        try:
            viewers = await self._store.viewers(organization_id)
            places = {
                token: (found[1].page, found[1].user_id)
                for token in tokens
                if (found := self._here.get(token)) is not None and found[0] == organization_id
            }
            answers = companies(viewers, set(places.values()))
            processor = self._app.event_processor
            for token, place in places.items():
                company = answers[place]
                if self._sent.get(token) == company:
                    continue  # this tab shows exactly that already
                self._sent[token] = company
                event = Event(name=self._event_name, payload=company.payload())
                await processor.enqueue(token, event)
        except Exception:
            logger.warning("presence could not be pushed", exc_info=True)
