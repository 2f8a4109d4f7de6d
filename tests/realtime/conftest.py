"""Async fixtures for the listener tests (anyio's pytest plugin, asyncio backend).

These tests run in their own pytest invocation, apart from the browser tests:
an event-loop plugin and Playwright's sync API do not mix in one process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from uuid import UUID, uuid4

import psycopg
import pytest

from capital_app.db.engine import libpq_url, owner_database_url
from capital_app.realtime.changes import OrganizationChange
from capital_app.realtime.listener import ChangeListener, ListenerTiming

FAST = ListenerTiming(
    debounce_seconds=0.005,
    backoff_initial_seconds=0.05,
    backoff_max_seconds=0.5,
    health_check_seconds=5,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def owner_conninfo() -> str:
    return libpq_url(owner_database_url())


class Collector:
    """A subscriber that records what it is told and lets a test wait for it."""

    def __init__(self) -> None:
        self.changes: list[OrganizationChange] = []
        self._arrived = asyncio.Condition()

    async def __call__(self, change: OrganizationChange) -> None:
        async with self._arrived:
            self.changes.append(change)
            self._arrived.notify_all()

    async def wait_for(
        self, predicate: Callable[[OrganizationChange], bool], timeout: float = 5.0
    ) -> OrganizationChange:
        """The first recorded change matching `predicate`, waiting up to `timeout`."""

        async def found() -> OrganizationChange:
            async with self._arrived:
                while True:
                    for change in self.changes:
                        if predicate(change):
                            return change
                    await self._arrived.wait()

        return await asyncio.wait_for(found(), timeout)

    async def wait_for_count(
        self, predicate: Callable[[OrganizationChange], bool], count: int, timeout: float = 5.0
    ) -> None:
        """Wait until `count` recorded changes match `predicate`."""

        async def enough() -> None:
            async with self._arrived:
                while sum(map(predicate, self.changes)) < count:
                    await self._arrived.wait()

        await asyncio.wait_for(enough(), timeout)

    @property
    def notified(self) -> list[OrganizationChange]:
        """Changes announced by notifications (resyncs left out)."""
        return [c for c in self.changes if not c.resync]


async def start_listener(timing: ListenerTiming = FAST) -> ChangeListener:
    listener = ChangeListener(owner_conninfo, timing)
    await listener.start()
    await listener.wait_connected(timeout=10)
    return listener


@pytest.fixture
async def listener(database_url: str) -> AsyncIterator[ChangeListener]:
    running = await start_listener()
    try:
        yield running
    finally:
        await running.stop()


def raw_insert(org_id: UUID, *, commit: bool = True, sources: int = 1) -> int:
    """Add sources by plain SQL as the owner, the way an operator's script would.

    Returns the revision the trigger gave the transaction (kept only if committed).
    """
    with psycopg.connect(owner_conninfo()) as conn:
        conn.execute("SELECT set_config('app.org_id', %s, true)", (str(org_id),))
        for _ in range(sources):
            conn.execute(
                "INSERT INTO capital_history (organization_id, source_id, action,"
                " effective_date, name, annual_rate, available_cents, created_by)"
                " VALUES (%s, %s, 'ADDED', now() - interval '1 day', %s, 0.1, 100000, 'sql')",
                (org_id, f"raw-{uuid4().hex}", f"Raw {uuid4().hex[:8]}"),
            )
        row = conn.execute(
            "SELECT max(revision) FROM capital_history WHERE organization_id = %s", (org_id,)
        ).fetchone()
        if commit:
            conn.commit()
        else:
            conn.rollback()
    return int(row[0])
