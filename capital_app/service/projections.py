"""Rebuild the capital_source projection from history (history is the truth)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import text

from capital_app.db import history_repository as history
from capital_app.db.unit_of_work import owner_tenant_transaction
from capital_app.domain.fold import fold


@dataclass(frozen=True, slots=True)
class RebuildReport:
    organization_id: UUID
    sources: int
    corrected: int


def rebuild_projections(organization_id: UUID) -> RebuildReport:
    """Recompute every source's row with the domain fold; report how many differed.

    Writers are held off for the duration (the revision counter row is locked),
    so no entry can land between reading history and writing the projection. Runs
    as the owner: the runtime role may not write the projection (migration 0003).
    """
    with owner_tenant_transaction(organization_id) as conn:
        conn.execute(
            text("SELECT 1 FROM organization_revision WHERE organization_id = :org FOR UPDATE"),
            {"org": organization_id},
        )
        entries = history.all_entries(conn, organization_id)
        folded = fold(entries)
        latest_revision: dict[str, int] = {}
        for entry in entries:
            latest_revision[entry.source_id] = max(
                latest_revision.get(entry.source_id, 0), entry.revision or 0
            )
        stored = {s.source_id: s for s in history.all_sources(conn, organization_id)}
        corrected = 0
        # Removed sources first: freeing a name before another source takes it keeps
        # the unique active-name index satisfied at every step.
        for state in sorted(folded.values(), key=lambda s: (s.active, s.source_id)):
            if stored.get(state.source_id) != state:
                corrected += 1
                history.upsert_projection(
                    conn, organization_id, state, latest_revision[state.source_id]
                )
    return RebuildReport(organization_id, len(folded), corrected)
