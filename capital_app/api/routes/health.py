"""GET /api/health: is this backend able to serve? (No sign-in: for load balancers.)"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Request
from starlette.responses import Response

from capital_app.api import schemas
from capital_app.api.routing import ExactJSONResponse, api_router
from capital_app.service.health import database_health, pool_saturation

logger = logging.getLogger(__name__)

router = api_router(tags=["health"])

# The realtime listener's report, e.g. capital_app.realtime.lifespan.listener_health:
# a JSON object with at least "state".
ListenerStatus = Callable[[], Mapping[str, Any]]


def listener_not_running() -> Mapping[str, Any]:
    """The default hook: an API app created without the realtime listener."""
    return {"state": "not running"}


def _listener_status(request: Request) -> dict[str, Any]:
    hook: ListenerStatus = getattr(request.app.state, "listener_status", listener_not_running)
    try:
        return dict(hook())
    except Exception:  # a health probe answers even when a part cannot report
        logger.warning("realtime listener status unavailable", exc_info=True)
        return {"state": "unknown"}


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
        "status": "ok" if db.up_to_date else "unavailable",
        "database": {
            "reachable": db.reachable,
            "revision": db.revision,
            "head": db.head,
            "upToDate": db.up_to_date,
            "pool": pool_saturation(),
        },
        "realtime": _listener_status(request),
    }
    return ExactJSONResponse(
        body, status_code=200 if db.up_to_date else 503, headers={"Cache-Control": "no-store"}
    )
