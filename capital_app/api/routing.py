"""The route, request and response classes every router of the API uses.

`api_router()` gives a router whose request bodies are parsed with exact
decimals, whose bodies are limited to `max_request_bytes` (413 above), and whose
JSON responses write Decimals exactly. Routers of other areas (import/export)
use it too, so the whole API behaves the same.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.responses import JSONResponse, Response

from capital_app.api import exact_json
from capital_app.settings import get_settings


class ExactJSONRequest(Request):
    """A request whose `.json()` keeps every number exact (fractions as Decimal)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = exact_json.loads(await self.body())
        return self._json


class ExactJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def exact_handler(request: Request) -> Response:
            return await handler(ExactJSONRequest(request.scope, request.receive))

        return exact_handler


class ExactJSONResponse(JSONResponse):
    """JSON with Decimals written exactly (a JSONResponse, so OpenAPI shows the model)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return exact_json.dumps(content)


def api_router(**kwargs: Any) -> APIRouter:
    return APIRouter(
        route_class=ExactJSONRoute,
        default_response_class=ExactJSONResponse,
        max_body_size=get_settings().max_request_bytes,
        **kwargs,
    )


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problems an operation can answer with."""
    from capital_app.api import schemas

    models: dict[int, type] = {
        409: schemas.ConflictProblem,
        422: schemas.ValidationProblem,
        429: schemas.ThrottledProblem,
        500: schemas.ServerErrorProblem,
    }
    descriptions = {
        400: "The body could not be read.",
        401: "Missing, expired or invalid token, or the account is not active.",
        403: "The signed-in user's role does not allow this.",
        404: "Not found in the caller's organization.",
        409: "Conflicts with what is stored.",
        413: "The request body is larger than 1 MiB.",
        415: "The body is neither JSON nor a form.",
        422: "A field breaks a rule; `errors` lists every one.",
        429: "Too many requests (the key's or user's rate limit, failed sign-ins or open "
        "streams); wait `Retry-After` seconds.",
        500: "Unexpected failure; quote `errorId`.",
        503: "The database cannot be reached right now.",
    }
    return {
        status: {"model": models.get(status, schemas.Problem), "description": descriptions[status]}
        # Every authenticated call takes from a rate-limit budget, so it may answer 429.
        for status in sorted({*statuses, *((429,) if 401 in statuses else ()), 500})
    }
