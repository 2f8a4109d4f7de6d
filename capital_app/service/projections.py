"""The capital_source projection against history (history is the truth): rebuild it,
or verify it without writing anything. Both use one comparison, `_compare`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import Connection, text

from capital_app.db import history_repository as history
from capital_app.db.unit_of_work import owner_tenant_transaction
from capital_app.domain.events import SourceState
from capital_app.domain.fold import fold


@dataclass(frozen=True, slots=True)
class RebuildReport:
    organization_id: UUID
    sources: int
    corrected: int


@dataclass(frozen=True, slots=True)
class SourceDifference:
    """One source whose projection row is not what folding its history gives."""

    source_id: str
    problem: str  # "missing" (no row), "extra" (a row without history), "differs"
    fields: tuple[str, ...] = ()  # for "differs": the fields that disagree


@dataclass(frozen=True, slots=True)
class VerifyReport:
    organization_id: UUID
    sources: int
    differences: tuple[SourceDifference, ...]

    @property
    def clean(self) -> bool:
        return not self.differences


@dataclass(frozen=True, slots=True)
class _Comparison:
    folded: dict[str, SourceState]
    latest_revision: dict[str, int]
    differences: list[SourceDifference]


def _compare(conn: Connection, organization_id: UUID) -> _Comparison:
    """Fold the organization's whole history and compare it with the stored rows."""
    entries = history.all_entries(conn, organization_id)
    folded = fold(entries)
    latest_revision: dict[str, int] = {}
    for entry in entries:
        latest_revision[entry.source_id] = max(
            latest_revision.get(entry.source_id, 0), entry.revision or 0
        )
    stored = {s.source_id: s for s in history.all_sources(conn, organization_id)}
    differences: list[SourceDifference] = []
    for source_id in sorted(folded.keys() | stored.keys()):
        want, have = folded.get(source_id), stored.get(source_id)
        if have is None:
            differences.append(SourceDifference(source_id, "missing"))
        elif want is None:
            differences.append(SourceDifference(source_id, "extra"))
        elif want != have:
            fields = tuple(
                f.name
                for f in dataclasses.fields(SourceState)
                if getattr(want, f.name) != getattr(have, f.name)
            )
            differences.append(SourceDifference(source_id, "differs", fields))
    return _Comparison(folded, latest_revision, differences)


def projection_differences(conn: Connection, organization_id: UUID) -> list[SourceDifference]:
    """The comparison alone, in the caller's transaction (a restore checks before commit)."""
    return _compare(conn, organization_id).differences


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
        found = _compare(conn, organization_id)
        differing = {d.source_id for d in found.differences if d.problem != "extra"}
        # A row no history stands behind is not the truth's: it goes first (it may hold
        # an active name a folded source needs).
        extra = [d.source_id for d in found.differences if d.problem == "extra"]
        for source_id in extra:
            history.delete_projection(conn, organization_id, source_id)
        # Removed sources first: freeing a name before another source takes it keeps
        # the unique active-name index satisfied at every step.
        for state in sorted(found.folded.values(), key=lambda s: (s.active, s.source_id)):
            if state.source_id in differing:
                history.upsert_projection(
                    conn, organization_id, state, found.latest_revision[state.source_id]
                )
    return RebuildReport(organization_id, len(found.folded), len(differing) + len(extra))


def verify_projections(organization_id: UUID) -> VerifyReport:
    """The same comparison as the rebuild, in a read-only transaction: nothing is written.

    One REPEATABLE READ snapshot (a read-only transaction sees one moment), so history
    and projection are compared as of the same commit.
    """
    with owner_tenant_transaction(organization_id, read_only=True) as conn:
        found = _compare(conn, organization_id)
    return VerifyReport(organization_id, len(found.folded), tuple(found.differences))
