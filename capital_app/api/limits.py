"""Refuse an oversized body before reading it, with a problem+json 413.

The routers also count the bytes of bodies sent without a Content-Length (and
answer 413 the same way); this catches the declared ones up front, where
Starlette would otherwise answer in plain text. Only /api paths: the Reflex
backend mounted inside this app keeps its own rules.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from capital_app.api.problems import problem
from capital_app.settings import get_settings


class DeclaredBodyLimit:
    def __init__(self, app: ASGIApp, prefix: str = "/api") -> None:
        self.app = app
        self.prefix = prefix
        self.max_bytes = get_settings().max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            declared = Headers(scope=scope).get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                response = problem(
                    413,
                    "Request body too large",
                    f"The request body is larger than the {self.max_bytes:,} bytes "
                    "this API accepts.",
                    instance=Request(scope).url.path,
                    headers={"Connection": "close"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
