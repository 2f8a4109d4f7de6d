"""GET /api/health: is this backend able to serve? (No sign-in: for load balancers.)"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from starlette.responses import Response

from capital_app.api import schemas
from capital_app.api.routing import ExactJSONResponse, api_router
from capital_app.service.health import database_health

router = api_router(tags=["health"])

ListenerStatus = Callable[[], str]


def listener_not_running() -> str:
    """The default listener status hook, until the realtime listener provides its own."""
    return "not running"


def _listener_status(request: Request) -> str:
    hook: ListenerStatus = getattr(request.app.state, "listener_status", listener_not_running)
    try:
        return str(hook())
    except Exception:
        return "unknown"


@router.get(
    "/api/health",
    summary="Health of this backend",
    response_model=schemas.HealthOut,
    responses={503: {"model": schemas.HealthOut, "description": "The database is not usable."}},
)
def health(request: Request) -> Response:
    """200 when the database answers and is at the newest migration, else 503 (same body)."""
    db = database_health()
    body = {
        "status": "ok" if db.healthy else "unavailable",
        "database": "reachable" if db.reachable else "unreachable",
        "migrations": {
            "applied": db.applied_migration,
            "head": db.head_migration,
            "atHead": db.at_head,
        },
        "realtime": _listener_status(request),
    }
    return ExactJSONResponse(
        body, status_code=200 if db.healthy else 503, headers={"Cache-Control": "no-store"}
    )
