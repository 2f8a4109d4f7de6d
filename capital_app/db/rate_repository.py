"""SQL for the dated facts of migration 0013: FX rates and corporate tax rates.

Both tables are append-only (the runtime role may only INSERT and SELECT) and the
database stamps `recorded_at`, so "as known at K" is exact. They are small (a rate a
day per currency is a few thousand rows a decade): a read takes them all and the
domain picks the one in force (domain/currencies.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, text

from capital_app.domain.currencies import FxRate, RateBook, TaxRate

_FX_COLUMNS = "id, from_currency, to_currency, rate, effective_date, recorded_at, recorded_by"
_TAX_COLUMNS = "id, rate, effective_date, recorded_at, recorded_by"

FX_RATES_SQL = (
    f"SELECT {_FX_COLUMNS} FROM fx_rate WHERE organization_id = :org"
    " ORDER BY effective_date, recorded_at, id"
)
TAX_RATES_SQL = (
    f"SELECT {_TAX_COLUMNS} FROM corporate_tax_rate WHERE organization_id = :org"
    " ORDER BY effective_date, recorded_at, id"
)
REPORTING_CURRENCY_SQL = "SELECT currency FROM organization WHERE id = :org"
# Append-only: the counts identify the tables' state (a cache key for derived answers).
RATES_VERSION_SQL = (
    "SELECT (SELECT count(*) FROM fx_rate WHERE organization_id = :org),"
    " (SELECT count(*) FROM corporate_tax_rate WHERE organization_id = :org)"
)


def fx_from_rows(rows: Sequence[Sequence[Any]]) -> list[FxRate]:
    return [
        FxRate(
            from_currency=from_currency,
            to_currency=to_currency,
            rate=Decimal(rate),
            effective_date=effective_date,
            recorded_at=recorded_at.astimezone(UTC),
            id=str(rate_id),
            recorded_by=str(recorded_by) if recorded_by else None,
        )
        for rate_id, from_currency, to_currency, rate, effective_date, recorded_at, recorded_by in rows
    ]


def tax_from_rows(rows: Sequence[Sequence[Any]]) -> list[TaxRate]:
    return [
        TaxRate(
            rate=Decimal(rate),
            effective_date=effective_date,
            recorded_at=recorded_at.astimezone(UTC),
            id=str(rate_id),
            recorded_by=str(recorded_by) if recorded_by else None,
        )
        for rate_id, rate, effective_date, recorded_at, recorded_by in rows
    ]


def fx_rates(conn: Connection, org: UUID) -> list[FxRate]:
    return fx_from_rows(conn.execute(text(FX_RATES_SQL), {"org": org}).all())


def tax_rates(conn: Connection, org: UUID) -> list[TaxRate]:
    return tax_from_rows(conn.execute(text(TAX_RATES_SQL), {"org": org}).all())


def reporting_currency(conn: Connection, org: UUID) -> str:
    value = conn.execute(text(REPORTING_CURRENCY_SQL), {"org": org}).scalar()
    if value is None:
        raise LookupError(f"organization {org} is not visible")
    return str(value)


def rate_book(conn: Connection, org: UUID) -> RateBook:
    """The reporting currency and every rate recorded so far (the domain filters by K)."""
    return RateBook(reporting_currency(conn, org), fx_rates(conn, org), tax_rates(conn, org))


def rates_version(conn: Connection, org: UUID) -> tuple[int, int]:
    row = conn.execute(text(RATES_VERSION_SQL), {"org": org}).one()
    return int(row[0]), int(row[1])


def announce(conn: Connection, org: UUID) -> int:
    """A new rate changes every total: claim a new organization revision (caches and live
    rooms are keyed by it) and wake the live listeners at commit, as a history write does
    (0 entries: readers find nothing new in the history, only new numbers)."""
    revision = int(
        conn.execute(text("SELECT capital_transaction_revision(:org)"), {"org": org}).scalar_one()
    )
    conn.execute(
        text(
            "SELECT pg_notify('capital_history', json_build_object("
            "'organizationId', CAST(:org AS uuid), 'revision', CAST(:rev AS bigint),"
            " 'sourceId', NULL, 'entryId', NULL, 'entries', 0)::text)"
        ),
        {"org": org, "rev": revision},
    )
    return revision


def insert_fx_rates(
    conn: Connection,
    org: UUID,
    rates: Sequence[tuple[str, str, Decimal, date]],
    recorded_by: UUID | None,
    api_key_id: UUID | None,
) -> list[FxRate]:
    """Append (from, to, rate, effective date) rows; returns them as stored."""
    if not rates:
        return []
    rows = conn.execute(
        text(
            "INSERT INTO fx_rate (organization_id, from_currency, to_currency, rate,"
            " effective_date, recorded_by, api_key_id)"
            " SELECT :org, f, t, r, d, :by, :key"
            " FROM unnest(CAST(:froms AS text[]), CAST(:tos AS text[]),"
            " CAST(:rates AS numeric[]), CAST(:days AS date[])) WITH ORDINALITY AS u(f, t, r, d, n)"
            " ORDER BY n"
            f" RETURNING {_FX_COLUMNS}"
        ),
        {
            "org": org,
            "by": recorded_by,
            "key": api_key_id,
            "froms": [r[0] for r in rates],
            "tos": [r[1] for r in rates],
            "rates": [r[2] for r in rates],
            "days": [r[3] for r in rates],
        },
    ).all()
    return fx_from_rows(rows)


def insert_tax_rate(
    conn: Connection,
    org: UUID,
    rate: Decimal,
    effective_date: date,
    recorded_by: UUID | None,
    api_key_id: UUID | None,
) -> TaxRate:
    rows = conn.execute(
        text(
            "INSERT INTO corporate_tax_rate (organization_id, rate, effective_date,"
            " recorded_by, api_key_id) VALUES (:org, :rate, :day, :by, :key)"
            f" RETURNING {_TAX_COLUMNS}"
        ),
        {"org": org, "rate": rate, "day": effective_date, "by": recorded_by, "key": api_key_id},
    ).all()
    return tax_from_rows(rows)[0]
