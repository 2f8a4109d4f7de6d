"""SQL for capital_history and its capital_source projection.

Every statement names `organization_id` explicitly (RLS would add it anyway):
the indexes lead with it and the queries stay ready for a tenant-sharded database.
As-of answers are one index probe per source and term, never a scan of history.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, text

from capital_app.domain.currencies import BucketSums, Kind
from capital_app.domain.errors import InvalidInput
from capital_app.domain.events import HistoryEntry, SourceState
from capital_app.domain.rules import PlannedEntry
from capital_app.domain.values import Action
from capital_app.domain.views import ActiveSource

ENTRY_COLUMNS = """
    h.organization_id, h.id, h.source_id, h.sequence, h.action, h.effective_date, h.name,
    h.annual_rate, h.available_cents, h.previous_rate, h.previous_amount, h.notes,
    h.created_at, h.created_by, h.recorded_by, h.revision,
    h.original_created_at, h.original_created_by, h.import_id, h.api_key_id, h.api_key_name"""

_ACTIONS = {action.value: action for action in Action}
_KINDS = {kind.value: kind for kind in Kind}

# A source's currency and kind, fixed by its ADDED entry (migration 0013), are on its
# projection row (migration 0014: the insert trigger copies them), so a read of sources
# takes them with the row instead of probing capital_history once per source.
SOURCE_COLUMNS = """
    s.source_id, s.name, s.annual_rate, s.available_cents, s.status, s.added_date,
    s.removed_date, s.rate_effective_date, s.amount_effective_date, s.last_effective_date,
    s.latest_sequence, s.latest_entry_id, s.currency, s.kind"""


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def entry_from_row(row: RowMapping) -> HistoryEntry:
    return HistoryEntry(
        id=row["id"],
        source_id=row["source_id"],
        sequence=row["sequence"],
        action=Action(row["action"]),
        effective_date=_utc(row["effective_date"]),
        name=row["name"],
        annual_rate=row["annual_rate"],
        available_cents=row["available_cents"],
        previous_rate=row["previous_rate"],
        previous_amount=row["previous_amount"],
        notes=row["notes"],
        created_at=_utc(row["created_at"]),
        created_by=row["created_by"],
        organization_id=row["organization_id"],
        revision=row["revision"],
        recorded_by=row["recorded_by"],
        original_created_at=_utc_or_none(row["original_created_at"]),
        original_created_by=row["original_created_by"],
        import_id=row["import_id"],
        api_key_id=row["api_key_id"],
        api_key_name=row["api_key_name"],
    )


def _utc_or_none(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def entries_from_rows(rows: Iterable[Sequence[Any]]) -> list[HistoryEntry]:
    """Entries from rows selected with ENTRY_COLUMNS, by position.

    The same result as `entry_from_row` per row, a quarter cheaper: reading pages of
    hundreds of entries, name lookups on each row were a large part of a request's CPU.
    """
    return [
        HistoryEntry(
            id=entry_id,
            source_id=source_id,
            sequence=sequence,
            action=_ACTIONS[action],
            effective_date=effective_date.astimezone(UTC),
            name=name,
            annual_rate=annual_rate,
            available_cents=available_cents,
            previous_rate=previous_rate,
            previous_amount=previous_amount,
            notes=notes,
            created_at=created_at.astimezone(UTC),
            created_by=created_by,
            organization_id=organization_id,
            revision=revision,
            recorded_by=recorded_by,
            original_created_at=_utc_or_none(original_created_at),
            original_created_by=original_created_by,
            import_id=import_id,
            api_key_id=api_key_id,
            api_key_name=api_key_name,
        )
        for (
            organization_id,
            entry_id,
            source_id,
            sequence,
            action,
            effective_date,
            name,
            annual_rate,
            available_cents,
            previous_rate,
            previous_amount,
            notes,
            created_at,
            created_by,
            recorded_by,
            revision,
            original_created_at,
            original_created_by,
            import_id,
            api_key_id,
            api_key_name,
        ) in rows
    ]


def state_from_row(row: RowMapping) -> SourceState:
    return SourceState(
        source_id=row["source_id"],
        name=row["name"],
        annual_rate=row["annual_rate"],
        available_cents=row["available_cents"],
        active=row["status"] == "ACTIVE",
        added_date=_utc(row["added_date"]),
        removed_date=_utc(row["removed_date"]) if row["removed_date"] else None,
        rate_effective_date=_utc(row["rate_effective_date"]),
        amount_effective_date=_utc(row["amount_effective_date"]),
        last_effective_date=_utc(row["last_effective_date"]),
        sequence=row["latest_sequence"],
        latest_entry_id=row["latest_entry_id"],
    )


# --- writing -----------------------------------------------------------------


def claim_transaction_revision(conn: Connection, org: UUID) -> int:
    """Lock the organization's revision counter first, so writers never deadlock."""
    revision: int = conn.execute(
        text("SELECT capital_transaction_revision(:org)"), {"org": org}
    ).scalar_one()
    return revision


