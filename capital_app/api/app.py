"""The REST API for integrators: a FastAPI app mounted on the Reflex backend.

`create_api_app()` is given to the Reflex app as its `api_transformer`, so one
backend serves the UI and `/api/*`. Every route is thin: it parses, calls one
service function and writes the answer; rules and SQL live below it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from capital_app.api.body_deadline import BodyDeadline
from capital_app.api.limits import BodyLimit
from capital_app.api.observability import RequestObservation
from capital_app.api.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from capital_app.api.routes import (
    api_keys,
    audit,
    auth,
    health,
    history,
    metrics,
    sources,
    transfer,
    users,
)
from capital_app.api.routes.health import ListenerStatus, listener_not_running
from capital_app.observe.logs import configure_logging

DESCRIPTION = """
The capital history of your organization — every change to every loan, credit
line and equity source — and the weighted average cost of capital (WACC) it adds
up to, today or as of any past date.

* Sign in with `POST /api/auth/token`, then send `Authorization: Bearer <token>`;
  integrators send an API key (`Authorization: Bearer clk_live_…`) instead.
* Money is in whole cents (`availableCents`), rates are decimal fractions
  (`annualRate` 0.1325 is 13.25 %); both are exact JSON numbers.
* Dates are ISO 8601: `2026-03-01` or `2026-03-01T09:00:00Z`.
* Errors are `application/problem+json` (RFC 9457); a 422 lists every bad field.
* Commands accept an `Idempotency-Key` header, so a retry never writes twice.
"""

_PROBLEM_SCHEMAS = {
    "Problem",
    "ValidationProblem",
    "ConflictProblem",
    "ThrottledProblem",
    "ServerErrorProblem",
    "ImportRefusedProblem",
}


def _problems_as_problem_json(document: dict[str, Any]) -> dict[str, Any]:
    """FastAPI documents every response as application/json; problems are not."""
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                schema = content.get("application/json", {}).get("schema", {})
                if schema.get("$ref", "").rsplit("/", 1)[-1] in _PROBLEM_SCHEMAS:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
    return document


# transfer.router (import, export) before history.router: GET /api/capital-history/export
# must be matched before GET /api/capital-history/{sourceId} would take "export" for a
# source id.
ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    auth.router,
    transfer.router,
    history.router,
    sources.router,
    users.router,
    audit.router,
    api_keys.router,
    metrics.router,
)


def _no_such_endpoint(routers: tuple[APIRouter, ...]) -> Callable[[Request], Awaitable[Response]]:
    """404 for an unknown /api path; 405 (with Allow) for a known path and another method."""
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]

    async def no_such_endpoint(request: Request) -> Response:
        path = request.url.path
        allowed = sorted({m for r in routes if r.path_regex.match(path) for m in r.methods})
        if allowed:
            raise StarletteHTTPException(
                405,
                f"{request.method} is not accepted here; use {', '.join(allowed)}.",
                headers={"Allow": ", ".join(allowed)},
            )
        raise StarletteHTTPException(404, "There is no such endpoint; see /api/docs.")

    return no_such_endpoint


def create_api_app(*, listener_status: ListenerStatus | None = None) -> FastAPI:
    """The API app. `listener_status` reports the realtime listener for /api/health
    (capital_app.py passes capital_app.realtime.lifespan.listener_health; without it
    the report is {"state": "not running"})."""
    configure_logging()
    app = FastAPI(
        title="Capital Ledger API",
        version="1.0.0",
        description=DESCRIPTION,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        swagger_ui_oauth2_redirect_url="/api/docs/oauth2-redirect",
    )
    app.state.listener_status = listener_status or listener_not_running
    install_problem_handlers(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(BodyDeadline)  # outermost of the two: BodyLimit's drain is bounded too
    # Outermost of all: request id, request metrics and the request log line, also for
    # the Reflex backend mounted behind this app (docs/operations.md).
    app.add_middleware(RequestObservation)
    for router in ROUTERS:
        app.include_router(router)
    # Last: every other /api path answers a problem too, also once Reflex mounts its own
    # backend behind this app (it would otherwise answer them in its own way).
    app.add_api_route(
        "/api/{path:path}",
        _no_such_endpoint(ROUTERS),
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        include_in_schema=False,
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _problems_as_problem_json(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
