"""API keys of the organization, managed by its ADMINs (signed in, not with a key)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Path
from starlette.responses import Response

from capital_app.api import representations as out
from capital_app.api import schemas
from capital_app.api.deps import CurrentActor
from capital_app.api.routing import ExactJSONResponse, api_router, error_responses
from capital_app.service import api_keys

router = api_router(tags=["API keys"])


@router.get(
    "/api/api-keys",
    summary="List API keys (ADMIN)",
    response_model=list[schemas.ApiKeyOut],
    responses=error_responses(401, 403, 503),
)
def list_api_keys(actor: CurrentActor) -> Response:
    """Every key, revoked ones too, newest first; never a secret."""
    return ExactJSONResponse([out.api_key_body(k) for k in api_keys.list_keys(actor)])


@router.post(
    "/api/api-keys",
    summary="Create an API key (ADMIN)",
    status_code=201,
    response_model=schemas.CreatedApiKeyOut,
    responses=error_responses(401, 403, 413, 422, 503),
)
def create_api_key(body: schemas.CreateApiKeyRequest, actor: CurrentActor) -> Response:
    """The answer's `secret` is the key: it is shown here once and stored only as a hash.
    Send it as `Authorization: Bearer clk_live_…`."""
    created = api_keys.create_key(
        actor, name=body.name, scopes=body.scopes, expires_at=body.expires_at
    )
    return ExactJSONResponse(
        {**out.api_key_body(created.key), "secret": created.secret},
        status_code=201,
        headers={"Location": f"/api/api-keys/{created.key.id}", "Cache-Control": "no-store"},
    )


@router.delete(
    "/api/api-keys/{id}",
    summary="Revoke an API key (ADMIN)",
    response_model=schemas.ApiKeyOut,
    responses=error_responses(401, 403, 404, 422, 503),
)
def revoke_api_key(actor: CurrentActor, key_id: Annotated[UUID, Path(alias="id")]) -> Response:
    """Refused from the very next request on; the key stays listed with `revokedAt`.
    Revoking a revoked key answers it unchanged. Another organization's key → 404."""
    return ExactJSONResponse(out.api_key_body(api_keys.revoke_key(actor, key_id)))
