"""The security audit log: one call records an action, one call reads them (ADMINs).

What an auditor asks for beside the capital history: who signed in (or failed,
or was throttled), who signed out, who created, promoted, demoted, deactivated or
reactivated whom, who imported which file (its hash and counts), who exported.
Call `record_audit` inside the transaction of the change it describes, so the
event and the change commit together or not at all. `details` carries the values
(old and new); never a password, token or secret.

New actions (API keys: "integration.api_key_created", ...) are a new AuditAction
member; the table accepts any dotted lower-case name, so no migration is needed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import Connection

from capital_app.db import audit_repository as repo
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.audit import AuditEventRecord
from capital_app.service.actor import Actor, Permission, authorize
from capital_app.service.errors import InvalidInput

MAX_PAGE = 500


class AuditAction(StrEnum):
    SIGN_IN_SUCCEEDED = "auth.sign_in_succeeded"
    SIGN_IN_FAILED = "auth.sign_in_failed"
    SIGN_IN_THROTTLED = "auth.sign_in_throttled"
    SIGNED_OUT = "auth.signed_out"
    USER_CREATED = "user.created"
    USER_ROLE_CHANGED = "user.role_changed"
    USER_RENAMED = "user.renamed"
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    HISTORY_IMPORTED = "history.imported"
    HISTORY_EXPORTED = "history.exported"
    ORGANIZATION_RENAMED = "organization.renamed"
    ORGANIZATION_CURRENCY_CHANGED = "organization.currency_changed"
    # 0004's check admits no underscore in the first part of the name.
    API_KEY_CREATED = "integration.api_key_created"
    API_KEY_REVOKED = "integration.api_key_revoked"
    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_DELETED = "webhook.deleted"
    ALERT_RULE_CREATED = "alert.rule_created"
    ALERT_RULE_DEACTIVATED = "alert.rule_deactivated"
    FX_RATE_ADDED = "rates.fx_rate_added"
    FX_RATES_UPLOADED = "rates.fx_rates_uploaded"
    TAX_RATE_ADDED = "rates.tax_rate_added"


def record_audit(
    conn: Connection,
    action: AuditAction,
    *,
    organization_id: UUID | None,
    actor_user_id: UUID | None,
    actor_email: str | None = None,
    subject_user_id: UUID | None = None,
    client_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one event in the caller's transaction (tenant or login transaction)."""
    repo.insert_audit_event(
        conn,
        organization_id=organization_id,
        action=action.value,
        actor_user_id=actor_user_id,
        actor_email=actor_email,
        subject_user_id=subject_user_id,
        client_address=(client_address or None) and client_address[:100],
        details=details or {},
    )


def parse_actions(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    known = {action.value for action in AuditAction}
    unknown = [value for value in values if value not in known]
    if unknown:
        raise InvalidInput.one(
            "action", f"Unknown action {unknown[0]!r}; one of: {', '.join(sorted(known))}."
        )
    return values


def list_audit_events(
    actor: Actor,
    *,
    actions: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEventRecord]:
    """The organization's audit events, newest first (ADMIN only)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput.one("limit", f"Limit must be between 1 and {MAX_PAGE}.")
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.READ_AUDIT)
        return repo.list_audit_events(
            conn,
            actor.organization_id,
            actions=parse_actions(actions),
            since=since,
            until=until,
            before_id=before_id,
            limit=limit,
        )
