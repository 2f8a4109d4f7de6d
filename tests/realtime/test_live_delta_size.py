"""A one-source change sends a delta whose size does not grow with the sources (issue 11).

The dashboard room's push (ui/pages/dashboard/live.py) against a real database: an
organization with 10 active sources and one with 300, each with one live member in
its room. The first push sends the member the whole list (its size grows with the
sources: proof the test sees them); a change to one source then sends that row, the
KPIs, the chart's tail and the activity — the same few hundred bytes for 10 or 300.
Successive changes to many different sources each stay that small: every changed
source keeps its own patch slot, and once all are used one base chunk (about
1/BASE_CHUNKS of the list) travels again, never the whole list.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from capital_app.realtime.rooms import NAMESPACE, ROOMS, Member
from capital_app.service import history_commands as commands
from capital_app.ui.pages.dashboard import live
from capital_app.ui.pages.dashboard.state import BASE_CHUNKS, PATCH_SLOTS
from tests.realtime.conftest import raw_insert
from tests.support.factories import Tenant, add_source, make_tenant

pytestmark = pytest.mark.anyio

BOUND = 2048  # bytes: the aim for a one-source change, whatever the number of sources
SAME = 96  # bytes: how much the two one-source deltas may differ (longer totals and counts)


class _Server:
    """Just enough of python-socketio's server: who holds which socket, what was sent."""

    def __init__(self, sids: dict[str, str]) -> None:
        self.namespace_handlers = {NAMESPACE: SimpleNamespace(token_to_sid=sids)}
        self.manager = SimpleNamespace(
            basic_enter_room=lambda *a: None, basic_leave_room=lambda *a: None
        )
        self.sent: list[dict[str, Any]] = []

    async def emit(self, event: str, payload: dict[str, Any], **kwargs: Any) -> None:
        self.sent.append(payload)


def _size(payload: dict[str, Any]) -> int:
    return len(json.dumps(payload, separators=(",", ":"), default=str))


def _prepare(count: int, changing: int = 2) -> tuple[Tenant, list[str]]:
    """An organization with `count` active sources; the ids of `changing` changed later."""
    tenant = make_tenant(f"Delta {count}")
    changed = [
        add_source(tenant.actor(), f"Changed {i}", 1_000_000_00 + i, "0.1", days=60)
        for i in range(changing)
    ]
    raw_insert(tenant.org_id, sources=count - len(changed))
    return tenant, changed


def _change(tenant: Tenant, source_id: str, cents: int) -> None:
    commands.update_amount(
        tenant.actor(),
        source_id=source_id,
        available_cents=cents,
        effective_date=datetime.now(UTC),
        expected_sequence=1,
    )


async def _pushes(
    count: int, changing: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[dict[str, Any]], list[str]]:
    """The room's packets: the first, full push, then one per one-source change."""
    tenant, changed = await asyncio.to_thread(_prepare, count, changing)
    token = f"tab-{count}-{changing}"
    server = _Server({token: f"sid-{token}"})
    monkeypatch.setattr(ROOMS, "server", server)
    key = ("dash", str(tenant.org_id), "UTC", "1Y", "KES")
    ROOMS.room(key, tenant.org_id)
    ROOMS.join(
        Member(
            token=token,
            sid=f"sid-{token}",
            user_id=tenant.viewer.id,
            organization_id=tenant.org_id,
            room=key,
            expires_at=int(time.time()) + 3600,
            held=0,
            shown=0,
            epoch=-1,
            issued_at=int(time.time()) - 5,
        )
    )
    try:
        assert await live._broadcast(tenant.org_id, lambda _: True) == {token}
        for n, source_id in enumerate(changed):
            await asyncio.to_thread(_change, tenant, source_id, 7_000_000_00 + n)
            assert await live._broadcast(tenant.org_id, lambda _: True) == {token}
    finally:
        ROOMS.leave(token)
    assert len(server.sent) == 1 + len(changed)
    return server.sent, changed


def _fields(payload: dict[str, Any]) -> dict[str, Any]:
    return payload["delta"][live.DashboardState.get_full_name()]


def _patched(payload: dict[str, Any]) -> list[str]:
    return [v["source_id"] for k, v in _fields(payload).items() if k.startswith("patch_") and v]


def _chunks(payload: dict[str, Any]) -> list[str]:
    return [k for k in _fields(payload) if k.startswith("rows_base_")]


async def _sizes(count: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[int]]:
    """(the first, full push; the pushes of two one-source changes) in bytes."""
    sent, changed = await _pushes(count, 2, monkeypatch)
    # The changed rows travel, keyed by source id; the list does not.
    for payload, source_id in zip(sent[1:], changed, strict=True):
        assert _chunks(payload) == []
        assert _patched(payload) == [source_id]
    return _size(sent[0]), [_size(p) for p in sent[1:]]


async def test_a_one_source_delta_does_not_grow_with_the_sources(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    full_few, few = await _sizes(10, monkeypatch)
    full_many, many = await _sizes(300, monkeypatch)

    assert full_many > full_few + 250 * 100  # the whole list: ~100+ bytes per source
    assert max(few + many) < BOUND, (few, many)
    for small, large in zip(few, many, strict=True):
        assert abs(large - small) < SAME, (few, many)


async def test_many_different_sources_changed_one_after_another_each_send_one_row(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 changes to 20 different sources: every delta is that source's row (under the
    bound); past the slots (PATCH_SLOTS), a delta adds at most one base chunk."""
    count, changing = 300, PATCH_SLOTS + 8
    sent, changed = await _pushes(count, changing, monkeypatch)
    full = _size(sent[0])
    assert sum(len(_fields(sent[0])[k]) for k in _chunks(sent[0])) == count
    sizes = [_size(p) for p in sent[1:]]
    for n, (payload, source_id) in enumerate(zip(sent[1:], changed, strict=True)):
        assert _patched(payload) == [source_id], n
        if n < 20:
            assert _chunks(payload) == [], n
            assert sizes[n] < BOUND, (n, sizes)
        else:  # the slots fill up: one chunk (~1/BASE_CHUNKS of the list) at most
            assert len(_chunks(payload)) <= 1, (n, _chunks(payload))
            assert sizes[n] < BOUND + 4 * full // BASE_CHUNKS, (n, sizes, full)
    assert max(sizes) < full // 4, (sizes, full)  # never the whole list again
