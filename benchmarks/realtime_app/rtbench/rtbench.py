"""Three ways to push a committed change into every session of an organization.

Chosen at start-up with RTBENCH_MODE:
- enqueue: per session, enqueue its own `Live.catch_up` event (capital_app.realtime
  SessionPusher); the handler reads changes_since through SharedReads (one
  database read per change and process, every asker still authorized).
- enqueue-direct: the same, each session reading changes_since on its own.
- modify: per session, `app.modify_state(BaseStateToken(token, Live))` setting
  `Live.server_revision` (a push without the read).
- shared: one `app.modify_state(BaseStateToken("org<hex>", OrgShared))` per
  change; Reflex fans the delta out to every session linked with `_link_to`.

The benchmark client (benchmarks/realtime_mechanisms.py) speaks Reflex's Socket.IO protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from uuid import UUID

import reflex as rx
from fastapi import FastAPI

from capital_app.realtime.changes import OrganizationChange
from capital_app.realtime.lifespan import (
    bound_app,
    get_listener,
    process_realtime,
    realtime_lifespan,
    register_session,
)
from capital_app.service import history_queries
from capital_app.service.actor import Actor

MODE = os.environ.get("RTBENCH_MODE", "enqueue")


class Live(rx.State):
    """One session's view: who it is, what it has read, where it runs."""

    org_id: str = ""
    user_id: str = ""
    pid: int = 0
    revision: int = 0  # the revision this session has read up to
    server_revision: int = 0  # pushed directly (mode "modify")
    entries_seen: int = 0
    pings: int = 0
    loads: int = 0  # page loads: the first one, then one per WebSocket reconnect

    @rx.event
    async def loaded(self):
        """on_load: runs on every (re)connect, so a returning session catches up here."""
        self.loads += 1
        if self.org_id:
            self.pid = os.getpid()  # a reconnect may land on another worker
            register_session(self.router.session.client_token, UUID(self.org_id))
            return Live.catch_up(None, True)
        return None

    @rx.event
    async def join(self, org_id: str, user_id: str):
        self.org_id, self.user_id, self.pid = org_id, user_id, os.getpid()
        # Register before reading the revision: a change committed in between is
        # then either pushed or caught by the listener's resync, never lost.
        register_session(self.router.session.client_token, UUID(org_id))
        actor = Actor(UUID(user_id), UUID(org_id))
        self.revision = await asyncio.to_thread(history_queries.current_revision, actor)
        if MODE == "shared":
            shared = await self.get_state(OrgShared)
            await shared._link_to(shared_token(UUID(org_id)))

    @rx.event
    async def catch_up(self, revision: int | None = None, resync: bool = False):
        if not self.org_id or (revision is not None and not resync and revision <= self.revision):
            return
        actor = Actor(UUID(self.user_id), UUID(self.org_id))
        if MODE == "enqueue-direct":
            entries, current = await asyncio.to_thread(
                history_queries.changes_since, actor, self.revision
            )
        else:
            entries, current = await process_realtime().shared_reads.changes_since(
                actor, self.revision, None if resync else revision
            )
        self.entries_seen += len(entries)
        self.revision = current

    @rx.event
    def ping(self):
        self.pings += 1


if MODE == "shared":
    # Defined only when measured: an app with any SharedState pays for it on
    # every event of every session (the links bookkeeping is always loaded).

    class OrgShared(rx.SharedState):
        """The organization's latest revision, shared by every linked session."""

        revision: int = 0


def shared_token(org: UUID) -> str:
    return "org" + org.hex  # no "_" allowed in a link token


def index() -> rx.Component:
    return rx.vstack(
        rx.text("pid ", Live.pid),
        rx.text("revision ", Live.revision, " pushed ", Live.server_revision),
        *([rx.text("shared ", OrgShared.revision)] if MODE == "shared" else []),
    )


api = FastAPI()
app = rx.App(api_transformer=api)
app.add_page(index, on_load=Live.loaded)

STATS = {"changes": 0, "pushes": 0}


@api.get("/rtbench/stats")
def stats() -> dict:
    return {
        "pid": os.getpid(),
        "mode": MODE,
        "sessions": len(process_realtime().sessions),
        **STATS,
        "database_reads": process_realtime().shared_reads.database_reads,
        "shared_hits": process_realtime().shared_reads.shared_hits,
        "reader_checks": process_realtime().shared_reads.reader_checks,
        "listener": get_listener().status().as_json(),
    }


async def _modify_one(token: str, revision: int) -> None:
    async with app.modify_state(rx.BaseStateToken(ident=token, cls=Live)) as root:
        live = await root.get_state(Live)
        if revision > live.server_revision:
            live.server_revision = revision


async def push_modify(change: OrganizationChange) -> None:
    if change.revision is None:
        return
    tokens = process_realtime().sessions.tokens(change.organization_id)
    await asyncio.gather(*(_modify_one(t, change.revision) for t in tokens))
    STATS["pushes"] += len(tokens)


async def push_shared(change: OrganizationChange) -> None:
    if change.organization_id is None or change.revision is None:
        return
    token = shared_token(change.organization_id)
    async with app.modify_state(rx.BaseStateToken(ident=token, cls=OrgShared)) as root:
        shared = await root.get_state(OrgShared)
        if change.revision > shared.revision:  # every worker tries; the first one wins
            shared.revision = change.revision
            STATS["pushes"] += 1


@contextlib.asynccontextmanager
async def realtime_by_hand(app: rx.App) -> AsyncIterator[None]:
    """The listener with a home-made push (modes "modify" and "shared")."""
    listener = get_listener()
    push = push_modify if MODE == "modify" else push_shared

    async def counted(change: OrganizationChange) -> None:
        STATS["changes"] += 1
        await push(change)

    with bound_app(app):
        listener.subscribe(counted)
        await listener.start()
        try:
            yield
        finally:
            await listener.stop()


if MODE.startswith("enqueue"):
    # What the product does: capital_app.realtime's lifespan, pushing Live.catch_up.
    app.register_lifespan_task(realtime_lifespan(Live.catch_up))
else:
    app.register_lifespan_task(realtime_by_hand)
