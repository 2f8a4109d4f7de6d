"""Presence stores: in memory (one worker) and in Redis (several), with expiry of closed tabs.

The Redis tests use the machine's Redis (REDIS_URL, default 127.0.0.1:6379,
database 14) under a key prefix of their own; two RedisPresence objects with
separate connections stand for two workers.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import pytest
import redis.asyncio as aioredis

from capital_app.realtime.presence import MemoryPresence, RedisPresence, Viewer

pytestmark = pytest.mark.anyio

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def viewer(token: str, page: str = "/dashboard", user: str = "u1") -> Viewer:
    return Viewer(client_token=token, user_id=user, name=f"User {user}", page=page)


@pytest.fixture
async def redis_pair() -> AsyncIterator[tuple[RedisPresence, RedisPresence]]:
    prefix = f"capital-test-{secrets.token_hex(4)}"
    first, second = aioredis.from_url(REDIS_URL), aioredis.from_url(REDIS_URL)
    try:
        await first.ping()
    except OSError as error:  # the machine and CI run Redis; say so clearly if not
        pytest.fail(f"Redis is needed at {REDIS_URL}: {error}")
    try:
        yield (
            RedisPresence(first, ttl_seconds=0.5, prefix=prefix),
            RedisPresence(second, ttl_seconds=0.5, prefix=prefix),
        )
    finally:
        keys = [k async for k in first.scan_iter(match=f"{prefix}:*")]
        if keys:
            await first.delete(*keys)
        await first.aclose()
        await second.aclose()


async def _announcements(store, organization_id: UUID, action) -> list[UUID]:
    heard: list[UUID] = []
    arrived = asyncio.Event()

    async def record(org: UUID) -> None:
        heard.append(org)
        arrived.set()

    async with store.subscribe(record):
        await asyncio.sleep(0.05)  # the subscription is in place
        await action()
        await asyncio.wait_for(arrived.wait(), 2)
        await asyncio.sleep(0.1)
    return heard


async def test_memory_presence_lists_tells_and_expires() -> None:
    store = MemoryPresence(ttl_seconds=0.3)
    org, other = uuid4(), uuid4()
    assert await store.touch(org, viewer("a", "/dashboard"))
    assert not await store.touch(org, viewer("a", "/dashboard"))  # a heartbeat: no news
    assert await store.touch(org, viewer("a", "/history"))  # moved: news
    await store.touch(org, viewer("b", "/history", user="u2"))
    await store.touch(other, viewer("c", user="u3"))

    assert [(v.client_token, v.page) for v in await store.viewers(org)] == [
        ("a", "/history"),
        ("b", "/history"),
    ]
    heard = await _announcements(store, org, lambda: store.leave(org, "b"))
    assert heard == [org]
    await asyncio.sleep(0.35)  # "a" stopped its heartbeat: its tab closed
    assert await store.viewers(org) == []
    assert await store.sweep(org)
    assert not await store.sweep(org)


async def test_redis_presence_is_shared_by_workers_and_announced_to_all(
    redis_pair: tuple[RedisPresence, RedisPresence],
) -> None:
    worker_one, worker_two = redis_pair
    org, other = uuid4(), uuid4()

    heard = await _announcements(
        worker_two, org, lambda: worker_one.touch(org, viewer("a", "/dashboard"))
    )
    assert heard == [org]  # worker two heard what worker one wrote
    assert await worker_two.touch(org, viewer("b", "/sources", user="u2"))
    assert not await worker_one.touch(org, viewer("a", "/dashboard"))  # heartbeat only
    await worker_two.touch(other, viewer("c", user="u3"))

    assert [(v.client_token, v.page) for v in await worker_one.viewers(org)] == [
        ("a", "/dashboard"),
        ("b", "/sources"),
    ]
    assert [v.client_token for v in await worker_one.viewers(other)] == ["c"]


async def test_redis_presence_expires_closed_tabs_and_sweeps_them_once(
    redis_pair: tuple[RedisPresence, RedisPresence],
) -> None:
    worker_one, worker_two = redis_pair
    org = uuid4()
    await worker_one.touch(org, viewer("closed"))
    await worker_two.touch(org, viewer("open", user="u2"))
    for _ in range(4):  # "open" keeps its heartbeat, "closed" does not
        await asyncio.sleep(0.2)
        await worker_two.touch(org, viewer("open", user="u2"))

    assert [v.client_token for v in await worker_one.viewers(org)] == ["open"]
    heard = await _announcements(worker_one, org, lambda: worker_two.sweep(org))
    assert heard == [org]
    assert not await worker_one.sweep(org)
    assert await worker_two.leave(org, "open")
    assert await worker_one.viewers(org) == []
