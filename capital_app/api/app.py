"""The FastAPI app that Reflex mounts in front of its own backend (`api_transformer`).

Reflex mounts its backend (the event WebSocket, /ping, the compiled frontend) at ""
inside this app, so routes declared here win and everything else falls through to
Reflex. Reflex never runs this app's own `lifespan=`: startup work belongs in
`app.register_lifespan_task` on the Reflex app.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from capital_app.service.health import database_health


def create_api_app() -> FastAPI:
    api = FastAPI(
        title="Capital Ledger API",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )

    @api.get("/api/health", tags=["health"])
    async def health() -> JSONResponse:
        """200 when the database answers and its schema is at the migrations' head, else 503."""
        report = await asyncio.to_thread(database_health)
        body = {
            "status": "ok" if report.up_to_date else "unavailable",
            "database": {
                "reachable": report.reachable,
                "revision": report.revision,
                "head": report.head,
                "upToDate": report.up_to_date,
            },
        }
        return JSONResponse(body, status_code=200 if report.up_to_date else 503)

    return api
