"""Parsing and merging notifications, and a slow subscriber's mailbox (no database)."""

from __future__ import annotations

import asyncio
import json
from uuid import uuid4

import pytest

from capital_app.realtime.changes import OrganizationChange, parse_notification
from capital_app.realtime.listener import ChangeListener

ORG = uuid4()


def test_a_trigger_payload_becomes_a_change() -> None:
    payload = json.dumps(
        {"organizationId": str(ORG), "revision": 42, "sourceId": "s", "entryId": "e", "entries": 1}
    )
    assert parse_notification(payload) == OrganizationChange(ORG, 42, entries=1)


def test_a_bulk_payload_counts_its_entries() -> None:
    payload = json.dumps(
        {
            "organizationId": str(ORG),
            "revision": 7,
            "sourceId": None,
            "entryId": None,
            "entries": 250,
        }
    )
    assert parse_notification(payload) == OrganizationChange(ORG, 7, entries=250)


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[]",
        json.dumps({"revision": 3}),
        json.dumps({"organizationId": "nope", "revision": 3}),
        json.dumps({"organizationId": str(ORG)}),
        json.dumps({"organizationId": str(ORG), "revision": "x"}),
        json.dumps({"organizationId": str(ORG), "revision": 0}),
    ],
)
def test_a_malformed_payload_is_ignored(payload: str) -> None:
    assert parse_notification(payload) is None


def test_merging_keeps_the_latest_revision_and_any_resync() -> None:
    older = OrganizationChange(ORG, 5, entries=2)
    newer = OrganizationChange(ORG, 9, entries=1)
    assert older.merged(newer) == OrganizationChange(ORG, 9, entries=3)
    assert newer.merged(older) == OrganizationChange(ORG, 9, entries=3)  # never goes back
    resync = OrganizationChange(ORG, None, resync=True)
    assert resync.merged(newer) == OrganizationChange(ORG, 9, entries=1, resync=True)
    assert newer.merged(resync) == OrganizationChange(ORG, 9, entries=1, resync=True)


@pytest.mark.anyio
async def test_a_slow_subscriber_gets_the_latest_change_not_a_backlog() -> None:
    listener = ChangeListener(lambda: "unused")
    received: list[OrganizationChange] = []
    release = asyncio.Event()

    async def slow(change: OrganizationChange) -> None:
        received.append(change)
        await release.wait()

    subscription = listener.subscribe(slow, ORG)
    subscription.deliver(OrganizationChange(ORG, 1, entries=1))
    await asyncio.sleep(0.01)  # the subscriber is now busy with revision 1
    for revision in (2, 3, 4):
        subscription.deliver(OrganizationChange(ORG, revision, entries=1))
    release.set()
    await asyncio.sleep(0.01)
    await subscription.close()

    assert received == [
        OrganizationChange(ORG, 1, entries=1),
        OrganizationChange(ORG, 4, entries=3),
    ]
    assert listener.status().subscribers == 0


@pytest.mark.anyio
async def test_a_failing_subscriber_keeps_receiving() -> None:
    listener = ChangeListener(lambda: "unused")
    received: list[int | None] = []

    async def flaky(change: OrganizationChange) -> None:
        received.append(change.revision)
        if change.revision == 1:
            raise RuntimeError("boom")

    subscription = listener.subscribe(flaky, ORG)
    subscription.deliver(OrganizationChange(ORG, 1))
    await asyncio.sleep(0.01)
    subscription.deliver(OrganizationChange(ORG, 2))
    await asyncio.sleep(0.01)
    await subscription.close()
    assert received == [1, 2]


def test_an_alert_announcement_counts_alerts_not_entries() -> None:
    payload = json.dumps({"organizationId": str(ORG), "revision": 8, "entries": 0, "alerts": 2})
    assert parse_notification(payload) == OrganizationChange(ORG, 8, entries=0, alerts=2)
    change = OrganizationChange(ORG, 8, entries=1)
    merged = change.merged(parse_notification(payload))  # type: ignore[arg-type]
    assert merged == OrganizationChange(ORG, 8, entries=1, alerts=2)
