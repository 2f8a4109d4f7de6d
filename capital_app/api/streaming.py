"""Streaming a blocking iterator (one that reads the database) from an async route.

Whole-history streams are background work: their chunks are produced (read *and*
encoded) in a worker thread, one stream's chunk at a time in this process, and each
chunk is followed by a pause in proportion to what it cost, so that all streams
together use at most `stream_cpu_share` of one core however many clients read. The
event loop never encodes a chunk and never waits on the database, and requests of
other users keep the rest of the worker (benchmarks/slow_readers.py).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

import anyio
import anyio.to_thread

from capital_app.settings import get_settings

T = TypeVar("T")

# One stream chunk at a time per event loop, on a thread of the streams' own (the
# default pool of 40 threads stays for ordinary requests).
_turns: dict[int, tuple[anyio.Lock, anyio.CapacityLimiter]] = {}


def _turn() -> tuple[anyio.Lock, anyio.CapacityLimiter]:
    key = id(asyncio.get_running_loop())
    if key not in _turns:
        _turns.clear()  # a new loop (tests start several): the old one's are useless
        _turns[key] = (anyio.Lock(), anyio.CapacityLimiter(1))
    return _turns[key]


async def in_worker_thread(
    items: Iterator[T], encode: Callable[[list[T]], bytes], batch: int = 1
) -> AsyncIterator[bytes]:
    """`items` `batch` at a time, each batch taken and encoded in the streams' thread,
    paced (module docstring); closed there too, also when the client goes away (its
    transaction ends with it)."""
    lock, limiter = _turn()
    share = get_settings().stream_cpu_share
    try:
        while True:
            async with lock:
                started = time.perf_counter()
                chunk = await anyio.to_thread.run_sync(_take, items, batch, encode, limiter=limiter)
                cost = time.perf_counter() - started
                if share < 1.0:  # others' turn; the pause counts against all streams
                    await anyio.sleep(cost * (1.0 / share - 1.0))
            if chunk is None:
                return
            yield chunk
    finally:
        close = getattr(items, "close", None)  # a generator's: ends its transaction
        if close is not None:
            await anyio.to_thread.run_sync(close, limiter=limiter)


def _take(items: Iterator[T], batch: int, encode: Callable[[list[T]], bytes]) -> bytes | None:
    taken = list(itertools.islice(items, batch))
    return encode(taken) if taken else None
