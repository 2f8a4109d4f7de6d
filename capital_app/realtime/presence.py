"""Who of an organization has which page open now, across workers, expiring closed tabs.

Presence is ephemeral, so it stays out of the system of record: with several
workers it lives in Redis (the one Reflex already needs for them), with one
worker in that process's memory. Both stores have the same interface:

- `touch` records a session's page (on every page load, and as a heartbeat for
  the sessions a worker holds); it returns True when others should be told
  (someone arrived or changed page);
- `sweep` drops entries whose heartbeat stopped (a closed tab leaves Reflex's
  token manager, so its worker stops refreshing it) and returns True if any went;
- `viewers` lists the live entries of an organization;
- `subscribe` calls back with an organization id whenever any worker announced a
  change for it (Redis pub/sub; in memory, a direct call).

The heartbeat loop and the push into sessions (an `AppState.presence_changed`
event through the SessionPusher) belong to the UI wiring: see docs/realtime.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

logger = logging.getLogger(__name__)

CHANNEL = "capital:presence"
DEFAULT_TTL_SECONDS = 30.0

Announce = Callable[[UUID], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Viewer:
    """One open tab: whose, and on which page."""

    client_token: str
    user_id: str
    name: str
    page: str
    expires_at: float = 0.0  # time.time() after which the tab counts as closed

    def same_place(self, other: Viewer | None) -> bool:
        return other is not None and (other.user_id, other.page) == (self.user_id, self.page)


AVATARS = 5  # the others a tab shows by name (the rest as "+N")


@dataclass(frozen=True, slots=True)
class Company:
    """What one person's tab on a page shows of the others there: the first `AVATARS`
    of them (user id, name; by name) and how many there are, each person once."""

    others: tuple[tuple[str, str], ...]
    count: int

    def payload(self) -> dict[str, Any]:
        return {
            "others": [{"user_id": u, "name": n} for u, n in self.others],
            "count": self.count,
        }


def companies(
    viewers: list[Viewer], places: set[tuple[str, str]]
) -> dict[tuple[str, str], Company]:
    """For each (page, user) of `places`: the others on that page, never that user.

    One pass over the viewers and one sort per page, whatever the number of tabs: a
    push to 1,000 tabs of 100 people computes 100 small answers, not 1,000 scans."""
    pages = {page for page, _ in places}
    people: dict[str, dict[str, str]] = {page: {} for page in pages}
    for v in viewers:
        on_page = people.get(v.page)
        if on_page is not None and v.user_id not in on_page:
            on_page[v.user_id] = v.name
    ordered = {
        page: sorted(found.items(), key=lambda kv: (kv[1].lower(), kv[0]))
        for page, found in people.items()
    }
    answers: dict[tuple[str, str], Company] = {}
    for page, user in places:
        everyone = ordered[page]
        others = tuple(p for p in everyone[: AVATARS + 1] if p[0] != user)[:AVATARS]
        answers[(page, user)] = Company(others, len(everyone) - (user in people[page]))
    return answers


class MemoryPresence:
    """Presence for a single backend process (no Redis)."""

    def __init__(self, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        self.ttl_seconds = ttl_seconds
        self._orgs: dict[UUID, dict[str, Viewer]] = {}
        self._subscribers: list[Announce] = []

    async def touch(self, organization_id: UUID, viewer: Viewer) -> bool:
        entries = self._orgs.setdefault(organization_id, {})
        previous = entries.get(viewer.client_token)
        entries[viewer.client_token] = _expiring(viewer, self.ttl_seconds)
        changed = not viewer.same_place(previous) or _expired(previous)
        if changed:
            await self._announce(organization_id)
        return changed

    async def leave(self, organization_id: UUID, client_token: str) -> bool:
        gone = self._orgs.get(organization_id, {}).pop(client_token, None) is not None
        if gone:
            await self._announce(organization_id)
        return gone

    async def sweep(self, organization_id: UUID) -> bool:
        entries = self._orgs.get(organization_id, {})
        expired = [token for token, v in entries.items() if _expired(v)]
        for token in expired:
            del entries[token]
        if expired:
            await self._announce(organization_id)
        return bool(expired)

    async def viewers(self, organization_id: UUID) -> list[Viewer]:
        return _live(self._orgs.get(organization_id, {}).values())

    @contextlib.asynccontextmanager
    async def subscribe(self, callback: Announce) -> Any:
        self._subscribers.append(callback)
        try:
            yield
        finally:
            self._subscribers.remove(callback)

    async def _announce(self, organization_id: UUID) -> None:
        for callback in list(self._subscribers):
            await callback(organization_id)


class RedisPresence:
    """Presence shared by every worker through Redis: one hash per organization."""

    def __init__(
        self, redis: Any, ttl_seconds: float = DEFAULT_TTL_SECONDS, prefix: str = "capital"
    ) -> None:
        """`redis` is a `redis.asyncio.Redis` client (decode_responses not required)."""
        self.redis = redis
        self.ttl_seconds = ttl_seconds
        self.prefix = prefix
        self.channel = f"{prefix}:presence"

    def _key(self, organization_id: UUID) -> str:
        return f"{self.prefix}:presence:{organization_id}"

    async def touch(self, organization_id: UUID, viewer: Viewer) -> bool:
        key = self._key(organization_id)
        fresh = _expiring(viewer, self.ttl_seconds)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(key, viewer.client_token)
            pipe.hset(key, viewer.client_token, _dump(fresh))
            # An organization nobody looks at any more vanishes by itself.
            pipe.expire(key, int(self.ttl_seconds * 4) + 1)
            previous_raw, *_ = await pipe.execute()
        previous = _load(previous_raw)
        changed = not viewer.same_place(previous) or _expired(previous)
        if changed:
            await self.redis.publish(self.channel, str(organization_id))
        return changed

    async def leave(self, organization_id: UUID, client_token: str) -> bool:
        gone = bool(await self.redis.hdel(self._key(organization_id), client_token))
        if gone:
            await self.redis.publish(self.channel, str(organization_id))
        return gone

    async def sweep(self, organization_id: UUID) -> bool:
        key = self._key(organization_id)
        entries = await self.redis.hgetall(key)
        expired = [token for token, raw in entries.items() if _expired(_load(raw))]
        removed = await self.redis.hdel(key, *expired) if expired else 0
        if removed:
            await self.redis.publish(self.channel, str(organization_id))
        return bool(removed)

    async def viewers(self, organization_id: UUID) -> list[Viewer]:
        entries = await self.redis.hgetall(self._key(organization_id))
        return _live(v for raw in entries.values() if (v := _load(raw)) is not None)

    @contextlib.asynccontextmanager
    async def subscribe(self, callback: Announce) -> Any:
        """Run `callback(organization_id)` for every announcement, from any worker."""
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(self.channel)
        task = asyncio.get_running_loop().create_task(self._relay(pubsub, callback))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await pubsub.aclose()

    async def _relay(self, pubsub: Any, callback: Announce) -> None:
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            data = message["data"]
            try:
                organization_id = UUID(data.decode() if isinstance(data, bytes) else str(data))
            except ValueError:
                continue
            try:
                await callback(organization_id)
            except Exception:
                logger.exception("A presence subscriber failed")


def _expiring(viewer: Viewer, ttl_seconds: float) -> Viewer:
    return Viewer(
        client_token=viewer.client_token,
        user_id=viewer.user_id,
        name=viewer.name,
        page=viewer.page,
        expires_at=time.time() + ttl_seconds,
    )


def _expired(viewer: Viewer | None) -> bool:
    return viewer is not None and viewer.expires_at <= time.time()


def _live(viewers: Any) -> list[Viewer]:
    now = time.time()
    return sorted(
        (v for v in viewers if v.expires_at > now), key=lambda v: (v.name, v.client_token)
    )


def _dump(viewer: Viewer) -> str:
    return json.dumps(asdict(viewer))


def _load(raw: Any) -> Viewer | None:
    if raw is None:
        return None
    try:
        return Viewer(**json.loads(raw))
    except (ValueError, TypeError):
        return None
