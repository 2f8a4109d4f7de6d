"""SQL the people-facing reports need beyond the history repository's own reads."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import Connection, text


def first_effective_date(conn: Connection, org: UUID, known_at: datetime) -> datetime | None:
    """When the organization's history begins (as known at `known_at`): where "All" starts."""
    value = conn.execute(
        text(
            "SELECT min(effective_date) FROM capital_history"
            " WHERE organization_id = :org AND created_at <= :known_at"
        ),
        {"org": org, "known_at": known_at},
    ).scalar()
    return value.astimezone(UTC) if value else None
