"""Large WebSocket messages only from signed-in sessions (issue 17).

Reflex's Socket.IO accepts messages up to REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE (16 MiB
here: the import page sends the prototype's localStorage copy in one event), and
any client may open `/_event` without signing in. So before Engine.IO parses a
message, this guard closes the socket (1009, message too big) when one larger than
`UNAUTHENTICATED_MAX_MESSAGE_BYTES` arrives on a connection that has not yet sent a
valid web UI session token (the browser sends it with its first events, as Reflex
sends the `capital_session` localStorage value with the hydrate event) nor been
handed one (a sign-in on this socket). The token's signature and expiry are
checked, not its revocation: every event handler checks that. A signed-in
tab therefore keeps the large limit; an anonymous client never gets past 64 KiB.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capital_app.auth.tokens import UI_AUDIENCE, verify_token
from capital_app.domain.errors import LedgerError

UNAUTHENTICATED_MAX_MESSAGE_BYTES = 64 * 1024
EVENT_PATH = "/_event"
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")
_TOO_BIG = 1009


def _carries_session(text: str) -> bool:
    for candidate in _JWT.findall(text)[:4]:
        try:
            verify_token(candidate, UI_AUDIENCE)
        except LedgerError:
            continue
        return True
    return False


class SocketSizeGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or not scope.get("path", "").startswith(EVENT_PATH):
            await self.app(scope, receive, send)
            return
        signed_in = False
        closed = False

        async def guarded_receive() -> Message:
            nonlocal signed_in, closed
            if closed:
                return {"type": "websocket.disconnect", "code": _TOO_BIG}
            message = await receive()
            if message["type"] != "websocket.receive" or signed_in:
                return message
            text = message.get("text")
            data = text if text is not None else (message.get("bytes") or b"")
            if len(data) > UNAUTHENTICATED_MAX_MESSAGE_BYTES:
                closed = True
                await send({"type": "websocket.close", "code": _TOO_BIG})
                return {"type": "websocket.disconnect", "code": _TOO_BIG}
            if text is not None and "eyJ" in text:
                signed_in = _carries_session(text)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal signed_in
            if closed:
                return  # the guard closed the socket already
            if not signed_in and message["type"] == "websocket.send":
                text = message.get("text") or ""
                # A sign-in on this socket: the server hands the browser its token.
                if "eyJ" in text and len(text) <= UNAUTHENTICATED_MAX_MESSAGE_BYTES:
                    signed_in = _carries_session(text)
            await send(message)

        await self.app(scope, guarded_receive, guarded_send)
