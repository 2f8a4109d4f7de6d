"""The security audit log, for the organization's ADMINs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query, Request
from starlette.responses import Response

from capital_app.api.deps import CurrentActor
from capital_app.api.routing import ExactJSONResponse, api_router, error_responses
from capital_app.domain.audit import AuditEventRecord
from capital_app.service import audit

router = api_router(tags=["audit"])

MAX_ID = 2**63 - 1


def _aware(value: datetime | None) -> datetime | None:
    """An instant without an offset is read as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def audit_event_body(event: AuditEventRecord) -> dict[str, Any]:
    return {
        "id": event.id,
        "occurredAt": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "action": event.action,
        "actorUserId": str(event.actor_user_id) if event.actor_user_id else None,
        "actorEmail": event.actor_email,
        "subjectUserId": str(event.subject_user_id) if event.subject_user_id else None,
        "clientAddress": event.client_address,
        "details": event.details,
    }


@router.get(
    "/api/audit-events",
    summary="The security audit log, newest first (ADMIN)",
    responses=error_responses(401, 403, 422, 503),
)
def list_audit_events(
    request: Request,
    actor: CurrentActor,
    action: Annotated[
        list[str] | None,
        Query(max_length=60, description="Only these actions (repeat the parameter)."),
    ] = None,
    since: Annotated[
        datetime | None, Query(description="Occurred at or after this instant.")
    ] = None,
    until: Annotated[datetime | None, Query(description="Occurred before this instant.")] = None,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Older than this event id (paging).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE, description="Page size.")] = 100,
) -> Response:
    """Sign-ins (and failures, throttling), sign-outs, user changes with old and new
    values, imports (file hash, counts) and exports. A full page carries a
    `Link: rel=next` header to the older events."""
    events = audit.list_audit_events(
        actor,
        actions=action,
        since=_aware(since),
        until=_aware(until),
        before_id=before,
        limit=limit,
    )
    headers = {}
    if len(events) == limit:
        next_url = request.url.include_query_params(before=events[-1].id)
        headers["Link"] = f'<{next_url.path}?{next_url.query}>; rel="next"'
    return ExactJSONResponse([audit_event_body(e) for e in events], headers=headers)
