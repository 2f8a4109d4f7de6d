"""The derived data against history (history is the truth): the capital_source
projection and the WACC snapshot (0010). Rebuild them, or verify them without writing
anything. Both use one comparison, `_compare`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from sqlalchemy import Connection

from capital_app.db import history_repository as history
from capital_app.db import projection_repository as projection
from capital_app.db import snapshot_repository as snapshot
from capital_app.db.unit_of_work import owner_tenant_transaction
from capital_app.domain.currencies import Kind
from capital_app.domain.events import SourceState
from capital_app.domain.fold import fold
from capital_app.domain.wacc_snapshot import day_deltas


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
    # Days whose stored WACC snapshot delta is not what the history gives.
    snapshot_days: tuple[date, ...] = ()

    @property
    def clean(self) -> bool:
        return not self.differences and not self.snapshot_days


@dataclass(frozen=True, slots=True)
class _Comparison:
    folded: dict[str, SourceState]
    terms: dict[str, tuple[str, Kind]]  # (currency, kind) of each source's ADDED entry
    latest_revision: dict[str, int]
    differences: list[SourceDifference]
    snapshot_days: list[date]


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
    # The terms are not folded: the ADDED entry fixes them (migration 0014 copies them).
    terms = history.added_terms(conn, organization_id)
    stored_terms = history.source_terms(conn, organization_id)
    differences: list[SourceDifference] = []
    for source_id in sorted(folded.keys() | stored.keys()):
        want, have = folded.get(source_id), stored.get(source_id)
        if have is None:
            differences.append(SourceDifference(source_id, "missing"))
        elif want is None:
            differences.append(SourceDifference(source_id, "extra"))
        else:
            fields = tuple(
                f.name
                for f in dataclasses.fields(SourceState)
                if getattr(want, f.name) != getattr(have, f.name)
            ) + _term_differences(terms.get(source_id), stored_terms.get(source_id))
            if fields:
                differences.append(SourceDifference(source_id, "differs", fields))
    want_days = day_deltas(entries)
    have_days = snapshot.stored_deltas(conn, organization_id)
    snapshot_days = sorted(
        day
        for day in want_days.keys() | have_days.keys()
        if want_days.get(day) != have_days.get(day)
    )
    return _Comparison(folded, terms, latest_revision, differences, snapshot_days)


def _term_differences(
    want: tuple[str, Kind] | None, have: tuple[str, Kind] | None
) -> tuple[str, ...]:
    if want is None or have is None:
        return () if want == have else ("currency", "kind")
    return tuple(
        name for name, w, h in zip(("currency", "kind"), want, have, strict=True) if w != h
    )


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
        projection.hold_off_writers(conn, organization_id)
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
                    conn,
                    organization_id,
                    state,
                    found.latest_revision[state.source_id],
                    found.terms[state.source_id],
                )
        if found.snapshot_days:
            snapshot.rebuild(conn, organization_id)
    return RebuildReport(organization_id, len(found.folded), len(differing) + len(extra))


def verify_projections(organization_id: UUID) -> VerifyReport:
    """The same comparison as the rebuild, in a read-only transaction: nothing is written.

    One REPEATABLE READ snapshot (a read-only transaction sees one moment), so history
    and projection are compared as of the same commit.
    """
    with owner_tenant_transaction(organization_id, read_only=True) as conn:
        found = _compare(conn, organization_id)
    return VerifyReport(
        organization_id,
        len(found.folded),
        tuple(found.differences),
        tuple(found.snapshot_days),
    )