def lock_source(conn: Connection, org: UUID, source_id: str) -> SourceState | None:
    """The source's projection row, locked until commit: writers to one source queue here.

    Through `capital_source_lock` (migration 0003): the runtime role may not write
    the projection, and FOR UPDATE would need that right.
    """
    row = (
        conn.execute(
            text(f"SELECT {SOURCE_COLUMNS} FROM capital_source_lock(:org, :source_id) s"),
            {"org": org, "source_id": source_id},
        )
        .mappings()
        .first()
    )
    return state_from_row(row) if row else None


def active_name_exists(conn: Connection, org: UUID, name: str) -> bool:
    return (
        conn.execute(
            text(
                "SELECT 1 FROM capital_source WHERE organization_id = :org"
                " AND lower(name) = lower(:name) AND status = 'ACTIVE'"
            ),
            {"org": org, "name": name},
        ).first()
        is not None
    )


_INSERT_ENTRY = text(
    f"""
    INSERT INTO capital_history AS h (
        organization_id, id, source_id, sequence, action, effective_date, name, annual_rate,
        available_cents, previous_rate, previous_amount, notes, created_by,
        recorded_by, import_id, api_key_id, api_key_name, revision, currency, kind)
    VALUES (
        :org, coalesce(:id, gen_random_uuid()::text), :source_id, :sequence, :action,
        :effective_date, :name, :annual_rate, :available_cents, :previous_rate,
        :previous_amount, :notes, :created_by, :recorded_by, :import_id, :api_key_id,
        :api_key_name, 0, :currency, :kind)
    RETURNING {ENTRY_COLUMNS}
    """
)


def planned_parameters(planned: PlannedEntry) -> dict[str, Any]:
    """A planned entry's columns as statement parameters (named like the columns)."""
    return {
        "source_id": planned.source_id,
        "sequence": planned.sequence,
        "action": planned.action.value,
        "effective_date": planned.effective_date,
        "name": planned.name,
        "annual_rate": planned.annual_rate,
        "available_cents": planned.available_cents,
        "previous_rate": planned.previous_rate,
        "previous_amount": planned.previous_amount,
        "notes": planned.notes,
        "currency": planned.currency,
        "kind": planned.kind,
    }


def insert_entry(
    conn: Connection,
    org: UUID,
    planned: PlannedEntry,
    *,
    recorded_by: UUID,
    created_by: str | None,
    entry_id: str | None = None,
    import_id: UUID | None = None,
    api_key_id: UUID | None = None,
    api_key_name: str | None = None,
) -> HistoryEntry:
    """Append one entry; the triggers assign the revision and the recording time (the
    transaction's, never the caller's) and fold it into the projection."""
    row = (
        conn.execute(
            _INSERT_ENTRY,
            {
                **planned_parameters(planned),
                "org": org,
                "id": entry_id,
                "created_by": created_by,
                "recorded_by": recorded_by,
                "import_id": import_id,
                "api_key_id": api_key_id,
                "api_key_name": api_key_name,
            },
        )
        .mappings()
        .one()
    )
    return entry_from_row(row)


