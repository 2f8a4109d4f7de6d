"""A request body must arrive within a deadline: 408 problem+json, then hang up.

Granian bounds the request headers (30 s) but not the body: a client trickling one
byte a second would keep its request (and, for the import, a worker thread) for as
long as it likes. Every /api body gets `body_timeout_seconds` from its first read,
the import (up to 64 MiB) `import_body_timeout_seconds`.
"""

from __future__ import annotations

import time

import anyio
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capital_app.api.body_size import IMPORT_PATH
from capital_app.api.problems import problem
from capital_app.settings import get_settings


def body_deadline_for(path: str) -> float:
    settings = get_settings()
    if path == IMPORT_PATH:
        return settings.import_body_timeout_seconds
    return settings.body_timeout_seconds


class BodyDeadline:
    def __init__(self, app: ASGIApp, prefix: str = "/api") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        allowed = body_deadline_for(scope["path"])
        deadline: float | None = None
        done = False

        async def receive_in_time() -> Message:
            nonlocal deadline, done
            if done:  # after the body: waiting for a disconnect is not the client's fault
                return await receive()
            if deadline is None:
                deadline = time.monotonic() + allowed
            with anyio.move_on_after(max(0.0, deadline - time.monotonic())) as scope_:
                message = await receive()
            if scope_.cancelled_caught:
                raise StarletteHTTPException(
                    408,
                    f"The request body did not arrive within {allowed:g} seconds.",
                    headers={"Connection": "close"},
                )
            if message["type"] != "http.request" or not message.get("more_body", False):
                done = True
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_in_time, tracking_send)
        except StarletteHTTPException as error:  # raised outside the routes (BodyLimit's drain)
            if error.status_code != 408 or started:
                raise
            response = problem(
                408,
                "Request body too slow",
                str(error.detail),
                instance=scope["path"],
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
