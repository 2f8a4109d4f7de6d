"""Live rooms: sessions that show the same thing get one Socket.IO emit per change.

Reflex pushes a change into a session by running one of its events: a state
load, the handler, a delta diff and a save per session (~1 ms each, one after
another). For the sessions of a worker that show the same live view of one
organization (a "variant": the live dashboard in one time zone and chart range)
the new numbers are the same, so the worker computes them once and sends them
with ONE emit to a Socket.IO room on Reflex's own server (python-socketio
encodes a room packet once: socketio/async_manager.py:35-49). docs/realtime.md
says why and what it relies on.

This module is the bookkeeping, free of any page: which session (client token,
socket id, user) sits in which room of which organization, what each room last
sent (its snapshot, at an organization revision), and what each member's
server-side state holds, so the page can bring that state up to date before the
session's next own event (see `Member.held`).

Rooms are per process (socketio/base_manager.py:35): each worker emits to the
sockets it holds, as the per-session path does. No client manager is installed
(an AsyncRedisManager would publish every emit, Reflex's own included, to Redis).
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import socketio  # type: ignore[import-untyped]
from engineio import packet as eio_packet  # type: ignore[import-untyped]
from socketio import packet as sio_packet

NAMESPACE = "/_event"
EVENT = "event"


@dataclass(slots=True)
class Member:
    """One session in a room (a tab with a live view and nothing pending)."""

    token: str
    sid: str
    user_id: UUID
    organization_id: UUID
    room: Hashable
    expires_at: int  # the session token's expiry (epoch seconds): no pushes after it
    held: int  # the revision the session's server-side state holds
    shown: int  # the revision the browser was sent (>= held)
    epoch: int  # the room base the browser holds (-1: its own page load's)
    issued_at: int | None = None  # the session token's issue time: a later sign-out ends it


@dataclass(slots=True)
class Room:
    """What one room last sent, and to whom."""

    key: Hashable
    organization_id: UUID
    revision: int = -1
    epoch: int = 0
    snapshot: Any = None
    members: dict[str, Member] = field(default_factory=dict)


class Rooms:
    """Rooms of this process, by key and by organization; members by client token."""

    def __init__(self) -> None:
        self._rooms: dict[Hashable, Room] = {}
        self._members: dict[str, Member] = {}
        self.server: Any = None  # Reflex's socketio.AsyncServer (bound by the lifespan)
        self.emits = 0
        self.bytes_sent = 0

    def room(self, key: Hashable, organization_id: UUID) -> Room:
        found = self._rooms.get(key)
        if found is None:
            found = self._rooms[key] = Room(key, organization_id)
        if found.organization_id != organization_id:  # a key always names its organization
            raise ValueError("room key of another organization")
        return found

    def existing(self, key: Hashable) -> Room | None:
        return self._rooms.get(key)

    def of_organization(self, organization_id: UUID) -> list[Room]:
        return [r for r in self._rooms.values() if r.organization_id == organization_id]

    def member(self, token: str) -> Member | None:
        return self._members.get(token)

    def join(self, member: Member) -> None:
        """Enter the room (no await: a packet emitted after this reaches the member)."""
        self.leave(member.token)
        room = self._rooms[member.room]
        if room.organization_id != member.organization_id:
            raise ValueError("a session may only join a room of its own organization")
        if self.server is not None:
            try:
                self.server.manager.basic_enter_room(member.sid, NAMESPACE, _name(member.room))
            except (KeyError, ValueError):  # the socket closed meanwhile: nothing to join
                if not room.members:
                    del self._rooms[member.room]
                return
        room.members[member.token] = member
        self._members[member.token] = member

    def leave(self, token: str) -> Member | None:
        """Leave (sign-out, a view change, a pending edit, a failed check); idempotent."""
        member = self._members.pop(token, None)
        if member is None:
            return None
        room = self._rooms.get(member.room)
        if room is not None:
            room.members.pop(token, None)
            if not room.members:
                del self._rooms[member.room]
        if self.server is not None:
            self.server.manager.basic_leave_room(member.sid, NAMESPACE, _name(member.room))
        return member

    def connected(self, members: Iterable[Member], is_local: Any) -> list[Member]:
        """Members whose socket this process still holds (closed tabs leave)."""
        alive = []
        sids = self._sids()  # taken once: Reflex rebuilds this mapping on every access
        for m in list(members):
            if is_local(m.token) and sids.get(m.token) == m.sid:
                alive.append(m)
            else:
                self.leave(m.token)
        return alive

    def _sids(self) -> Mapping[str, str]:
        """Client token → socket id, as Reflex's token manager holds it now.

        `EventNamespace.token_to_sid` (reflex/app.py:2170-2179) builds a new dict
        from every connected socket on each access
        (reflex/utils/token_manager.py:69-77): asked once per member it made a push
        O(sessions²) — 5 % of the worker's loop at 100 sessions (py-spy).
        """
        if self.server is None:
            return {}
        namespace = self.server.namespace_handlers.get(NAMESPACE)
        return {} if namespace is None else namespace.token_to_sid

    async def emit(self, room: Room, payload: dict[str, Any], skip: list[str], size: int) -> None:
        """One packet to every member but `skip` (sids): encoded once, queued on each socket.

        What `AsyncServer.emit(..., to=room)` does (socketio/async_manager.py:35-49:
        one Socket.IO packet, encoded once, wrapped in one Engine.IO MESSAGE packet),
        minus its per-recipient `asyncio.create_task(_send_eio_packet(...))` and
        `asyncio.wait`: the prepared packet is put straight on each socket's send
        queue (engineio/async_socket.py:71-76 `AsyncSocket.send`, the same queue
        the socket's writer task drains), so a member's share is one `put_nowait`.
        A socket whose ping timed out goes through `send` (it closes itself there).
        """
        server = self.server
        if server is None:
            return
        encoded: Any = None
        if isinstance(server, socketio.AsyncServer):
            pkt = server.packet_class(sio_packet.EVENT, namespace=NAMESPACE, data=[EVENT, payload])
            encoded = pkt.encode()
        if not isinstance(encoded, str):  # binary attachments (never in a delta), a double
            await server.emit(
                EVENT, payload, to=_name(room.key), namespace=NAMESPACE, skip_sid=skip or None
            )
        else:
            message = eio_packet.Packet(eio_packet.MESSAGE, encoded)
            skipped = set(skip)
            timeout = server.eio.ping_timeout
            now = time.time()
            for sid, eio_sid in server.manager.get_participants(NAMESPACE, _name(room.key)):
                if sid in skipped:
                    continue
                socket = server.eio.sockets.get(eio_sid)
                if socket is None or socket.closed or socket.closing:
                    continue  # gone: it leaves its rooms by itself
                if socket.last_ping and now - socket.last_ping > timeout:
                    await socket.send(message)  # closes the dead socket
                    continue
                socket.queue.put_nowait(message)
        self.emits += 1
        self.bytes_sent += size

    def __len__(self) -> int:
        return len(self._members)


def _name(key: Hashable) -> str:
    return "live:" + ":".join(str(part) for part in key) if isinstance(key, tuple) else str(key)


def now_seconds() -> int:
    return int(time.time())


ROOMS = Rooms()
