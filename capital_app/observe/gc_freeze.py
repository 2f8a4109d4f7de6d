"""Move the worker's startup heap out of the garbage collector's sight (gc.freeze).

A Reflex worker holds a large, long-lived object graph from startup (the compiled
pages' components, states, routes, SQLAlchemy metadata). CPython's full (gen 2)
collection walks every tracked object, so each one stalled the event loop for
90–200 ms on this machine, and a live push caught by one reached every session that
much later (benchmarks/realtime.py, per-commit spread: one commit in ~13 was late
for all 100 sessions). Frozen objects are never scanned again; what the worker
allocates later is collected as before. Startup objects live as long as the worker,
so freezing them keeps nothing alive that would otherwise be freed.

The sessions' state trees the worker holds afterwards are many small long-lived
objects too (a full collection with 100 dashboards open still took 65–85 ms), so the
youngest generation's threshold is raised tenfold: full collections come ten times
less often; a young collection stays short (it scans only what was allocated since
the last one).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator

logger = logging.getLogger(__name__)


YOUNG_THRESHOLD_FACTOR = 10


def freeze_startup_heap() -> int:
    """Collect once, then freeze what survives; returns the number of objects frozen."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    if young < 700 * YOUNG_THRESHOLD_FACTOR:  # once per process, whoever calls it
        gc.set_threshold(young * YOUNG_THRESHOLD_FACTOR, middle, old)
    frozen = gc.get_freeze_count()
    logger.info(
        "startup heap frozen",
        extra={"objects": frozen, "ms": round((time.perf_counter() - started) * 1000, 1)},
    )
    return frozen


@contextlib.asynccontextmanager
async def frozen_startup_heap() -> AsyncIterator[None]:
    """Lifespan task: freeze once the worker has imported and built the app."""
    freeze_startup_heap()
    yield