def delete_projection(conn: Connection, org: UUID, source_id: str) -> None:
    """Drop a projection row that no history entry stands behind (rebuild, as the owner)."""
    conn.execute(
        text("DELETE FROM capital_source WHERE organization_id = :org AND source_id = :id"),
        {"org": org, "id": source_id},
    )


def upsert_projection(
    conn: Connection, org: UUID, state: SourceState, revision: int, terms: tuple[str, Kind]
) -> None:
    """Write one projection row as computed elsewhere (rebuild from history); `terms`
    are the (currency, kind) of the source's ADDED entry."""
    conn.execute(
        text(
            """
            INSERT INTO capital_source (
                organization_id, source_id, name, annual_rate, available_cents, status,
                added_date, removed_date, rate_effective_date, amount_effective_date,
                last_effective_date, latest_sequence, latest_entry_id, revision,
                currency, kind)
            VALUES (:org, :source_id, :name, :annual_rate, :available_cents, :status,
                :added_date, :removed_date, :rate_effective_date, :amount_effective_date,
                :last_effective_date, :latest_sequence, :latest_entry_id, :revision,
                :currency, :kind)
            ON CONFLICT (organization_id, source_id) DO UPDATE SET
                name = EXCLUDED.name, annual_rate = EXCLUDED.annual_rate,
                available_cents = EXCLUDED.available_cents, status = EXCLUDED.status,
                added_date = EXCLUDED.added_date, removed_date = EXCLUDED.removed_date,
                rate_effective_date = EXCLUDED.rate_effective_date,
                amount_effective_date = EXCLUDED.amount_effective_date,
                last_effective_date = EXCLUDED.last_effective_date,
                latest_sequence = EXCLUDED.latest_sequence,
                latest_entry_id = EXCLUDED.latest_entry_id, revision = EXCLUDED.revision,
                currency = EXCLUDED.currency, kind = EXCLUDED.kind
            """
        ),
        {
            "org": org,
            "source_id": state.source_id,
            "name": state.name,
            "annual_rate": state.annual_rate,
            "available_cents": state.available_cents,
            "status": "ACTIVE" if state.active else "REMOVED",
            "added_date": state.added_date,
            "removed_date": state.removed_date,
            "rate_effective_date": state.rate_effective_date,
            "amount_effective_date": state.amount_effective_date,
            "last_effective_date": state.last_effective_date,
            "latest_sequence": state.sequence,
            "latest_entry_id": state.latest_entry_id,
            "revision": revision,
            "currency": terms[0],
            "kind": terms[1].value,
        },
    )


# --- reading: single rows ----------------------------------------------------


GET_SOURCE_SQL = (
    f"SELECT {SOURCE_COLUMNS} FROM capital_source s"
    " WHERE s.organization_id = :org AND s.source_id = :source_id"
)


def get_source(conn: Connection, org: UUID, source_id: str) -> SourceState | None:
    row = (
        conn.execute(
            text(GET_SOURCE_SQL),
            {"org": org, "source_id": source_id},
        )
        .mappings()
        .first()
    )
    return state_from_row(row) if row else None


def all_sources(conn: Connection, org: UUID) -> list[SourceState]:
    rows = conn.execute(
        text(
            f"SELECT {SOURCE_COLUMNS} FROM capital_source s WHERE s.organization_id = :org"
            " ORDER BY s.source_id"
        ),
        {"org": org},
    ).mappings()
    return [state_from_row(r) for r in rows]


def source_terms(
    conn: Connection, org: UUID, source_ids: Iterable[str] | None = None
) -> dict[str, tuple[str, Kind]]:
    """(currency, kind) of every source, or of `source_ids` only, from the projection.

    A page that shows some sources asks for those only (a history page: the sources of
    its entries), not for every source of the organization."""
    if source_ids is None:
        rows = conn.execute(
            text(
                "SELECT source_id, currency, kind FROM capital_source WHERE organization_id = :org"
            ),
            {"org": org},
        ).all()
    else:
        wanted = sorted(set(source_ids))
        if not wanted:
            return {}
        rows = conn.execute(
            text(
                "SELECT source_id, currency, kind FROM capital_source"
                " WHERE organization_id = :org AND source_id = ANY(CAST(:ids AS text[]))"
            ),
            {"org": org, "ids": wanted},
        ).all()
    return {source_id: (currency, Kind(kind)) for source_id, currency, kind in rows}


