"""The listener survives a real PostgreSQL restart (a private embedded server, stopped and started)."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest

from capital_app.db.embedded import embedded_server_url, stop_embedded_server
from capital_app.realtime.changes import CHANNEL, OrganizationChange
from capital_app.realtime.listener import ChangeListener, ListenerState, ListenerTiming
from tests.realtime.conftest import Collector

pytestmark = pytest.mark.anyio


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="cl-rt-restart-"))
    yield path
    if (path / "pgdata" / "postmaster.pid").exists():
        stop_embedded_server(path)
    shutil.rmtree(path, ignore_errors=True)


def _notify(url: str, org: str, revision: int) -> None:
    payload = json.dumps({"organizationId": org, "revision": revision, "entries": 1})
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))


async def test_the_listener_reconnects_after_postgresql_restarts(data_dir: Path) -> None:
    url = await asyncio.to_thread(embedded_server_url, data_dir)
    org = uuid4()
    timing = ListenerTiming(backoff_initial_seconds=0.05, backoff_max_seconds=0.4)
    listener = ChangeListener(lambda: url, timing)
    collector = Collector()
    listener.subscribe(collector, org)
    await listener.start()
    try:
        await listener.wait_connected(timeout=10)
        await asyncio.to_thread(_notify, url, str(org), 1)
        await collector.wait_for(lambda c: c.revision == 1)

        await asyncio.to_thread(stop_embedded_server, data_dir)
        for _ in range(200):  # down: it keeps trying, with backoff
            if listener.status().failed_attempts >= 2:
                break
            await asyncio.sleep(0.05)
        assert listener.status().state is ListenerState.RECONNECTING
        assert listener.status().failed_attempts >= 2

        assert await asyncio.to_thread(embedded_server_url, data_dir) == url
        await listener.wait_connected(timeout=15)
        await collector.wait_for_count(lambda c: c.resync, 2)  # first connect + after restart
        await asyncio.to_thread(_notify, url, str(org), 2)
        change = await collector.wait_for(lambda c: c.revision == 2)

        assert change == OrganizationChange(org, 2, entries=1)
        assert listener.status().reconnect_count == 1
    finally:
        await listener.stop()
