"""Statements of the projection's rebuild (service/projections.py)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Connection, text


def hold_off_writers(conn: Connection, org: UUID) -> None:
    """Lock the organization's revision counter row until commit: every writer takes it
    first (0001), so no entry lands while history is read and derived data rewritten."""
    conn.execute(
        text("SELECT 1 FROM organization_revision WHERE organization_id = :org FOR UPDATE"),
        {"org": org},
    )
