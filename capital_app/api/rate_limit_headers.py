"""RateLimit-Limit / -Remaining / -Reset on every API answer that took a token.

The verdict is reached where the caller is known (`deps.current_actor`), deep
inside the app; this middleware hands that code a slot in the request's scope and
copies what it finds there onto the answer's headers (429s included).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCOPE_KEY = "capital.rate_limit"


class RateLimitHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        slot: dict[str, str] = {}
        scope[SCOPE_KEY] = slot

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and slot:
                headers = MutableHeaders(scope=message)
                for name, value in slot.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
