"""Bodies over the limit get a problem+json 413, and the client gets to read it.

A declared Content-Length over the limit is refused before the app runs (where
Starlette would answer in plain text); a body sent without one is counted by the
routers (`api_router(max_body_size=...)`), which answer 413 once it passes the
limit. Either way the rest of the body is read and thrown away before the 413 goes
out (up to a cap), because a server that answers and hangs up while the client is
still sending makes most clients report a broken connection instead of the 413.

Only /api paths: the Reflex backend mounted inside this app keeps its own rules.
One route has a larger cap: `POST /api/capital-history/import` takes a whole
prototype export (`max_import_bytes`, 64 MiB unless configured), which it
streams into the parser rather than holding; see `body_limit_for`.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capital_app.api.body_size import TOO_LARGE_TITLE, body_limit_for, too_large_detail
from capital_app.api.problems import problem
from capital_app.settings import get_settings

DRAIN_FACTOR = 16  # read at most this many times the (general) limit before hanging up


async def _drain(receive: Receive, budget: int) -> bool:
    """Read and discard the rest of the body; False if it was longer than `budget`."""
    read = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return True
        read += len(message.get("body", b""))
        if not message.get("more_body", False):
            return True
        if read > budget:
            return False


class BodyLimit:
    def __init__(self, app: ASGIApp, prefix: str = "/api") -> None:
        self.app = app
        self.prefix = prefix
        self.drain_budget = DRAIN_FACTOR * get_settings().max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        limit = body_limit_for(scope["path"])
        if declared.isdigit() and int(declared) > limit:
            drained = int(declared) <= self.drain_budget and await _drain(
                receive, self.drain_budget
            )
            response = problem(
                413,
                TOO_LARGE_TITLE,
                too_large_detail(scope["path"]),
                instance=Request(scope).url.path,
                headers={} if drained else {"Connection": "close"},
            )
            await response(scope, receive, send)
            return

        body_done = False

        async def tracking_receive() -> Message:
            nonlocal body_done
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def draining_send(message: Message) -> None:
            nonlocal body_done
            if (
                message["type"] == "http.response.start"
                and message["status"] == 413
                and not body_done
            ):
                body_done = await _drain(receive, self.drain_budget)
            await send(message)

        await self.app(scope, tracking_receive, draining_send)
