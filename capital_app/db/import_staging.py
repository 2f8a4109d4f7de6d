"""An import's entries kept in its own transaction, in two temporary tables, not in Python.

A million entries held as Python objects took 550 bytes each even when compact; the
whole file must be read before any source can be checked (entries come in any order),
so they wait here instead:

- `pg_temp.import_candidate`: every entry as read and field-checked (a field with a
  problem is NULL), with its index in the file. Filled by COPY while the file is read.
- `pg_temp.import_entry`: the checked entries, one source at a time (sequence given,
  absent previous values filled in), keyed by (source, sequence). Filled by COPY.

From there they are compared with what is stored in SQL, and inserted into
capital_history with INSERT … SELECT, through its triggers, as any other import.

Both tables are `ON COMMIT DROP`: they exist only inside the import's tenant
transaction (a temporary table is visible to its own session alone), vanish with it
when it commits, fails or its process is killed, and never reach the pool's next user.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from sqlalchemy import Connection, text

from capital_app.domain.events import HistoryEntry
from capital_app.domain.prototype_format import NOT_KEPT, READ_WITH_PROBLEMS, Candidate
from capital_app.domain.values import Action

FETCH_ROWS = 5000  # candidates per round trip when reading them back

_CANDIDATE_COLUMNS = (
    "position, id, source_id, sequence, action, effective_date, created_at, name,"
    " annual_rate, available_cents, previous_rate, previous_amount, notes, created_by,"
    " clean, values_ok, sequence_ok"
)
_ENTRY_COLUMNS = (
    "source_id, sequence, position, id, action, effective_date, name, annual_rate,"
    " available_cents, previous_rate, previous_amount, notes, created_at, created_by"
)
_ACTIONS = {action.value: action for action in Action}


def _raw(conn: Connection) -> psycopg.Connection[Any]:
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    return raw


def create_staging_tables(conn: Connection) -> None:
    """The two tables, empty, until the transaction ends (before any READ ONLY switch:
    creating is refused in a read-only transaction, writing temporary tables is not).

    `sequence` of a candidate is NUMERIC: a file may say 10^30, which is reported, not
    an overflow."""
    conn.exec_driver_sql(
        """
        CREATE TEMP TABLE import_candidate (
            position bigint NOT NULL, id text, source_id text, sequence numeric, action text,
            effective_date timestamptz, created_at timestamptz, name text,
            annual_rate numeric, available_cents bigint, previous_rate numeric,
            previous_amount bigint, notes text, created_by text,
            clean boolean NOT NULL, values_ok boolean NOT NULL, sequence_ok boolean NOT NULL
        ) ON COMMIT DROP;
        CREATE TEMP TABLE import_entry (
            source_id text NOT NULL, sequence integer NOT NULL, position bigint NOT NULL,
            id text NOT NULL, action text NOT NULL, effective_date timestamptz NOT NULL,
            name text NOT NULL, annual_rate numeric NOT NULL, available_cents bigint NOT NULL,
            previous_rate numeric, previous_amount bigint, notes text,
            created_at timestamptz, created_by text,
            PRIMARY KEY (source_id, sequence)
        ) ON COMMIT DROP
        """
    )


def read_only_from_here(conn: Connection) -> None:
    """A dry run: from now on the transaction can write nothing but its temporary tables."""
    conn.exec_driver_sql("SET TRANSACTION READ ONLY")


# --- candidates ----------------------------------------------------------------------


@contextmanager
def candidate_writer(conn: Connection) -> Iterator[Callable[[Candidate], None]]:
    """A function that stages one candidate; all of them go in one COPY."""
    with (
        _raw(conn).cursor() as cursor,
        cursor.copy(f"COPY pg_temp.import_candidate ({_CANDIDATE_COLUMNS}) FROM STDIN") as copy,
    ):
        write = copy.write_row

        def stage(c: Candidate) -> None:
            write(
                (
                    c.index,
                    c.id,
                    c.source_id,
                    c.sequence,
                    None if c.action is None else c.action.value,
                    c.effective_date,
                    c.created_at,
                    c.name,
                    c.annual_rate,
                    c.available_cents,
                    c.previous_rate,
                    c.previous_amount,
                    c.notes,
                    c.created_by,
                    not c.problems,
                    c.values_ok,
                    c.sequence_ok,
                )
            )

        yield stage


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def _candidate(row: tuple[Any, ...], raws: dict[int, Any]) -> Candidate:
    (position, c_id, source_id, sequence, action, effective, created, name, rate, cents,
     previous_rate, previous_amount, notes, created_by, clean, values_ok, sequence_ok) = row  # fmt: skip
    return Candidate(
        position,
        raws.get(position, NOT_KEPT),
        id=c_id,
        source_id=source_id,
        sequence=None if sequence is None else int(sequence),
        action=None if action is None else _ACTIONS[action],
        effective_date=_utc(effective),
        created_at=_utc(created),
        name=name,
        annual_rate=rate,
        available_cents=cents,
        previous_rate=previous_rate,
        previous_amount=previous_amount,
        notes=notes,
        created_by=created_by,
        problems=() if clean else READ_WITH_PROBLEMS,
        values_ok=values_ok,
        sequence_ok=sequence_ok,
    )


def repeated_ids(conn: Connection, raws: dict[int, Any]) -> Iterator[list[Candidate]]:
    """The candidates of every id the file has more than once, in file order, per id."""
    rows = conn.exec_driver_sql(
        f"""
        SELECT {_CANDIDATE_COLUMNS} FROM pg_temp.import_candidate
         WHERE id IN (SELECT id FROM pg_temp.import_candidate WHERE id IS NOT NULL
                       GROUP BY id HAVING count(*) > 1)
         ORDER BY id, position
        """
    )
    group: list[Candidate] = []
    for row in rows:
        candidate = _candidate(tuple(row), raws)
        if group and group[0].id != candidate.id:
            yield group
            group = []
        group.append(candidate)
    if group:
        yield group


def forget_candidates(conn: Connection, positions: Sequence[int]) -> None:
    """Later copies of a repeated id take no further part (as the file's first copy does)."""
    if positions:
        conn.execute(
            text("DELETE FROM pg_temp.import_candidate WHERE position = ANY(:positions)"),
            {"positions": list(positions)},
        )


def source_span(conn: Connection) -> tuple[int, datetime | None, datetime | None]:
    """Distinct source ids, and the earliest and latest effective date, of the candidates."""
    sources, first, last = conn.exec_driver_sql(
        "SELECT count(DISTINCT source_id), min(effective_date), max(effective_date)"
        " FROM pg_temp.import_candidate WHERE source_id IS NOT NULL"
    ).one()
    return int(sources), _utc(first), _utc(last)


def candidates_by_source(
    conn: Connection, raws: dict[int, Any]
) -> Iterator[tuple[str, list[Candidate]]]:
    """Each source's candidates, sources in file order (of their first candidate).

    Read through a server-side cursor, a batch at a time; other statements (the COPY of
    checked entries) may run between two sources."""
    with _raw(conn).cursor(name="import_candidates") as cursor:
        cursor.execute(
            f"""
            SELECT {", ".join("c." + c.strip() for c in _CANDIDATE_COLUMNS.split(","))}
              FROM pg_temp.import_candidate c
              JOIN (SELECT source_id, min(position) AS first FROM pg_temp.import_candidate
                     WHERE source_id IS NOT NULL GROUP BY source_id) f USING (source_id)
             ORDER BY f.first, c.position
            """
        )
        source_id: str | None = None
        group: list[Candidate] = []
        while rows := cursor.fetchmany(FETCH_ROWS):
            for row in rows:
                candidate = _candidate(row, raws)
                if candidate.source_id != source_id:
                    if group:
                        assert source_id is not None
                        yield source_id, group
                    source_id, group = candidate.source_id, []
                group.append(candidate)
        if group:
            assert source_id is not None
            yield source_id, group


def drop_candidates(conn: Connection) -> None:
    """Every source is checked: the candidates are no longer needed."""
    conn.exec_driver_sql("DELETE FROM pg_temp.import_candidate")  # TRUNCATE: refused in READ ONLY


# --- checked entries -----------------------------------------------------------------


def copy_entries(conn: Connection, rows: Sequence[tuple[int, HistoryEntry]]) -> None:
    """Stage checked entries, each with its index in the file."""
    if not rows:
        return
    with (
        _raw(conn).cursor() as cursor,
        cursor.copy(f"COPY pg_temp.import_entry ({_ENTRY_COLUMNS}) FROM STDIN") as copy,
    ):
        for position, e in rows:
            copy.write_row(
                (
                    e.source_id,
                    e.sequence,
                    position,
                    e.id,
                    e.action.value,
                    e.effective_date,
                    e.name,
                    e.annual_rate,
                    e.available_cents,
                    e.previous_rate,
                    e.previous_amount,
                    e.notes,
                    e.original_created_at,
                    e.original_created_by,
                )
            )


# The first field (file spelling, in the order the import has always compared them)
# where a stored entry differs from the staged one with its id; NULL when identical.
_DIFFERS = """
    CASE
      WHEN h.source_id <> c.source_id THEN 'sourceId'
      WHEN h.sequence <> c.sequence THEN 'sequence'
      WHEN h.action <> c.action THEN 'action'
      WHEN h.effective_date <> c.effective_date THEN 'effectiveDate'
      WHEN h.name <> c.name THEN 'name'
      WHEN h.annual_rate <> c.annual_rate THEN 'annualRate'
      WHEN h.available_cents <> c.available_cents THEN 'availableCents'
      WHEN h.previous_rate IS DISTINCT FROM c.previous_rate THEN 'previousRate'
      WHEN h.previous_amount IS DISTINCT FROM c.previous_amount THEN 'previousAmount'
      WHEN h.notes IS DISTINCT FROM c.notes THEN 'notes'
      WHEN COALESCE(h.original_created_at, h.created_at) IS DISTINCT FROM c.created_at
        THEN 'createdAt'
      WHEN CASE WHEN h.original_created_at IS NOT NULL THEN h.original_created_by
                ELSE h.created_by END
           IS DISTINCT FROM CASE WHEN c.created_at IS NOT NULL THEN c.created_by END
        THEN 'createdBy'
    END"""


def stored_differences(conn: Connection, org: UUID) -> Iterator[tuple[int, str, int, int, str]]:
    """Staged entries whose id is stored here with other content:
    (position, id, staged sequence, stored sequence, first differing field)."""
    rows = conn.execute(
        text(
            f"""
            SELECT * FROM (
                SELECT c.position, c.id, c.sequence, h.sequence AS stored_sequence,
                       {_DIFFERS} AS differs
                  FROM pg_temp.import_entry c
                  JOIN capital_history h ON h.organization_id = :org AND h.id = c.id
            ) compared WHERE differs IS NOT NULL
            """
        ),
        {"org": org},
    )
    for position, entry_id, sequence, stored_sequence, differs in rows:
        yield int(position), entry_id, sequence, stored_sequence, differs


def new_by_source(
    conn: Connection, org: UUID
) -> dict[str, tuple[int, int, int | None, int | None, str | None, dict[Action, int]]]:
    """Per staged source: (identical stored entries, new entries, the first new one's
    sequence, its position and id, new entries by action). "New" is not stored here."""
    rows = conn.execute(
        text(
            f"""
            WITH compared AS (
                SELECT c.source_id, c.sequence, c.action, h.id IS NOT NULL AS stored,
                       {_DIFFERS} AS differs
                  FROM pg_temp.import_entry c
                  LEFT JOIN capital_history h ON h.organization_id = :org AND h.id = c.id
            ), per_source AS (
                SELECT source_id,
                       count(*) FILTER (WHERE stored AND differs IS NULL) AS identical,
                       count(*) FILTER (WHERE NOT stored) AS new,
                       min(sequence) FILTER (WHERE NOT stored) AS first_new,
                       count(*) FILTER (WHERE NOT stored AND action = 'ADDED') AS added,
                       count(*) FILTER (WHERE NOT stored AND action = 'AMOUNT_CHANGED')
                           AS amount_changed,
                       count(*) FILTER (WHERE NOT stored AND action = 'RATE_CHANGED')
                           AS rate_changed,
                       count(*) FILTER (WHERE NOT stored AND action = 'REMOVED') AS removed
                  FROM compared GROUP BY source_id
            )
            SELECT p.source_id, p.identical, p.new, p.first_new, f.position, f.id,
                   p.added, p.amount_changed, p.rate_changed, p.removed
              FROM per_source p
              LEFT JOIN pg_temp.import_entry f
                ON f.source_id = p.source_id AND f.sequence = p.first_new
            """
        ),
        {"org": org},
    )
    found = {}
    for source_id, identical, new, first_new, position, entry_id, *by_action in rows:
        counts = {
            action: int(n)
            for action, n in zip(
                (Action.ADDED, Action.AMOUNT_CHANGED, Action.RATE_CHANGED, Action.REMOVED),
                by_action,
                strict=True,
            )
        }
        found[source_id] = (
            int(identical),
            int(new),
            first_new,
            None if position is None else int(position),
            entry_id,
            counts,
        )
    return found


# --- writing ---------------------------------------------------------------------------

# One statement per batch: each range is one source's staged rows from `low` to `high`
# (sequences), ranges in the order given and each in sequence order, because the
# trigger folds each source's rows in sequence order.
_INSERT_STAGED = text(
    """
    INSERT INTO capital_history (
        organization_id, id, source_id, sequence, action, effective_date, name, annual_rate,
        available_cents, previous_rate, previous_amount, notes, original_created_at,
        original_created_by, recorded_by, import_id, revision)
    SELECT :org, c.id, c.source_id, c.sequence, c.action, c.effective_date, c.name,
           c.annual_rate, c.available_cents, c.previous_rate, c.previous_amount, c.notes,
           c.created_at, c.created_by, :recorded_by, :import_id, 0
      FROM unnest(CAST(:source_ids AS text[]), CAST(:lows AS int[]), CAST(:highs AS int[]))
           WITH ORDINALITY AS r(source_id, low, high, position)
      JOIN pg_temp.import_entry c
        ON c.source_id = r.source_id AND c.sequence BETWEEN r.low AND r.high
     ORDER BY r.position, c.sequence
    """
)


def insert_staged(
    conn: Connection,
    org: UUID,
    ranges: Sequence[tuple[str, int, int]],
    *,
    recorded_by: UUID,
    import_id: UUID,
) -> int:
    """Insert the staged rows of `ranges` ((source, first sequence, last sequence)) in
    one statement; returns how many rows went in.

    The file's recording dates and authors go into the `original_*` columns; the
    database stamps `created_at` (the transaction time) and `created_by` itself."""
    result = conn.execute(
        _INSERT_STAGED,
        {
            "org": org,
            "recorded_by": recorded_by,
            "import_id": import_id,
            "source_ids": [r[0] for r in ranges],
            "lows": [r[1] for r in ranges],
            "highs": [r[2] for r in ranges],
        },
    )
    return int(result.rowcount)
