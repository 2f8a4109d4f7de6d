"""A signed-out session gets no more live data (issue 17): neither the dashboard room's
push nor a shared catch-up answer, though its user is still active."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

from capital_app.realtime.rooms import NAMESPACE, ROOMS, Member
from capital_app.realtime.shared_reads import SharedReads
from capital_app.service import history_queries as queries
from capital_app.service import sessions
from capital_app.service.actor import Actor, sessions_among
from capital_app.service.authentication import issue_session_token
from capital_app.service.errors import Unauthenticated
from capital_app.ui.pages.dashboard import live
from tests.realtime.conftest import raw_insert
from tests.support.factories import Tenant

pytestmark = pytest.mark.anyio

EARLIER = 60  # seconds: the signed-out session's token was issued this long before


def _sign_out(tenant: Tenant) -> None:
    token, _ = issue_session_token(tenant.viewer)
    sessions.sign_out(token, "127.0.0.1")  # ends every earlier session of the viewer


def test_sessions_among_drops_sessions_issued_before_a_sign_out(tenant: Tenant) -> None:
    now = int(time.time())
    old, fresh = (tenant.viewer.id, now - EARLIER), (tenant.viewer.id, now + 5)
    other = (tenant.admin.id, now - EARLIER)
    assert sessions_among(tenant.org_id, {old, fresh, other}) == {old, fresh, other}
    _sign_out(tenant)
    assert sessions_among(tenant.org_id, {old, fresh, other}) == {fresh, other}


async def test_a_signed_out_session_is_refused_a_shared_catch_up(tenant: Tenant) -> None:
    before = await asyncio.to_thread(queries.current_revision, tenant.actor("VIEWER"))
    revision = await asyncio.to_thread(raw_insert, tenant.org_id, sources=1)
    now = int(time.time())
    old = Actor(tenant.viewer.id, tenant.org_id, issued_at=now - EARLIER)
    fresh = Actor(tenant.viewer.id, tenant.org_id, issued_at=now + 5)
    await asyncio.to_thread(_sign_out, tenant)

    reads = SharedReads()
    entries, _ = await reads.changes_since(fresh, before, revision)
    assert len(entries) == 1
    with pytest.raises(Unauthenticated):
        await reads.changes_since(old, before, revision)


class _Server:
    """Just enough of python-socketio's server: who holds which socket, what was sent."""

    def __init__(self, sids: dict[str, str]) -> None:
        self.namespace_handlers = {NAMESPACE: SimpleNamespace(token_to_sid=sids)}
        self.manager = SimpleNamespace(
            basic_enter_room=lambda *a: None, basic_leave_room=lambda *a: None
        )
        self.sent: list[dict] = []

    def leave_room(self, *args, **kwargs) -> None:
        pass

    async def emit(self, event, payload, **kwargs) -> None:
        self.sent.append(payload)


async def test_a_signed_out_dashboard_session_leaves_its_room_and_gets_no_push(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = int(time.time())
    key = ("dash", str(tenant.org_id), "UTC", "1y", "KES")
    server = _Server({"tab-a": "sid-a", "tab-b": "sid-b"})
    monkeypatch.setattr(ROOMS, "server", server)
    members = {
        "tab-a": now - EARLIER,  # signed in before the sign-out: signed out by it
        "tab-b": now + 5,  # signed in again afterwards
    }
    for token, issued in members.items():
        ROOMS.room(key, tenant.org_id)
        ROOMS.join(
            Member(
                token=token,
                sid=f"sid-{token[-1]}",
                user_id=tenant.viewer.id,
                organization_id=tenant.org_id,
                room=key,
                expires_at=now + 3600,
                held=0,
                shown=0,
                epoch=-1,
                issued_at=issued,
            )
        )
    try:
        await asyncio.to_thread(raw_insert, tenant.org_id, sources=1)
        await asyncio.to_thread(_sign_out, tenant)
        served = await live._broadcast(tenant.org_id, lambda token: True)

        assert ROOMS.member("tab-a") is None
        assert "tab-a" not in served
        assert ROOMS.member("tab-b") is not None and "tab-b" in served
        assert len(server.sent) == 1  # the room's packet, for tab-b only now
    finally:
        ROOMS.leave("tab-a")
        ROOMS.leave("tab-b")