def added_terms(conn: Connection, org: UUID) -> dict[str, tuple[str, Kind]]:
    """Every source's (currency, kind) as its ADDED entry has them: the truth the
    projection's copies are checked against (verify, rebuild, restore)."""
    rows = conn.execute(
        text(
            "SELECT source_id, currency, kind FROM capital_history"
            " WHERE organization_id = :org AND action = 'ADDED'"
        ),
        {"org": org},
    ).all()
    return {source_id: (currency, Kind(kind)) for source_id, currency, kind in rows}


def get_entry(conn: Connection, org: UUID, entry_id: str) -> HistoryEntry | None:
    row = (
        conn.execute(
            text(
                f"SELECT {ENTRY_COLUMNS} FROM capital_history h"
                " WHERE h.organization_id = :org AND h.id = :id"
            ),
            {"org": org, "id": entry_id},
        )
        .mappings()
        .first()
    )
    return entry_from_row(row) if row else None


def current_revision(conn: Connection, org: UUID) -> int:
    value = conn.execute(
        text("SELECT revision FROM organization_revision WHERE organization_id = :org"),
        {"org": org},
    ).scalar()
    return int(value or 0)


# --- reading: as-of probes ---------------------------------------------------


def _probe(columns: str, actions: str, at: str) -> str:
    """The latest event of source `s` of the given actions in effect at `at`, as known."""
    return f"""
        SELECT {columns} FROM capital_history h
         WHERE h.organization_id = s.organization_id AND h.source_id = s.source_id
           AND h.action IN ({actions}) AND h.effective_date <= {at}
           AND h.created_at <= :known_at
         ORDER BY h.effective_date DESC, h.sequence DESC LIMIT 1"""


def _amount_probe(at: str) -> str:
    return _probe(
        "h.available_cents, h.effective_date AS amount_date", "'ADDED', 'AMOUNT_CHANGED'", at
    )


def _rate_probe(at: str) -> str:
    return _probe("h.annual_rate, h.effective_date AS rate_date", "'ADDED', 'RATE_CHANGED'", at)


def _not_removed(at: str) -> str:
    """No removal of source `s` in effect at `at`, as known.

    A source active now has no REMOVED entry at all (history is append-only and a
    removed source takes no further entries), so for it the probe is skipped: it
    was never removed as known at any moment.
    """
    return f"""(s.status = 'ACTIVE' OR NOT EXISTS (
        SELECT 1 FROM capital_history x
         WHERE x.organization_id = s.organization_id AND x.source_id = s.source_id
           AND x.action = 'REMOVED' AND x.effective_date <= {at} AND x.created_at <= :known_at))"""


# Active sources as of `as_of`, as known at `known_at`: two index probes per source.
# - The last change in effect is the later of the amount and rate probes' dates: every
#   event but a removal sets one of the two terms (ADDED both), and a source whose
#   removal is in effect is not listed at all.
# - The sequence is the source's latest one recorded by `known_at`. When `known_at` is
#   not before the organization's latest recording, every entry is known, and that is
#   the projection's `latest_sequence` (its triggers keep it the highest sequence of
#   the source); only a past `known_at` probes for it.
_SOURCES_AS_OF = text(
    f"""
    WITH latest AS (
         SELECT max(created_at) AS recorded_at FROM capital_history WHERE organization_id = :org)
    SELECT s.source_id, s.name, s.added_date, a.available_cents, r.annual_rate,
           greatest(a.amount_date, r.rate_date) AS last_changed_date,
           CASE WHEN :known_at >= latest.recorded_at THEN s.latest_sequence ELSE (
                SELECT h.sequence FROM capital_history h
                 WHERE h.organization_id = s.organization_id AND h.source_id = s.source_id
                   AND h.created_at <= :known_at
                 ORDER BY h.sequence DESC LIMIT 1) END AS sequence,
           s.currency, s.kind
      FROM latest, capital_source s
      JOIN LATERAL ({_amount_probe(":as_of")}) a ON true
      JOIN LATERAL ({_rate_probe(":as_of")}) r ON true
     WHERE s.organization_id = :org AND s.added_date <= :as_of AND {_not_removed(":as_of")}
    """
)


