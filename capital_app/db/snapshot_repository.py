"""The WACC snapshot (migration 0010): end-of-day sums as running sums of per-day deltas.

One ordered scan of the organization's deltas answers every point of a series at once;
the table is maintained by the history insert trigger, so it is always as known now.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Connection, text

from capital_app.domain.wacc_snapshot import DaySums

# Every source's sums go to one bucket today (capital_wacc_bucket() in 0010).
BUCKET = ""

_SUMS_AT = text(
    """
    SELECT r.day, r.total_cents, r.weighted_cents, r.source_count FROM (
        SELECT m.day, m.point,
               sum(m.total_cents) OVER running AS total_cents,
               sum(m.weighted_cents) OVER running AS weighted_cents,
               sum(m.source_count) OVER running AS source_count
          FROM (
            SELECT d.day, false AS point, d.total_cents, d.weighted_cents,
                   d.source_count::numeric AS source_count
              FROM capital_wacc_day_delta d
             WHERE d.organization_id = :org AND d.bucket = :bucket AND d.day <= :last
            UNION ALL
            SELECT p.day, true, 0, 0, 0 FROM unnest(CAST(:days AS date[])) AS p(day)
          ) m
        WINDOW running AS (ORDER BY m.day, m.point ROWS UNBOUNDED PRECEDING)
    ) r
     WHERE r.point
    """
)


def sums_at(conn: Connection, org: UUID, days: list[date]) -> dict[date, DaySums]:
    """The end-of-day sums (as known now) of each of `days`."""
    if not days:
        return {}
    rows = conn.execute(
        _SUMS_AT, {"org": org, "bucket": BUCKET, "days": days, "last": max(days)}
    ).all()
    return {
        day: DaySums(int(total or 0), Decimal(weighted or 0), int(count or 0))
        for day, total, weighted, count in rows
    }


def stored_deltas(conn: Connection, org: UUID) -> dict[date, DaySums]:
    """The stored non-zero deltas, by day (zero rows may remain after cancelling changes)."""
    rows = conn.execute(
        text(
            "SELECT day, total_cents, weighted_cents, source_count FROM capital_wacc_day_delta"
            " WHERE organization_id = :org AND bucket = :bucket ORDER BY day"
        ),
        {"org": org, "bucket": BUCKET},
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
