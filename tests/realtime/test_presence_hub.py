"""The presence hub of a worker: its sessions' entries, their refresh, and the push.

The Reflex app is replaced by the attributes the hub uses (the token manager's
socket records, the event processor's enqueue), as in test_lifespan; the browser
test (tests/e2e/test_live.py) covers the real thing.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from types import SimpleNamespace
from uuid import uuid4

import pytest

from capital_app.realtime import presence_hub
from capital_app.realtime.presence import Viewer
from capital_app.realtime.presence_hub import PresenceHub
from capital_app.realtime.sessions import SessionRegistry, held_by_this_process
from capital_app.settings import get_settings

pytestmark = pytest.mark.anyio

PRESENCE_CHANGED = "state.live_state.presence_changed"
ROUTER = contextvars.ContextVar("router", default="none")


@pytest.fixture(autouse=True)
def _settings_follow_the_environment() -> Iterator[None]:
    """Settings are read once: each test's environment (monkeypatch) gets its own."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


class _Processor:
    def __init__(self) -> None:
        self.enqueued: list[tuple[str, str, dict, str]] = []

    async def enqueue(self, token, event) -> None:
        self.enqueued.append((token, event.name, event.payload, ROUTER.get()))


def _app(connected: dict[str, str]) -> SimpleNamespace:
    records = {t: SimpleNamespace(instance_id=i, sid=t) for t, i in connected.items()}
    manager = SimpleNamespace(instance_id="me", token_to_socket=records)
    return SimpleNamespace(
        event_namespace=SimpleNamespace(_token_manager=manager), event_processor=_Processor()
    )


async def _settle() -> None:
    """Longer than a merged push's wait (presence_hub.MERGE_SECONDS + per session)."""
    for _ in range(15):
        await asyncio.sleep(0.01)


async def test_arrivals_reach_every_session_of_the_org_here_in_a_clean_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    get_settings.cache_clear()
    org, other_org = uuid4(), uuid4()
    app = _app({"a": "me", "b": "me", "c": "me", "far": "other-worker"})
    registry = SessionRegistry(held_by_this_process(app))
    for token, organization in (("a", org), ("b", org), ("c", other_org), ("far", org)):
        registry.register(token, organization)
    hub = PresenceHub(registry)
    async with hub.running_in(app, PRESENCE_CHANGED):
        ROUTER.set("session b's event")  # an arrival runs inside a session's own event
        await hub.arrive(org, Viewer("a", "user-a", "Ann", "/"))
        await hub.arrive(org, Viewer("b", "user-b", "Ben", "/history"))
        await _settle()
        for _token, name, _payload, router in app.event_processor.enqueued:
            assert name == PRESENCE_CHANGED
            assert router == "none", "pushed with the arriving session's context"
        tokens = {t for t, *_ in app.event_processor.enqueued}
        assert "c" not in tokens and "far" not in tokens  # other org; another worker's socket

        # Ann (on "/") and Ben (on "/history") see no one else on their own page.
        assert _shown(app, "a") == ([], 0) and _shown(app, "b") == ([], 0)
        app.event_processor.enqueued.clear()
        registry.register("a2", org)
        app.event_namespace._token_manager.token_to_socket["a2"] = SimpleNamespace(
            instance_id="me", sid="a2"
        )
        await hub.arrive(org, Viewer("a2", "user-c", "Cy", "/"))
        await _settle()
        # Ann now has company; Ben's answer did not change, so Ben gets nothing.
        assert _shown(app, "a") == (["Cy"], 1)
        assert _shown(app, "a2") == (["Ann"], 1)
        assert "b" not in {t for t, *_ in app.event_processor.enqueued}

        # A closed tab (gone from the token manager) leaves at the next beat.
        app.event_processor.enqueued.clear()
        del app.event_namespace._token_manager.token_to_socket["a2"]
        await hub.beat()
        await _settle()
        assert [(t, _shown(app, t)) for t, *_ in app.event_processor.enqueued] == [("a", ([], 0))]

        # Sign-out leaves at once.
        app.event_processor.enqueued.clear()
        hub.depart("a")
        hub.depart("b")
        await _settle()
        assert hub._store is not None and await hub._store.viewers(org) == []
    assert not hub.running


def _shown(app: SimpleNamespace, token: str) -> tuple[list[str], int]:
    """The names and count of the last presence answer `token` was sent."""
    sent = [p for t, _, p, _ in app.event_processor.enqueued if t == token]
    assert sent, f"{token} was sent nothing"
    return [o["name"] for o in sent[-1]["others"]], sent[-1]["count"]


async def test_a_hub_that_is_not_running_ignores_arrivals() -> None:
    hub = PresenceHub(SessionRegistry(lambda token: True))
    await hub.arrive(uuid4(), Viewer("a", "u", "Ann", "/"))
    hub.depart("a")
    assert not hub.running


async def test_with_redis_the_store_is_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFLEX_REDIS_URL", "redis://127.0.0.1:6379/12")
    get_settings.cache_clear()
    store = presence_hub.presence_store()
    try:
        assert type(store).__name__ == "RedisPresence"
        assert store.ttl_seconds == presence_hub.TTL_SECONDS
    finally:
        await store.redis.aclose()