def sources_as_of(
    conn: Connection, org: UUID, as_of: datetime, known_at: datetime
) -> list[ActiveSource]:
    """Read all at once, by position: at 1,000 sources, fetching and naming row by row
    cost a quarter of the statement's own time."""
    rows = conn.execute(_SOURCES_AS_OF, {"org": org, "as_of": as_of, "known_at": known_at}).all()
    return [
        ActiveSource(
            source_id=source_id,
            name=name,
            annual_rate=annual_rate,
            available_cents=available_cents,
            sequence=sequence,
            added_date=added_date.astimezone(UTC),
            last_changed_date=last_changed_date.astimezone(UTC),
            currency=currency,
            kind=_KINDS[kind],
        )
        for (
            source_id,
            name,
            added_date,
            available_cents,
            annual_rate,
            last_changed_date,
            sequence,
            currency,
            kind,
        ) in rows
    ]


CURRENT_SOURCES_SQL = (
    f"SELECT {SOURCE_COLUMNS} FROM capital_source s"
    " WHERE s.organization_id = :org AND s.status = 'ACTIVE'"
)


def current_sources_from_rows(rows: Iterable[Mapping[Any, Any]]) -> list[ActiveSource]:
    return [
        ActiveSource(
            source_id=r["source_id"],
            name=r["name"],
            annual_rate=r["annual_rate"],
            available_cents=r["available_cents"],
            sequence=r["latest_sequence"],
            added_date=_utc(r["added_date"]),
            last_changed_date=_utc(r["last_effective_date"]),
            currency=r["currency"],
            kind=_KINDS[r["kind"]],
        )
        for r in rows
    ]


def current_sources(conn: Connection, org: UUID) -> list[ActiveSource]:
    """Active sources now, as known now: straight from the projection."""
    rows = conn.execute(text(CURRENT_SOURCES_SQL), {"org": org}).mappings()
    return current_sources_from_rows(rows)


def state_at(
    conn: Connection, org: UUID, source_id: str, at: datetime
) -> tuple[int, Decimal] | None:
    """(amount, rate) of one source in effect at `at`, as known now."""
    row = conn.execute(
        text(
            f"""
            SELECT a.available_cents, r.annual_rate FROM capital_source s
              JOIN LATERAL ({_amount_probe(":at")}) a ON true
              JOIN LATERAL ({_rate_probe(":at")}) r ON true
             WHERE s.organization_id = :org AND s.source_id = :source_id
            """
        ),
        {
            "org": org,
            "source_id": source_id,
            "at": at,
            "known_at": datetime.max.replace(tzinfo=UTC),
        },
    ).first()
    return (row[0], row[1]) if row else None


@dataclass(frozen=True, slots=True)
class SeriesSums:
    at: datetime
    source_count: int
    total_cents: int
    weighted_cents: Decimal


_SERIES = text(
    f"""
    SELECT p.at, count(*) AS source_count,
           sum(a.available_cents) AS total_cents,
           sum(a.available_cents * r.annual_rate) AS weighted_cents
      FROM unnest(CAST(:points AS timestamptz[])) AS p(at)
      JOIN capital_source s ON s.organization_id = :org AND s.added_date <= p.at
      JOIN LATERAL ({_amount_probe("p.at")}) a ON true
      JOIN LATERAL ({_rate_probe("p.at")}) r ON true
     WHERE {_not_removed("p.at")}
     GROUP BY p.at
    """
)


