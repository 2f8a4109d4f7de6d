"""Webhook endpoints of the organization and their delivery log (ADMIN)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Path, Query
from starlette.responses import Response

from capital_app.api import representations as out
from capital_app.api import schemas
from capital_app.api.deps import CurrentActor
from capital_app.api.routing import ExactJSONResponse, api_router, error_responses
from capital_app.service import webhooks

router = api_router(tags=["Webhooks"])
EndpointId = Annotated[UUID, Path(alias="id")]


@router.get(
    "/api/webhooks",
    summary="List webhook endpoints (ADMIN)",
    response_model=list[schemas.WebhookOut],
    responses=error_responses(401, 403, 503),
)
def list_webhooks(actor: CurrentActor) -> Response:
    return ExactJSONResponse([out.webhook_body(e) for e in webhooks.list_endpoints(actor)])


@router.post(
    "/api/webhooks",
    summary="Register a webhook endpoint (ADMIN)",
    status_code=201,
    response_model=schemas.CreatedWebhookOut,
    responses=error_responses(401, 403, 413, 422, 503),
)
def create_webhook(body: schemas.CreateWebhookRequest, actor: CurrentActor) -> Response:
    """Changes committed from now on are delivered, signed with the Standard Webhooks
    scheme; `secret` (whsec_…) verifies them and is shown here once."""
    created = webhooks.create_endpoint(actor, url=body.url, event_types=body.event_types)
    return ExactJSONResponse(
        {**out.webhook_body(created.endpoint), "secret": created.secret},
        status_code=201,
        headers={"Location": f"/api/webhooks/{created.endpoint.id}", "Cache-Control": "no-store"},
    )


@router.get(
    "/api/webhooks/{id}",
    summary="One webhook endpoint (ADMIN)",
    response_model=schemas.WebhookOut,
    responses=error_responses(401, 403, 404, 422, 503),
)
def get_webhook(actor: CurrentActor, endpoint_id: EndpointId) -> Response:
    return ExactJSONResponse(out.webhook_body(webhooks.get_endpoint(actor, endpoint_id)))


@router.patch(
    "/api/webhooks/{id}",
    summary="Disable or enable a webhook endpoint (ADMIN)",
    response_model=schemas.WebhookOut,
    responses=error_responses(401, 403, 404, 422, 503),
)
def update_webhook(
    body: schemas.UpdateWebhookRequest, actor: CurrentActor, endpoint_id: EndpointId
) -> Response:
    """Enabling also clears `failing`: delivery resumes with the first undelivered change."""
    endpoint = webhooks.set_disabled(actor, endpoint_id, body.disabled)
    return ExactJSONResponse(out.webhook_body(endpoint))


@router.delete(
    "/api/webhooks/{id}",
    summary="Delete a webhook endpoint (ADMIN)",
    status_code=204,
    responses=error_responses(401, 403, 404, 422, 503),
)
def delete_webhook(actor: CurrentActor, endpoint_id: EndpointId) -> Response:
    webhooks.delete_endpoint(actor, endpoint_id)
    return Response(status_code=204)


@router.get(
    "/api/webhooks/{id}/deliveries",
    summary="The delivery log of an endpoint, newest first (ADMIN)",
    response_model=list[schemas.WebhookDeliveryOut],
    responses=error_responses(401, 403, 404, 422, 503),
)
def list_deliveries(
    actor: CurrentActor,
    endpoint_id: EndpointId,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    deliveries = webhooks.list_deliveries(actor, endpoint_id, limit)
    return ExactJSONResponse([out.webhook_delivery_body(d) for d in deliveries])


@router.post(
    "/api/webhooks/{id}/deliveries/{deliveryId}/resend",
    summary="Send a delivered or failed message again (ADMIN)",
    status_code=202,
    response_model=schemas.WebhookDeliveryOut,
    responses=error_responses(401, 403, 404, 422, 503),
)
def resend_delivery(
    actor: CurrentActor,
    endpoint_id: EndpointId,
    delivery_id: Annotated[UUID, Path(alias="deliveryId")],
) -> Response:
    """Queued for the worker; sent with the same webhook-id (receivers may deduplicate)."""
    delivery = webhooks.resend(actor, endpoint_id, delivery_id)
    return ExactJSONResponse(out.webhook_delivery_body(delivery), status_code=202)
