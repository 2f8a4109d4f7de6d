"""Opt-in profile of a worker's event loop for benchmarks (CAPITAL_PROFILE_LOOP=<folder>).

py-spy is not on this machine. cProfile enabled from a coroutine profiles the
thread that runs the event loop — every Reflex event, live push and socket write of
the worker (database reads in worker threads are not in it). It runs only while
the file `<folder>/on` exists (the benchmark creates it around its measured
commits, so sign-ins and page loads stay out) and is written to
`<folder>/loop-<pid>-<n>.prof` each time it stops. Off (no cost) without the
variable.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import os
from collections.abc import AsyncIterator
from pathlib import Path

ENV = "CAPITAL_PROFILE_LOOP"
POLL_SECONDS = 0.2


@contextlib.asynccontextmanager
async def loop_profile() -> AsyncIterator[None]:
    folder = os.environ.get(ENV)
    if not folder:
        yield
        return
    task = asyncio.create_task(_watch(Path(folder)))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _watch(folder: Path) -> None:
    profiler: cProfile.Profile | None = None
    runs = 0
    try:
        while True:
            on = (folder / "on").exists()
            if on and profiler is None:
                profiler = cProfile.Profile()
                profiler.enable()
            elif not on and profiler is not None:
                profiler.disable()
                runs += 1
                profiler.dump_stats(str(folder / f"loop-{os.getpid()}-{runs}.prof"))
                profiler = None
            await asyncio.sleep(POLL_SECONDS)
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(folder / f"loop-{os.getpid()}-{runs + 1}.prof"))
