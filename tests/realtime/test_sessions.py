"""The per-process registry of sessions and the pusher that enqueues their catch-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import uuid4

import pytest
from reflex.event import Event

from capital_app.realtime.changes import OrganizationChange
from capital_app.realtime.sessions import SessionPusher, SessionRegistry

ORG_A, ORG_B = uuid4(), uuid4()


def test_sessions_are_listed_per_organization_and_gone_ones_are_forgotten() -> None:
    connected = {"a1", "a2", "b1"}
    registry = SessionRegistry(lambda token: token in connected)
    registry.register("a1", ORG_A)
    registry.register("a2", ORG_A)
    registry.register("b1", ORG_B)

    assert sorted(registry.tokens(ORG_A)) == ["a1", "a2"]
    assert registry.tokens(ORG_B) == ["b1"]
    connected.discard("a2")  # the tab closed, or its socket moved to another worker
    assert registry.tokens(ORG_A) == ["a1"]
    assert len(registry) == 2
    assert sorted(registry.tokens(None)) == ["a1", "b1"]


def test_a_session_that_signs_into_another_organization_moves() -> None:
    registry = SessionRegistry(lambda token: True)
    registry.register("t", ORG_A)
    registry.register("t", ORG_B)
    assert registry.tokens(ORG_A) == []
    assert registry.tokens(ORG_B) == ["t"]
    registry.unregister("t")
    assert registry.tokens(None) == []


@dataclass
class _RecordingProcessor:
    enqueued: list[tuple[str, Event]] = field(default_factory=list)

    async def enqueue(self, token: str, event: Event) -> None:
        self.enqueued.append((token, event))


@dataclass
class _App:
    event_processor: _RecordingProcessor = field(default_factory=_RecordingProcessor)


@pytest.mark.anyio
async def test_the_pusher_enqueues_the_catch_up_of_each_session_of_the_organization() -> None:
    registry = SessionRegistry(lambda token: True)
    registry.register("a1", ORG_A)
    registry.register("a2", ORG_A)
    registry.register("b1", ORG_B)
    app = _App()
    pusher = SessionPusher(app, registry, "state.live.catch_up")

    await pusher(OrganizationChange(ORG_A, 12, entries=3))
    await pusher(OrganizationChange(None, None, resync=True))

    calls = [(t, e.name, e.payload) for t, e in app.event_processor.enqueued]
    assert sorted(calls[:2]) == [
        ("a1", "state.live.catch_up", {"revision": 12, "resync": False}),
        ("a2", "state.live.catch_up", {"revision": 12, "resync": False}),
    ]
    assert sorted(t for t, *_ in calls[2:]) == ["a1", "a2", "b1"]
    assert all(p == {"revision": None, "resync": True} for *_, p in calls[2:])


@pytest.mark.anyio
async def test_alerts_reach_every_session_of_the_organization_room_members_too() -> None:
    registry = SessionRegistry(lambda token: True)
    for token, org in (("a1", ORG_A), ("a2", ORG_A), ("b1", ORG_B)):
        registry.register(token, org)
    app = _App()

    async def rooms(change, is_local):  # a1 sits in a live room: served by one emit
        return {"a1"}

    pusher = SessionPusher(app, registry, "s.catch_up", rooms, alert_event_name="s.alerts")
    await pusher(OrganizationChange(ORG_A, 5, entries=1))  # no alert: nothing more
    await pusher(OrganizationChange(ORG_A, 6, entries=1, alerts=1))
    calls = [(t, e.name, e.payload) for t, e in app.event_processor.enqueued]
    assert calls[:2] == [
        ("a2", "s.catch_up", {"revision": 5, "resync": False}),
        ("a2", "s.catch_up", {"revision": 6, "resync": False}),
    ]
    assert sorted(calls[2:]) == [
        ("a1", "s.alerts", {"revision": 6}),
        ("a2", "s.alerts", {"revision": 6}),
    ]  # never b1: another organization
    app.event_processor.enqueued.clear()
    await pusher(OrganizationChange(None, None, resync=True))  # alerts may have been missed
    alerted = sorted(t for t, e in app.event_processor.enqueued if e.name == "s.alerts")
    assert alerted == ["a1", "a2", "b1"]
