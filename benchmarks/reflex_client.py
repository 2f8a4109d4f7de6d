"""A browser-less Reflex session: Socket.IO over a WebSocket, as the frontend speaks it.

Protocol (Reflex 0.10.1, read from reflex_base/.templates/web/utils/state.js and
reflex/app.py):
- Engine.IO 4 / Socket.IO 5 at path `/_event` (prefixed by the backend path),
  namespace `/_event`, transport websocket only (the server refuses upgrades),
  query `token=<client token>` (a UUID the tab keeps in sessionStorage).
- The CONNECT packet's auth carries the boot event:
  `{"event": {"name": "<root>.hydrate_and_load", "payload": {}, "router_data":
  {"pathname": "/", "asPath": "/"}}}` (a browser adds "state_schema" and the
  initial state hashes; without them the server sends the full state). The
  server answers with deltas, then runs the page's on_load handlers.
- Client → server: emit `event` with `{"name": "<state full name>.<handler>",
  "payload": {<kwargs>}, "router_data": {...}}`; the token comes from the socket.
- Server → client: `event` with `{"delta": {"<state full name>": {"<var>_rx_state_":
  value}}, "events": [...]}`; `new_token` when the token is already connected
  elsewhere (a duplicated tab): the client must adopt the new token.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import socketio

ROOT_STATE = "reflex___state____state"
NAMESPACE = "/_event"
VAR_SUFFIX = "_rx_state_"

Watcher = Callable[[str, dict[str, Any], float], None]


class ReflexSession:
    """One tab: connects, sends events, and reports each delta with its arrival time."""

    def __init__(
        self, base_url: str, path: str = "/", storage: dict[str, Any] | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.path = path
        # Browser storage the tab already holds (fully qualified var name → value),
        # sent with the boot event as the frontend does (hydrate_and_load's `vars`):
        # a second tab of a signed-in browser resumes from the stored session token.
        self.storage = dict(storage or {})
        self.token = str(uuid.uuid4())
        self.values: dict[str, dict[str, Any]] = {}
        self.watchers: list[Watcher] = []
        # Every update received: (bytes as JSON, the update), for delta sizes.
        self.packets: list[tuple[int, dict[str, Any]]] = []
        self._changed = asyncio.Condition()
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("event", self._on_event, namespace=NAMESPACE)
        self.sio.on("new_token", self._on_new_token, namespace=NAMESPACE)

    def router_data(self) -> dict[str, Any]:
        return {"pathname": self.path, "asPath": self.path}

    async def connect(self) -> None:
        boot = {
            "name": f"{ROOT_STATE}.hydrate_and_load",
            "payload": {"vars": self.storage} if self.storage else {},
            "router_data": self.router_data(),
        }
        await self.sio.connect(
            f"{self.base_url}?token={self.token}",
            socketio_path=NAMESPACE,
            namespaces=[NAMESPACE],
            transports=["websocket"],
            auth={"event": boot},
            wait_timeout=30,
        )

    async def send(self, state: str, handler: str, **payload: Any) -> None:
        await self.sio.emit(
            "event",
            {"name": f"{state}.{handler}", "payload": payload, "router_data": self.router_data()},
            namespace=NAMESPACE,
        )

    async def close(self) -> None:
        await self.sio.disconnect()

    def value(self, state_suffix: str, var: str) -> Any:
        for state, values in self.values.items():
            if state.endswith(state_suffix) and var in values:
                return values[var]
        return None

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        async def check() -> None:
            async with self._changed:
                while not predicate():
                    await self._changed.wait()

        await asyncio.wait_for(check(), timeout)

    async def _on_event(self, update: dict[str, Any]) -> None:
        arrived = time.perf_counter()
        self.packets.append((len(json.dumps(update, separators=(",", ":"))), update))
        for state, changes in (update.get("delta") or {}).items():
            plain = {k.removesuffix(VAR_SUFFIX): v for k, v in changes.items()}
            self.values.setdefault(state, {}).update(plain)
            for watcher in self.watchers:
                watcher(state, plain, arrived)
        async with self._changed:
            self._changed.notify_all()

    async def _on_new_token(self, new_token: str) -> None:
        self.token = new_token
