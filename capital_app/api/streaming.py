"""Streaming a blocking iterator (one that reads the database) from an async route."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from typing import TypeVar

import anyio.to_thread

T = TypeVar("T")


async def in_worker_thread(items: Iterator[T], batch: int = 1) -> AsyncIterator[list[T]]:
    """`items` a batch at a time, each taken in a worker thread so the event loop never
    waits on the database; closed there too, also when the client goes away (its
    transaction ends with it)."""
    try:
        while taken := await anyio.to_thread.run_sync(_take, items, batch):
            yield taken
    finally:
        close = getattr(items, "close", None)  # a generator's: ends its transaction
        if close is not None:
            await anyio.to_thread.run_sync(close)


def _take(items: Iterator[T], batch: int) -> list[T]:
    return list(itertools.islice(items, batch))
