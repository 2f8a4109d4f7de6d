"""The WACC snapshot (migration 0010): end-of-day sums as running sums of per-day deltas.

One ordered scan of the organization's deltas answers every point of a series at once;
the table is maintained by the history insert trigger, so it is always as known now.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal, localcontext
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, text

from capital_app.domain.currencies import BucketSums, Kind
from capital_app.domain.wacc_snapshot import DaySums

# Each bucket is `<currency>:<kind>` of the source's ADDED entry (capital_wacc_bucket(),
# migration 0013): sums stay in each currency's own minor units and are converted when
# read, at the rate of each point's day.
BUCKET_SUMS_AT_SQL = """
    SELECT r.day, r.bucket, r.total_cents, r.weighted_cents, r.source_count FROM (
        SELECT m.day, m.bucket, m.point,
               sum(m.total_cents) OVER running AS total_cents,
               sum(m.weighted_cents) OVER running AS weighted_cents,
               sum(m.source_count) OVER running AS source_count
          FROM (
            SELECT d.day, d.bucket, false AS point, d.total_cents, d.weighted_cents,
                   d.source_count::numeric AS source_count
              FROM capital_wacc_day_delta d
             WHERE d.organization_id = :org AND d.day <= :last
            UNION ALL
            SELECT p.day, b.bucket, true, 0, 0, 0
              FROM unnest(CAST(:days AS date[])) AS p(day)
             CROSS JOIN (SELECT DISTINCT d.bucket FROM capital_wacc_day_delta d
                          WHERE d.organization_id = :org AND d.day <= :last) b
          ) m
        WINDOW running AS (PARTITION BY m.bucket ORDER BY m.day, m.point
                           ROWS UNBOUNDED PRECEDING)
    ) r
     WHERE r.point
    """
_BUCKET_SUMS_AT = text(BUCKET_SUMS_AT_SQL)

# What a series as known now depends on, in one statement: the organization's revision
# (every write transaction bumps it) and the append-only rate tables' counts; the
# values of history.current_revision and rate_repository.rates_version.
SERIES_VERSION_SQL = (
    "SELECT (SELECT revision FROM organization_revision WHERE organization_id = :org),"
    " (SELECT count(*) FROM fx_rate WHERE organization_id = :org),"
    " (SELECT count(*) FROM corporate_tax_rate WHERE organization_id = :org)"
)


def _bucket(name: str) -> tuple[str, Kind]:
    currency, _, kind = name.partition(":")
    return currency, Kind(kind)


def bucket_sums_at(conn: Connection, org: UUID, days: list[date]) -> dict[date, list[BucketSums]]:
    """Per day of `days`, the end-of-day sums (as known now) of each currency and kind."""
    if not days:
        return {}
    rows = conn.execute(_BUCKET_SUMS_AT, bucket_sums_params(org, days)).all()
    return bucket_sums_from_rows(rows, days)


def bucket_sums_params(org: UUID, days: list[date]) -> dict[str, Any]:
    """BUCKET_SUMS_AT_SQL's parameters (`days` not empty)."""
    return {"org": org, "days": days, "last": max(days)}


def bucket_sums_from_rows(
    rows: Iterable[Sequence[Any]], days: list[date]
) -> dict[date, list[BucketSums]]:
    """BUCKET_SUMS_AT_SQL's rows, by day of `days` (the async hot read uses it too)."""
    found: dict[date, list[BucketSums]] = {day: [] for day in days}
    for day, bucket, total, weighted, count in rows:
        if not (total or weighted or count):
            continue
        currency, kind = _bucket(bucket)
        found[day].append(
            BucketSums(currency, kind, int(total or 0), Decimal(weighted or 0), int(count or 0))
        )
    return found


def sums_at(conn: Connection, org: UUID, days: list[date]) -> dict[date, DaySums]:
    """The end-of-day sums (as known now) of each of `days`, every currency added as is
    (meaningful for a single-currency organization; the checks compare it with the fold)."""
    found = bucket_sums_at(conn, org, days)
    with localcontext() as ctx:
        ctx.prec = 60
        return {
            day: DaySums(
                sum(b.total_minor for b in sums),
                sum((b.weighted for b in sums), Decimal(0)),
                sum(b.count for b in sums),
            )
            for day, sums in found.items()
        }


def stored_deltas(conn: Connection, org: UUID) -> dict[date, DaySums]:
    """The stored non-zero deltas, by day, over every bucket (zero rows may remain after
    cancelling changes)."""
    rows = conn.execute(
        text(
            "SELECT day, sum(total_cents), sum(weighted_cents), sum(source_count)"
            " FROM capital_wacc_day_delta"
            " WHERE organization_id = :org GROUP BY day ORDER BY day"
        ),
        {"org": org},
    ).all()
    found = {day: DaySums(int(t), Decimal(w), int(c)) for day, t, w, c in rows}
    return {day: sums for day, sums in found.items() if not sums.zero}


def latest_recorded_at(conn: Connection, org: UUID) -> datetime | None:
    """When the organization's latest entry was recorded (one index probe)."""
    value: datetime | None = conn.execute(
        text("SELECT max(created_at) FROM capital_history WHERE organization_id = :org"),
        {"org": org},
    ).scalar()
    return value


def rebuild(conn: Connection, org: UUID) -> None:
    """Recompute the organization's deltas from its whole history (owner only)."""
    conn.execute(
        text("DELETE FROM capital_wacc_day_delta WHERE organization_id = :org"), {"org": org}
    )
    conn.execute(
        text(
            "SELECT capital_wacc_apply(array_agg(organization_id), array_agg(source_id),"
            " array_agg(1), array_agg(added_date))"
            " FROM capital_source WHERE organization_id = :org"
        ),
        {"org": org},
    )
