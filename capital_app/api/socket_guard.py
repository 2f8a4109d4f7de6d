"""Bounds on the Reflex WebSocket (`/_event`, Socket.IO over python-engineio).

An ASGI wrapper around the whole backend (one of `rx.App`'s api transformers). It
only looks at WebSocket scopes on the event path:

- at most `ws_per_client` sockets at once from one client address (what the server
  sees: behind a reverse proxy, the proxy's own per-address limit applies, README);
  one more is refused before the handshake (HTTP 403), costing no state;
- a socket that has not said Socket.IO CONNECT (`40…`, which the Reflex frontend sends
  at once, with its boot event) within `ws_connect_seconds` of the handshake is closed
  (code 1008): idle sockets that never start a session cannot pile up.

Once a session runs, engine.io's own heartbeat bounds it: the server pings every
`REFLEX_SOCKET_INTERVAL` and drops a peer whose answer does not come within
`REFLEX_SOCKET_TIMEOUT`, so a dead peer or a slow sender (trickling a frame, it cannot
answer a ping meanwhile) is cut off; a message larger than
`REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE` ends the connection. Their defaults here are set
in rxconfig.py.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from capital_app.settings import get_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

EVENT_PATH_SUFFIX = "/_event"


class SocketGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._open: Counter[str] = Counter()

    def open_count(self) -> int:
        with self._lock:
            return sum(self._open.values())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or not scope.get("path", "").rstrip("/").endswith(
            EVENT_PATH_SUFFIX
        ):
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        client = (scope.get("client") or ("unknown", 0))[0]
        with self._lock:
            refused = self._open[client] >= settings.ws_per_client
            if not refused:
                self._open[client] += 1
        if refused:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})
            return
        try:
            await self.app(scope, *_connect_deadline(receive, send, settings.ws_connect_seconds))
        finally:
            with self._lock:
                self._open[client] -= 1
                if self._open[client] <= 0:
                    del self._open[client]


def _connect_deadline(receive: Receive, send: Send, seconds: float) -> tuple[Receive, Send]:
    """receive/send for the app, closing the socket when no Socket.IO CONNECT came
    within `seconds` of the handshake."""
    state: dict[str, Any] = {"deadline": None, "connected": False, "closed": False}
    pending: asyncio.Task | None = None

    async def guarded_send(message: Message) -> None:
        if message["type"] == "websocket.accept":
            state["deadline"] = asyncio.get_running_loop().time() + seconds
        if message["type"] == "websocket.close":
            if state["closed"]:
                return
            state["closed"] = True
        await send(message)

    async def guarded_receive() -> Message:
        nonlocal pending
        if state["connected"] or state["deadline"] is None:
            message = await receive()
        else:
            if pending is None:
                pending = asyncio.ensure_future(receive())
            remaining = state["deadline"] - asyncio.get_running_loop().time()
            done, _ = await asyncio.wait({pending}, timeout=max(0.0, remaining))
            if not done:
                pending.cancel()
                pending = None
                await guarded_send({"type": "websocket.close", "code": 1008})
                return {"type": "websocket.disconnect", "code": 1008}
            message, pending = pending.result(), None
        text = message.get("text") if message["type"] == "websocket.receive" else None
        if text is not None and text.startswith("40"):
            state["connected"] = True
        return message

    return guarded_receive, guarded_send


def socket_guard(app: ASGIApp) -> ASGIApp:
    """For `rx.App(api_transformer=[…, socket_guard])`."""
    return SocketGuard(app)
