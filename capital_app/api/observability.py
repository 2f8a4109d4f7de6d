"""Per-request metrics and log line, as a plain ASGI middleware (cheap: no request
objects, one context variable, two metric updates and one log record per request).

Outermost in the API app, so it also sees the Reflex backend mounted behind it
(UI assets, /ping, uploads); WebSockets (Reflex's event channel) are left alone.
The route label is the matched route's template (`scope["route"].path`, set by
Starlette's router): never the raw path, so no ids end up in labels or logs.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capital_app.observe import metrics
from capital_app.observe.context import CURRENT, RequestContext, request_id_from
from capital_app.observe.logs import REQUEST_LOGGER

REQUEST_ID_HEADER = b"x-request-id"
UNMATCHED = "(unmatched)"
logger = logging.getLogger(REQUEST_LOGGER)


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return UNMATCHED
    return path or "(reflex)"  # Reflex's backend is mounted at ""


class RequestObservation:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                incoming = value
                break
        context = RequestContext(request_id=request_id_from(incoming))
        token = CURRENT.set(context)
        header = (b"x-request-id", context.request_id.encode("ascii"))
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            metrics.observe_request(route, scope["method"], status, seconds)
            if logger.isEnabledFor(logging.INFO):
                logger.info(
                    "%s %s %s",
                    scope["method"],
                    route,
                    status,
                    extra={
                        "fields": {
                            "request_id": context.request_id,
                            "method": scope["method"],
                            "route": route,
                            "status": status,
                            "duration_ms": round(seconds * 1000, 2),
                            "user_id": context.user_id,
                            "api_key_id": context.api_key_id,
                            "organization_id": context.organization_id,
                            "problem_type": context.problem_type,
                        }
                    },
                )
            CURRENT.reset(token)
