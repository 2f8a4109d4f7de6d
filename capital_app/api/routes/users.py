"""The organization's users, managed by its ADMINs."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Path
from starlette.responses import Response

from capital_app.api import representations as out
from capital_app.api import schemas
from capital_app.api.deps import CurrentActor
from capital_app.api.routing import ExactJSONResponse, api_router, error_responses
from capital_app.service import users

router = api_router(tags=["users"])


@router.get(
    "/api/users",
    summary="List users (ADMIN)",
    response_model=list[schemas.UserOut],
    responses=error_responses(401, 403, 503),
)
def list_users(actor: CurrentActor) -> Response:
    return ExactJSONResponse([out.user_body(u) for u in users.list_users(actor)])


@router.post(
    "/api/users",
    summary="Create a user (ADMIN)",
    status_code=201,
    response_model=schemas.UserOut,
    responses=error_responses(401, 403, 409, 413, 422, 503),
)
def create_user(body: schemas.CreateUserRequest, actor: CurrentActor) -> Response:
    """Passwords have at least 10 characters; an email already used in this organization
    → 409 (another organization's use of it is neither an obstacle nor revealed)."""
    user = users.create_user(
        actor, email=body.email, name=body.name, role=body.role, password=body.password
    )
    return ExactJSONResponse(
        out.user_body(user), status_code=201, headers={"Location": f"/api/users/{user.id}"}
    )


@router.patch(
    "/api/users/{id}",
    summary="Change a user's role, active flag or name (ADMIN)",
    response_model=schemas.UserOut,
    responses=error_responses(401, 403, 404, 409, 413, 422, 503),
)
def update_user(
    body: schemas.UpdateUserRequest,
    actor: CurrentActor,
    user_id: Annotated[UUID, Path(alias="id")],
) -> Response:
    """Omitted (or null) fields stay as they are. Demoting or deactivating the last
    active ADMIN → 409. A user of another organization → 404."""
    user = users.update_user(actor, user_id, role=body.role, active=body.active, name=body.name)
    return ExactJSONResponse(out.user_body(user))
