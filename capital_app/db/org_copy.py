"""One organization's rows, copied out and in with COPY (text format), as the owner.

The tables are found, not listed: every table of the schema with an
`organization_id` column, and `organization` itself (by `id`), so a table a later
migration adds is backed up without anyone remembering to. Rows whose
`organization_id` is NULL (a sign-in with an unknown email) belong to no
organization and are not copied.

Restoring writes rows exactly as they were (history's recording times, revisions,
the projection), so it runs with `session_replication_role = replica`: no trigger
fires (no revision bump, no projection rewrite, no NOTIFY) and foreign keys are not
checked row by row — which needs a superuser. The caller checks the result with
the projection fold afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO
from uuid import UUID

import psycopg
from sqlalchemy import Connection, text

ORGANIZATION_TABLE = "organization"


@dataclass(frozen=True, slots=True)
class TenantTable:
    name: str
    filter_column: str  # "id" for organization, else "organization_id"
    columns: tuple[str, ...]
    key_columns: tuple[str, ...]  # the primary key, for a stable order
    identity_column: str | None  # GENERATED … AS IDENTITY (ids drawn from a sequence)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def tenant_tables(conn: Connection) -> list[TenantTable]:
    """The organization table first, then every table with organization_id, by name."""
    rows = conn.execute(
        text(
            "SELECT c.table_name, c.column_name, c.is_identity = 'YES' AS identity"
            " FROM information_schema.columns c"
            " JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
            " ORDER BY c.table_name, c.ordinal_position"
        )
    ).all()
    columns: dict[str, list[str]] = {}
    identity: dict[str, str] = {}
    for table, column, is_identity in rows:
        columns.setdefault(table, []).append(column)
        if is_identity:
            identity[table] = column
    keys: dict[str, list[str]] = {}
    for table, column in conn.execute(
        text(
            "SELECT tc.table_name, k.column_name FROM information_schema.table_constraints tc"
            " JOIN information_schema.key_column_usage k"
            "   ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema"
            " WHERE tc.table_schema = 'public' AND tc.constraint_type = 'PRIMARY KEY'"
            " ORDER BY tc.table_name, k.ordinal_position"
        )
    ).all():
        keys.setdefault(table, []).append(column)
    found: list[TenantTable] = []
    for table in sorted(columns, key=lambda t: (t != ORGANIZATION_TABLE, t)):
        if table == ORGANIZATION_TABLE:
            column = "id"
        elif "organization_id" in columns[table]:
            column = "organization_id"
        else:
            continue
        found.append(
            TenantTable(
                table,
                column,
                tuple(columns[table]),
                tuple(keys.get(table) or columns[table]),
                identity.get(table),
            )
        )
    return found


def _raw(conn: Connection) -> psycopg.Connection[Any]:
    raw = conn.connection.driver_connection
    assert raw is not None
    assert isinstance(raw, psycopg.Connection)
    return raw


def copy_out(conn: Connection, table: TenantTable, org: UUID, out: BinaryIO) -> int:
    """Write the organization's rows of `table` to `out`; returns how many."""
    cols = ", ".join(_quote(c) for c in table.columns)
    order = ", ".join(_quote(c) for c in table.key_columns)
    statement = (
        f"COPY (SELECT {cols} FROM {_quote(table.name)}"
        f" WHERE {_quote(table.filter_column)} = '{UUID(str(org))}'::uuid ORDER BY {order})"
        " TO STDOUT"
    )
    with _raw(conn).cursor() as cursor:
        with cursor.copy(statement) as copy:
            for chunk in copy:
                out.write(chunk)
        count: int = cursor.rowcount
        return count


def copy_in(conn: Connection, table: TenantTable, columns: tuple[str, ...], data: BinaryIO) -> int:
    """Load rows written by `copy_out` (the same columns, same order); returns how many."""
    cols = ", ".join(_quote(c) for c in columns)
    with _raw(conn).cursor() as cursor:
        with cursor.copy(f"COPY {_quote(table.name)} ({cols}) FROM STDIN") as copy:
            while chunk := data.read(1 << 16):
                copy.write(chunk)
        count: int = cursor.rowcount
        return count