_SERIES_BUCKETS = text(
    f"""
    SELECT p.at, s.currency, s.kind, count(*) AS source_count,
           sum(a.available_cents) AS total_cents,
           sum(a.available_cents * r.annual_rate) AS weighted_cents
      FROM unnest(CAST(:points AS timestamptz[])) AS p(at)
      JOIN capital_source s ON s.organization_id = :org AND s.added_date <= p.at
      JOIN LATERAL ({_amount_probe("p.at")}) a ON true
      JOIN LATERAL ({_rate_probe("p.at")}) r ON true
     WHERE {_not_removed("p.at")}
     GROUP BY p.at, s.currency, s.kind
    """
)


def series_bucket_sums(
    conn: Connection, org: UUID, points: list[datetime], known_at: datetime
) -> dict[datetime, list[BucketSums]]:
    """Per point, the active sources' sums per (currency, kind), as known at `known_at`."""
    rows = conn.execute(
        _SERIES_BUCKETS, {"org": org, "points": points, "known_at": known_at}
    ).mappings()
    found: dict[datetime, list[BucketSums]] = {}
    for r in rows:
        found.setdefault(_utc(r["at"]), []).append(
            BucketSums(
                currency=r["currency"],
                kind=Kind(r["kind"]),
                total_minor=int(r["total_cents"]),
                weighted=r["weighted_cents"],
                count=int(r["source_count"]),
            )
        )
    return found


def series_sums(
    conn: Connection, org: UUID, points: list[datetime], known_at: datetime
) -> dict[datetime, SeriesSums]:
    rows = conn.execute(_SERIES, {"org": org, "points": points, "known_at": known_at}).mappings()
    return {
        _utc(r["at"]): SeriesSums(
            at=_utc(r["at"]),
            source_count=r["source_count"],
            total_cents=int(r["total_cents"]),
            weighted_cents=r["weighted_cents"],
        )
        for r in rows
    }


# --- reading: lists ----------------------------------------------------------

ORDERS: dict[str, tuple[tuple[str, ...], str]] = {
    # name: (key columns, direction)
    "effective": (("effective_date", "sequence", "source_id"), "ASC"),
    "effective_desc": (("effective_date", "sequence", "source_id"), "DESC"),
    "recorded_desc": (("created_at", "source_id", "sequence"), "DESC"),
    # Commit order (the change feed): one write transaction's entries share a revision.
    "revision": (("revision", "source_id", "sequence"), "ASC"),
}


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    source_id: str | None = None
    action: Action | None = None
    start: datetime | None = None
    end: datetime | None = None
    # "As known at": only entries recorded by then (a past view of the audit trail).
    recorded_until: datetime | None = None
    # Only entries of write transactions up to this revision: revisions follow commit
    # order and entries never change, so pages read in separate transactions with the
    # same bound agree as if read from one snapshot (streams hold no connection).
    up_to_revision: int | None = None
    # Only entries of write transactions after this revision (the change feed).
    after_revision: int | None = None


