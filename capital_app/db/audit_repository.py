"""SQL for the security audit log (audit_event: append-only, see migration 0004)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, text

from capital_app.domain.audit import AuditEventRecord


def insert_audit_event(
    conn: Connection,
    *,
    organization_id: UUID | None,
    action: str,
    actor_user_id: UUID | None,
    actor_email: str | None,
    subject_user_id: UUID | None,
    client_address: str | None,
    details: dict[str, Any],
) -> None:
    conn.execute(
        text(
            "INSERT INTO audit_event (organization_id, action, actor_user_id, actor_email,"
            " subject_user_id, client_address, details)"
            " VALUES (:org, :action, :actor, :email, :subject, :client, CAST(:details AS jsonb))"
        ),
        {
            "org": organization_id,
            "action": action,
            "actor": actor_user_id,
            "email": actor_email,
            "subject": subject_user_id,
            "client": client_address,
            "details": json.dumps(details, sort_keys=True, default=str),
        },
    )


def _event(row: RowMapping) -> AuditEventRecord:
    return AuditEventRecord(
        id=row["id"],
        organization_id=row["organization_id"],
        occurred_at=row["occurred_at"].astimezone(UTC),
        action=row["action"],
        actor_user_id=row["actor_user_id"],
        actor_email=row["actor_email"],
        subject_user_id=row["subject_user_id"],
        client_address=row["client_address"],
        details=dict(row["details"] or {}),
    )


def list_audit_events(
    conn: Connection,
    org: UUID,
    *,
    actions: list[str] | None,
    since: datetime | None,
    until: datetime | None,
    before_id: int | None,
    limit: int,
) -> list[AuditEventRecord]:
    """Newest first; `before_id` pages on (ids grow with time within one organization)."""
    rows = (
        conn.execute(
            text(
                "SELECT id, organization_id, occurred_at, action, actor_user_id, actor_email,"
                " subject_user_id, client_address, details FROM audit_event"
                " WHERE organization_id = :org"
                " AND (CAST(:actions AS text[]) IS NULL OR action = ANY(CAST(:actions AS text[])))"
                " AND (CAST(:since AS timestamptz) IS NULL OR occurred_at >= :since)"
                " AND (CAST(:until AS timestamptz) IS NULL OR occurred_at < :until)"
                " AND (CAST(:before AS bigint) IS NULL OR id < :before)"
                " ORDER BY id DESC LIMIT :limit"
            ),
            {
                "org": org,
                "actions": actions,
                "since": since,
                "until": until,
                "before": before_id,
                "limit": limit,
            },
        )
        .mappings()
        .all()
    )
    return [_event(row) for row in rows]
