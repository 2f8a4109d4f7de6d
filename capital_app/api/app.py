"""The REST API for integrators: a FastAPI app mounted on the Reflex backend.

`create_api_app()` is given to the Reflex app as its `api_transformer`, so one
backend serves the UI and `/api/*`. Every route is thin: it parses, calls one
service function and writes the answer; rules and SQL live below it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response

from capital_app.api.body_deadline import BodyDeadline
from capital_app.api.limits import BodyLimit
from capital_app.api.observability import RequestObservation
from capital_app.api.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from capital_app.api.rate_limit_headers import RateLimitHeaders
from capital_app.api.routes import (
    alerts,
    api_keys,
    audit,
    auth,
    events,
    health,
    history,
    import_export,
    metrics,
    organization,
    rates,
    sources,
    spreadsheet_import,
    users,
    webhooks,
)
from capital_app.api.routes.health import ListenerStatus, listener_not_running
from capital_app.api.security_headers import SecurityHeaders
from capital_app.api.socket_size_guard import SocketSizeGuard
from capital_app.db.async_reads import close_pool
from capital_app.observe.logs import configure_logging

DOCS_URL = "/api/docs"
# Swagger UI's files, served from here (no CDN): the `fastapi-offline` package ships them.
DOCS_ASSETS_URL = "/api/docs/assets"

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
* Each API key and each user has a request budget: `RateLimit-Limit`,
  `RateLimit-Remaining` and `RateLimit-Reset` on every answer; 429 with `Retry-After`.
* `GET /api/events` replays every change in commit order; `/api/events/stream` is
  the same as Server-Sent Events.
* Commands accept an `Idempotency-Key` header, so a retry never writes twice.
"""

_PROBLEM_SCHEMAS = {
    "Problem",
    "ValidationProblem",
    "ConflictProblem",
    "ThrottledProblem",
    "ServerErrorProblem",
    "ImportRefusedProblem",
    "SpreadsheetRefusedProblem",
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


_RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": "The bucket's capacity (CAPITAL_RATE_LIMIT_BURST).",
    "RateLimit-Remaining": "Requests left in the bucket now.",
    "RateLimit-Reset": "Seconds until the bucket is full again.",
}


def _documented_rate_limits(document: dict[str, Any]) -> dict[str, Any]:
    """Every authenticated operation (one that can answer 401) takes from a budget:
    its answers carry the RateLimit-* headers, its 429 a Retry-After."""
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            if "401" not in responses:
                continue
            for status, response in responses.items():
                if status in ("401", "413", "500", "503"):  # refused before (or without) a token
                    continue
                headers = response.setdefault("headers", {})
                for name, text in _RATE_LIMIT_HEADERS.items():
                    headers.setdefault(name, {"description": text, "schema": {"type": "integer"}})
                if status == "429":
                    headers.setdefault(
                        "Retry-After",
                        {"description": "Seconds to wait.", "schema": {"type": "integer"}},
                    )
    return document


# import_export.router (import, export) before history.router: GET /api/capital-history/export
# must be matched before GET /api/capital-history/{sourceId} would take "export" for a
# source id.
ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    auth.router,
    import_export.router,
    spreadsheet_import.router,
    history.router,
    sources.router,
    users.router,
    audit.router,
    api_keys.router,
    events.router,
    organization.router,
    rates.router,
    webhooks.router,
    alerts.router,
    metrics.router,
)


def _no_such_endpoint(routers: tuple[APIRouter, ...]) -> Callable[[Request], Awaitable[Response]]:
    """404 for an unknown /api path; 405 (with Allow) for a known path and another method."""
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]

    async def no_such_endpoint(request: Request) -> Response:
        path = request.url.path
        allowed = sorted({m for r in routes if r.path_regex.match(path) for m in r.methods or ()})
        if allowed:
            raise StarletteHTTPException(
                405,
                f"{request.method} is not accepted here; use {', '.join(allowed)}.",
                headers={"Allow": ", ".join(allowed)},
            )
        raise StarletteHTTPException(404, "There is no such endpoint; see /api/docs.")

    return no_such_endpoint


def _add_docs(app: FastAPI) -> None:
    """Swagger UI at /api/docs with its script and styles served by this app."""
    from fastapi_offline.core import _STATIC_PATH

    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=_STATIC_PATH), name="docs-assets")

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title=f"{app.title} — docs",
            oauth2_redirect_url="/api/docs/oauth2-redirect",
            swagger_js_url=f"{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS_URL}/favicon.png",
        )

    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_api_route(DOCS_URL, docs, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        "/api/docs/oauth2-redirect", oauth2_redirect, methods=["GET"], include_in_schema=False
    )


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """The hot reads' async pool opens on first use (in this loop) and closes here."""
    try:
        yield
    finally:
        await close_pool()


def create_api_app(*, listener_status: ListenerStatus | None = None) -> FastAPI:
    """The API app. `listener_status` reports the realtime listener for /api/health
    (capital_app/wiring.py passes capital_app.realtime.lifespan.listener_health; without it
    the report is {"state": "not running"})."""
    configure_logging()
    app = FastAPI(
        title="Capital Ledger API",
        version="1.0.0",
        description=DESCRIPTION,
        docs_url=None,  # served below, with Swagger UI's files from this app
        redoc_url=None,
        openapi_url="/api/openapi.json",
        swagger_ui_oauth2_redirect_url="/api/docs/oauth2-redirect",
        lifespan=_lifespan,
    )
    app.state.listener_status = listener_status or listener_not_running
    install_problem_handlers(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(BodyDeadline)  # outermost of the two: BodyLimit's drain is bounded too
    app.add_middleware(RateLimitHeaders)
    # Outermost: Reflex mounts its backend (pages, /_event, /_upload) inside this app.
    app.add_middleware(SecurityHeaders)
    app.add_middleware(SocketSizeGuard)  # anonymous WebSocket clients: small messages only
    _add_docs(app)
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
            app.openapi_schema = _documented_rate_limits(
                _problems_as_problem_json(
                    get_openapi(
                        title=app.title,
                        version=app.version,
                        description=app.description,
                        routes=app.routes,
                    )
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
