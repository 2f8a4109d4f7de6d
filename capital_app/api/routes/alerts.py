"""Alert rules (EDITOR/ADMIN set and deactivate them; everyone reads) and the alert log."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Path, Query
from starlette.responses import Response

from capital_app.api import representations as out
from capital_app.api import schemas
from capital_app.api.deps import CurrentActor
from capital_app.api.routing import ExactJSONResponse, api_router, error_responses
from capital_app.service import alerts

router = api_router(tags=["Alerts"])
RuleId = Annotated[UUID, Path(alias="id")]


@router.get(
    "/api/alerts/rules",
    summary="List the organization's alert rules, active first",
    response_model=list[schemas.AlertRuleOut],
    responses=error_responses(401, 403, 503),
)
def list_rules(actor: CurrentActor) -> Response:
    return ExactJSONResponse([out.alert_rule_body(r) for r in alerts.list_rules(actor)])


@router.post(
    "/api/alerts/rules",
    summary="Set an alert rule (EDITOR/ADMIN)",
    status_code=201,
    response_model=schemas.AlertRuleOut,
    responses=error_responses(401, 403, 413, 422, 503),
)
def create_rule(body: schemas.CreateAlertRuleRequest, actor: CurrentActor) -> Response:
    """From the next change on, a change that makes the rule hold (when it did not just
    before) is logged, pushed to every open session and sent as `alert.triggered`."""
    rule = alerts.create_rule(
        actor,
        kind=body.kind,
        threshold_rate=body.threshold_rate,
        threshold_basis_points=body.threshold_basis_points,
        window_days=body.window_days,
        threshold_cents=body.threshold_cents,
    )
    return ExactJSONResponse(
        out.alert_rule_body(rule),
        status_code=201,
        headers={"Location": f"/api/alerts/rules/{rule.id}"},
    )


@router.delete(
    "/api/alerts/rules/{id}",
    summary="Deactivate an alert rule (EDITOR/ADMIN)",
    response_model=schemas.AlertRuleOut,
    responses=error_responses(401, 403, 404, 422, 503),
)
def deactivate_rule(actor: CurrentActor, rule_id: RuleId) -> Response:
    """The rule stays listed (inactive, with who and when) and its alerts stay in the log;
    deactivating an inactive rule answers it unchanged."""
    return ExactJSONResponse(out.alert_rule_body(alerts.deactivate_rule(actor, rule_id)))


@router.get(
    "/api/alerts",
    summary="The alert log, newest first",
    response_model=list[schemas.AlertOut],
    responses=error_responses(401, 403, 422, 503),
)
def list_alerts(
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=alerts.MAX_PAGE)] = 50,
    before: Annotated[
        UUID | None, Query(description="The next page: alerts logged before this alert id.")
    ] = None,
    after_revision: Annotated[
        int | None,
        Query(alias="afterRevision", ge=0, description="Only alerts of later revisions."),
    ] = None,
) -> Response:
    found = alerts.list_alerts(actor, limit=limit, before=before, after_revision=after_revision)
    return ExactJSONResponse([out.alert_body(a) for a in found])
