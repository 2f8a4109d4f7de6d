"""Entries recorded at a chosen past moment, for tests of "as known at".

The database stamps every entry the app's role writes with the transaction time;
only the table owner may name another recording time (restores, and these
fixtures). So this writes as the owner, inside the organization.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import text

from capital_app.db.engine import owner_engine
from capital_app.db.history_repository import planned_parameters
from capital_app.domain.rules import PlannedEntry

_INSERT = text(
    """
    INSERT INTO capital_history (organization_id, source_id, sequence, action, effective_date,
        name, annual_rate, available_cents, previous_rate, previous_amount, notes, created_at,
        recorded_by, revision)
    VALUES (:org, :source_id, :sequence, :action, :effective_date, :name, :annual_rate,
        :available_cents, :previous_rate, :previous_amount, :notes, :recorded_at,
        :recorded_by, 0)
    """
)


def insert_recorded_at(
    org: UUID, entries: list[tuple[PlannedEntry, datetime]], recorded_by: UUID
) -> None:
    """Append each planned entry as recorded at its moment, in one transaction."""
    engine = owner_engine()
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('app.org_id', :org, true)"), {"org": str(org)})
            for planned, recorded_at in entries:
                conn.execute(
                    _INSERT,
                    {
                        **planned_parameters(planned),
                        "org": org,
                        "recorded_at": recorded_at,
                        "recorded_by": recorded_by,
                    },
                )
    finally:
        engine.dispose()
