"""The caller's organization: its settings, read by any member, changed by ADMINs."""

from __future__ import annotations

from starlette.responses import Response

from capital_app.api import representations as out
from capital_app.api import schemas
from capital_app.api.deps import CurrentActor
from capital_app.api.routing import ExactJSONResponse, api_router, error_responses
from capital_app.service import organizations

router = api_router(tags=["organization"])


@router.get(
    "/api/organization",
    summary="The caller's organization (any member)",
    response_model=schemas.OrganizationOut,
    responses=error_responses(401, 403, 503),
)
def get_organization(actor: CurrentActor) -> Response:
    return ExactJSONResponse(out.organization_body(organizations.organization_settings(actor)))


@router.patch(
    "/api/organization",
    summary="Rename the organization or set its currency (ADMIN)",
    response_model=schemas.OrganizationOut,
    responses=error_responses(401, 403, 409, 413, 422, 503),
)
def update_organization(body: schemas.UpdateOrganizationRequest, actor: CurrentActor) -> Response:
    """Omitted (or null) fields stay as they are; a body that changes nothing → 422.
    A name another organization has (compared ignoring case) → 409. The currency can
    change only while the organization has no history (`currencyChangeable`), else 409.
    Each change is recorded in the audit log (`organization.renamed`,
    `organization.currency_changed`) with the old and new value."""
    settings = organizations.update_organization_settings(
        actor, name=body.name, currency=body.currency
    )
    return ExactJSONResponse(out.organization_body(settings))