def encode_cursor(order: str, entry: HistoryEntry) -> str:
    columns, _ = ORDERS[order]
    values: list[Any] = []
    for column in columns:
        value = getattr(entry, column)
        values.append(value.isoformat() if isinstance(value, datetime) else value)
    raw = json.dumps([order, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(order: str, cursor: str) -> list[Any]:
    columns, _ = ORDERS[order]
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
        if not isinstance(decoded, list) or decoded[0] != order:
            raise ValueError
        values = decoded[1:]
        if len(values) != len(columns):
            raise ValueError
        out: list[Any] = []
        for column, value in zip(columns, values, strict=True):
            if column in ("effective_date", "created_at"):
                out.append(datetime.fromisoformat(value))
            elif column in ("sequence", "revision"):
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ValueError
                out.append(value)
            else:
                if not isinstance(value, str):
                    raise ValueError
                out.append(value)
        return out
    except (ValueError, TypeError, IndexError, json.JSONDecodeError):
        raise InvalidInput.one("cursor", "The paging cursor is not valid; start again.") from None


def _where(org: UUID, flt: HistoryFilter) -> tuple[list[str], dict[str, Any]]:
    clauses = ["h.organization_id = :org"]
    params: dict[str, Any] = {"org": org}
    if flt.source_id is not None:
        clauses.append("h.source_id = :source_id")
        params["source_id"] = flt.source_id
    if flt.action is not None:
        clauses.append("h.action = :action")
        params["action"] = flt.action.value
    if flt.start is not None:
        clauses.append("h.effective_date >= :start")
        params["start"] = flt.start
    if flt.end is not None:
        clauses.append("h.effective_date <= :end")
        params["end"] = flt.end
    if flt.recorded_until is not None:
        clauses.append("h.created_at <= :recorded_until")
        params["recorded_until"] = flt.recorded_until
    if flt.up_to_revision is not None:
        clauses.append("h.revision <= :up_to_revision")
        params["up_to_revision"] = flt.up_to_revision
    if flt.after_revision is not None:
        clauses.append("h.revision > :after_revision")
        params["after_revision"] = flt.after_revision
    return clauses, params


def list_history_statement(
    org: UUID,
    flt: HistoryFilter,
    *,
    order: str = "effective",
    cursor: str | None = None,
    limit: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """The SQL (`:name` parameters) of one page of `list_history`, and its parameters."""
    columns, direction = ORDERS[order]
    clauses, params = _where(org, flt)
    if cursor:
        values = decode_cursor(order, cursor)
        keys = ", ".join(f"h.{c}" for c in columns)
        marks = ", ".join(f":k{i}" for i in range(len(columns)))
        clauses.append(f"({keys}) {'>' if direction == 'ASC' else '<'} ({marks})")
        # The same bound on the first key alone: an index range the planner can use.
        clauses.append(f"h.{columns[0]} {'>=' if direction == 'ASC' else '<='} :k0")
        params.update({f"k{i}": v for i, v in enumerate(values)})
    order_by = ", ".join(f"h.{c} {direction}" for c in columns)
    sql = f"SELECT {ENTRY_COLUMNS} FROM capital_history h WHERE {' AND '.join(clauses)}"
    sql += f" ORDER BY {order_by}"
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = limit + 1
    return sql, params


def page_of(
    entries: list[HistoryEntry], order: str, limit: int | None
) -> tuple[list[HistoryEntry], str | None]:
    """A page from the rows of `list_history_statement` (which asks for one more)."""
    if limit is not None and len(entries) > limit:
        entries = entries[:limit]
        return entries, encode_cursor(order, entries[-1])
    return entries, None


def list_history(
    conn: Connection,
    org: UUID,
    flt: HistoryFilter,
    *,
    order: str = "effective",
    cursor: str | None = None,
    limit: int | None = None,
) -> tuple[list[HistoryEntry], str | None]:
    """One page of entries in `order`, after `cursor`; returns the next page's cursor."""
    sql, params = list_history_statement(org, flt, order=order, cursor=cursor, limit=limit)
    return page_of(entries_from_rows(conn.execute(text(sql), params)), order, limit)


def count_history(conn: Connection, org: UUID, flt: HistoryFilter) -> int:
    clauses, params = _where(org, flt)
    sql = f"SELECT count(*) FROM capital_history h WHERE {' AND '.join(clauses)}"
    return int(conn.execute(text(sql), params).scalar_one())


def entries_since_revision(
    conn: Connection, org: UUID, revision: int, limit: int
) -> list[HistoryEntry]:
    rows = conn.execute(
        text(
            f"SELECT {ENTRY_COLUMNS} FROM capital_history h"
            " WHERE h.organization_id = :org AND h.revision > :revision"
            " ORDER BY h.revision, h.created_at, h.source_id, h.sequence LIMIT :limit"
        ),
        {"org": org, "revision": revision, "limit": limit},
    )
    return entries_from_rows(rows)


def history_of_source(conn: Connection, org: UUID, source_id: str) -> list[HistoryEntry]:
    entries, _ = list_history(conn, org, HistoryFilter(source_id=source_id))
    return entries


def all_entries(conn: Connection, org: UUID) -> list[HistoryEntry]:
    entries, _ = list_history(conn, org, HistoryFilter())
    return entries
