"""SQL for bringing history in (import) and taking it out (export), in bulk.

Entries go in as multi-row statements in bulk mode (migration 0002): every
row is still checked by the database, and each source's projection row is
folded once per statement instead of once per row. The NOTIFY trigger fires
once per statement, so an import of thousands of entries wakes listeners a
handful of times. The export reads keyset pages (service/history_stream.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Connection, text

from capital_app.db.history_repository import (
    ENTRY_COLUMNS,
    SOURCE_COLUMNS,
    entry_from_row,
    state_from_row,
)
from capital_app.domain.events import HistoryEntry, SourceState


def entries_with_ids(conn: Connection, org: UUID, ids: Sequence[str]) -> dict[str, HistoryEntry]:
    """The stored entries among `ids` (an import's entries that are already here)."""
    if not ids:
        return {}
    # A join on the primary key, not `h.id = ANY(:ids)`: right after a large import,
    # before autovacuum has analyzed the table, the planner took the organization's
    # few rows by its statistics and filtered each one against all 5,000 ids in
    # turn; re-importing 100,000 entries then took minutes instead of seconds.
    rows = conn.execute(
        text(
            f"SELECT {ENTRY_COLUMNS} FROM unnest(CAST(:ids AS text[])) AS wanted(id)"
            " JOIN capital_history h ON h.organization_id = :org AND h.id = wanted.id"
        ),
        {"org": org, "ids": list(ids)},
    ).mappings()
    return {row["id"]: entry_from_row(row) for row in rows}


def sources_with_ids(
    conn: Connection, org: UUID, source_ids: Sequence[str]
) -> dict[str, SourceState]:
    if not source_ids:
        return {}
    rows = conn.execute(
        text(
            f"SELECT {SOURCE_COLUMNS} FROM capital_source s"
            " WHERE s.organization_id = :org AND s.source_id = ANY(CAST(:ids AS text[]))"
        ),
        {"org": org, "ids": list(source_ids)},
    ).mappings()
    return {row["source_id"]: state_from_row(row) for row in rows}


def insert_import_log(
    conn: Connection,
    org: UUID,
    import_id: UUID,
    *,
    imported_by: UUID,
    file_name: str | None,
    content_sha256: str,
    entries_in_file: int,
    imported_count: int,
    skipped_count: int,
    revision: int,
) -> None:
    conn.execute(
        text(
            """
            INSERT INTO import_log (organization_id, id, imported_by, file_name, content_sha256,
                entries_in_file, imported_count, skipped_count, revision)
            VALUES (:org, :id, :imported_by, :file_name, :sha, :in_file, :imported, :skipped,
                :revision)
            """
        ),
        {
            "org": org,
            "id": import_id,
            "imported_by": imported_by,
            "file_name": file_name,
            "sha": content_sha256,
            "in_file": entries_in_file,
            "imported": imported_count,
            "skipped": skipped_count,
            "revision": revision,
        },
    )


def enable_bulk_insert(conn: Connection) -> None:
    """Until the transaction ends, fold entries into the projection once per statement."""
    conn.execute(text("SELECT set_config('capital.bulk_insert', 'on', true)"))


# One statement per batch; rows keep the order given (WITH ORDINALITY … ORDER BY),
# because the trigger folds each source's rows in sequence order.
_INSERT_BATCH = text(
    """
    INSERT INTO capital_history (
        organization_id, id, source_id, sequence, action, effective_date, name, annual_rate,
        available_cents, previous_rate, previous_amount, notes, original_created_at,
        original_created_by, recorded_by, import_id, revision)
    SELECT :org, r.id, r.source_id, r.sequence, r.action, r.effective_date, r.name, r.annual_rate,
           r.available_cents, r.previous_rate, r.previous_amount, r.notes, r.created_at,
           r.created_by, :recorded_by, :import_id, 0
      FROM unnest(CAST(:ids AS text[]), CAST(:source_ids AS text[]), CAST(:sequences AS int[]),
                  CAST(:actions AS text[]), CAST(:effective_dates AS timestamptz[]),
                  CAST(:names AS text[]), CAST(:rates AS numeric[]), CAST(:cents AS bigint[]),
                  CAST(:previous_rates AS numeric[]), CAST(:previous_amounts AS bigint[]),
                  CAST(:notes AS text[]), CAST(:created_at AS timestamptz[]),
                  CAST(:created_by AS text[]))
           WITH ORDINALITY AS r(id, source_id, sequence, action, effective_date, name,
                annual_rate, available_cents, previous_rate, previous_amount, notes,
                created_at, created_by, position)
     ORDER BY r.position
    """
)


def insert_entries(
    conn: Connection,
    org: UUID,
    entries: Sequence[HistoryEntry],
    *,
    recorded_by: UUID | None,
    import_id: UUID | None,
) -> None:
    """Append entries with their own ids and sequences, in one statement.

    The file's recording dates and authors go into the `original_*` columns; the
    database stamps `created_at` (the transaction time) and `created_by` itself.

    Each column goes as one array literal built here: psycopg's list adapter formats
    arrays element by element in Python, which took longer than the database's own
    work for a large import; the literal is parsed by PostgreSQL's array input (the
    CASTs above), so values arrive exactly as typed.
    """
    conn.execute(
        _INSERT_BATCH,
        {
            "org": org,
            "recorded_by": recorded_by,
            "import_id": import_id,
            "ids": array_literal(e.id for e in entries),
            "source_ids": array_literal(e.source_id for e in entries),
            "sequences": array_literal(e.sequence for e in entries),
            "actions": array_literal(e.action.value for e in entries),
            "effective_dates": array_literal(e.effective_date for e in entries),
            "names": array_literal(e.name for e in entries),
            "rates": array_literal(e.annual_rate for e in entries),
            "cents": array_literal(e.available_cents for e in entries),
            "previous_rates": array_literal(e.previous_rate for e in entries),
            "previous_amounts": array_literal(e.previous_amount for e in entries),
            "notes": array_literal(e.notes for e in entries),
            "created_at": array_literal(e.original_created_at for e in entries),
            "created_by": array_literal(e.original_created_by for e in entries),
        },
    )


def array_literal(values: Iterable[str | int | Decimal | datetime | None]) -> str:
    """A PostgreSQL array literal: every element double-quoted (backslash and quote
    escaped), so commas, braces, spaces and the word NULL stay text; None is NULL.
    Decimals and datetimes go in their exact text forms (str, ISO 8601 with offset)."""
    return "{" + ",".join(_array_element(v) for v in values) + "}"


def _array_element(value: str | int | Decimal | datetime | None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("Naive datetimes are never stored.")
        text_value = value.isoformat()
    else:
        text_value = str(value)
    return '"' + text_value.replace("\\", "\\\\").replace('"', '\\"') + '"'
