"""GET /metrics: the Prometheus scrape (text format), for the scraper and ADMINs.

Who may read it (docs/operations.md):
* the scraper, with `Authorization: Bearer <CAPITAL_METRICS_TOKEN>` when that setting
  is given (compared in constant time);
* a signed-in ADMIN (token) or an API key with the admin scope, always;
* anyone else with a valid credential (VIEWER, EDITOR, narrower keys): 403;
  without one: 401.
With CAPITAL_METRICS=off the endpoint does not exist (404). The series carry no
organization ids or names: they describe this installation, not a tenant.
"""

from __future__ import annotations

import hmac

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from capital_app.api.deps import current_actor
from capital_app.api.routing import api_router
from capital_app.observe import metrics
from capital_app.service.health import authorize_metrics_reader
from capital_app.settings import get_observability_settings

router = api_router(tags=["operations"])


def _bearer(request: Request) -> str | None:
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    return credential.strip() or None if scheme.lower() == "bearer" else None


@router.get("/metrics", include_in_schema=False)
async def scrape(request: Request) -> Response:
    if not metrics.ENABLED:
        raise StarletteHTTPException(404, "There is no such endpoint; see /api/docs.")
    credential = _bearer(request)
    configured = get_observability_settings().metrics_token
    if not (
        credential and configured and hmac.compare_digest(credential.encode(), configured.encode())
    ):
        actor = await current_actor(request, credential)  # 401 without a valid credential
        await run_in_threadpool(authorize_metrics_reader, actor)  # 403 unless ADMIN
    body, content_type = await run_in_threadpool(metrics.exposition)
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
