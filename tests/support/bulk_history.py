"""A large, valid capital history in one INSERT … SELECT, through the real trigger.

For page-load tests and benchmarks: `sources` × `per_source` entries (ADDED, then
alternating AMOUNT_CHANGED / RATE_CHANGED, every tenth source finally REMOVED),
effective dates spread over the past four years, each recorded an hour after it took
effect. The insert trigger checks every rule and maintains the projection, as
for any write; one statement means one revision and one NOTIFY.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import text

from capital_app.db.unit_of_work import tenant_transaction

# amount(j) = base + j × 50,000.00 after j amount changes; rate(i) cycles through
# 8 %, 8.5 % … 12.5 % after i rate changes (consecutive rates always differ).
_INSERT = text(
    """
    WITH steps AS (
        SELECT s, k,
               CASE WHEN k = 1 THEN 'ADDED'
                    WHEN k = :per_source AND s % 10 = 0 THEN 'REMOVED'
                    WHEN k % 2 = 0 THEN 'AMOUNT_CHANGED'
                    ELSE 'RATE_CHANGED' END AS action,
               (1000000 + s * 1000)::bigint * 100 AS base_cents,
               CAST(:start AS timestamptz) + (k - 1) * CAST(:step AS interval)
                   + s * interval '37 minutes' AS effective
          FROM generate_series(1, :sources) AS s, generate_series(1, :per_source) AS k
    )
    INSERT INTO capital_history (
        organization_id, id, source_id, sequence, action, effective_date, name, annual_rate,
        available_cents, previous_rate, previous_amount, notes, created_at, created_by,
        recorded_by, revision)
    SELECT :org, gen_random_uuid()::text, 'bulk-' || lpad(s::text, 5, '0'), k, action, effective,
           'Facility ' || lpad(s::text, 5, '0'),
           0.08 + ((s + (k - 1) / 2) % 10) * 0.005,
           base_cents + (CASE WHEN action = 'REMOVED' THEN (k - 1) / 2 ELSE k / 2 END)
               * 5000000,
           CASE WHEN action = 'RATE_CHANGED' THEN 0.08 + ((s + (k - 1) / 2 - 1) % 10) * 0.005 END,
           CASE WHEN action = 'AMOUNT_CHANGED' THEN base_cents + (k / 2 - 1) * 5000000 END,
           CASE WHEN k % 7 = 0 THEN 'quarterly review' END,
           effective + interval '1 hour', :user_text, :user, 0
      FROM steps
     ORDER BY s, k
    """
)


def seed_bulk_history(
    organization_id: UUID, user_id: UUID, *, sources: int = 250, per_source: int = 40
) -> int:
    """Append `sources × per_source` entries; returns how many were written.

    Each source's entries are spread evenly over about four years, ending some
    weeks ago (sources start 37 minutes apart, so no two entries share a moment).
    """
    now = datetime.now(UTC)
    step = timedelta(days=1380) / per_source
    start = (now - timedelta(days=1420)).replace(hour=9, minute=0, second=0, microsecond=0)
    with tenant_transaction(organization_id) as conn:
        result = conn.execute(
            _INSERT,
            {
                "org": organization_id,
                "user": user_id,
                "user_text": str(user_id),
                "sources": sources,
                "per_source": per_source,
                "start": start,
                "step": step,
            },
        )
        return result.rowcount