def copy_in_renumbered(
    conn: Connection, table: TenantTable, columns: tuple[str, ...], data: BinaryIO
) -> int:
    """Like `copy_in`, but the identity column takes fresh ids from the target's
    sequence, in the archive's order (so "newer has a larger id" still holds)."""
    assert table.identity_column is not None
    staging = f"restore_{table.name}"
    cols = ", ".join(_quote(c) for c in columns)
    kept = ", ".join(_quote(c) for c in columns if c != table.identity_column)
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {_quote(staging)} ON COMMIT DROP AS"
        f" SELECT {cols} FROM {_quote(table.name)} WITH NO DATA"
    )
    with (
        _raw(conn).cursor() as cursor,
        cursor.copy(f"COPY {_quote(staging)} ({cols}) FROM STDIN") as copy,
    ):
        while chunk := data.read(1 << 16):
            copy.write(chunk)
    inserted = conn.exec_driver_sql(
        f"INSERT INTO {_quote(table.name)} ({kept}) SELECT {kept} FROM {_quote(staging)}"
        f" ORDER BY {_quote(table.identity_column)}"
    )
    return inserted.rowcount


def identity_range(conn: Connection, table: TenantTable, org: UUID) -> tuple[int, int] | None:
    """(min, max) of the identity column over the organization's rows."""
    assert table.identity_column is not None
    col = _quote(table.identity_column)
    low, high = conn.execute(
        text(
            f"SELECT min({col}), max({col}) FROM {_quote(table.name)}"
            f" WHERE {_quote(table.filter_column)} = :org"
        ),
        {"org": org},
    ).one()
    return None if low is None else (int(low), int(high))


def ids_taken(conn: Connection, table: TenantTable, low: int, high: int) -> bool:
    assert table.identity_column is not None
    col = _quote(table.identity_column)
    return bool(
        conn.execute(
            text(
                f"SELECT EXISTS (SELECT 1 FROM {_quote(table.name)}"
                f" WHERE {col} BETWEEN :low AND :high)"
            ),
            {"low": low, "high": high},
        ).scalar_one()
    )


def advance_identity(conn: Connection, table: TenantTable) -> None:
    """Move the identity sequence past every stored id (never backwards)."""
    assert table.identity_column is not None
    seq = conn.execute(
        text("SELECT pg_get_serial_sequence(:table, :column)"),
        {"table": table.name, "column": table.identity_column},
    ).scalar_one()
    conn.execute(
        text(
            "SELECT setval(CAST(:seq AS regclass), greatest("
            f" (SELECT coalesce(max({_quote(table.identity_column)}), 0)"
            f" FROM {_quote(table.name)}),"
            " coalesce(pg_sequence_last_value(CAST(:seq AS regclass)), 0), 1))"
        ),
        {"seq": seq},
    )


def delete_organization_rows(conn: Connection, tables: list[TenantTable], org: UUID) -> None:
    """Every row of the organization, organization last (replica mode: no triggers)."""
    for table in reversed(tables):
        conn.execute(
            text(f"DELETE FROM {_quote(table.name)} WHERE {_quote(table.filter_column)} = :org"),
            {"org": org},
        )


def enter_replica_mode(conn: Connection) -> None:
    """No triggers, no row-by-row foreign key checks, until the transaction ends."""
    conn.exec_driver_sql("SET LOCAL session_replication_role = replica")


def is_superuser(conn: Connection) -> bool:
    return bool(
        conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
    )


def migration_head(conn: Connection) -> str | None:
    exists = conn.execute(text("SELECT to_regclass('public.alembic_version')")).scalar()
    if exists is None:
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def has_any_table(conn: Connection) -> bool:
    return bool(
        conn.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n"
                " ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN"
                " ('r', 'p', 'v', 'm', 'S', 'f'))"
            )
        ).scalar_one()
    )


def organization_named(conn: Connection, name: str) -> tuple[UUID, str] | None:
    row = conn.execute(
        text("SELECT id, name FROM organization WHERE lower(name) = lower(:name)"),
        {"name": name.strip()},
    ).first()
    return (row[0], row[1]) if row else None


def organization_by_id(conn: Connection, org: UUID) -> tuple[UUID, str] | None:
    row = conn.execute(
        text("SELECT id, name FROM organization WHERE id = :id"), {"id": org}
    ).first()
    return (row[0], row[1]) if row else None
