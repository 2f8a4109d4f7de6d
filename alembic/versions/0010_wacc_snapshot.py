"""A per-day snapshot of the WACC sums: series and end-of-day as-of reads in one scan.

`capital_wacc_day_delta` holds, per organization, bucket and UTC day, how much the
end-of-day sums of the active sources change from the day before: Δ Σ amount (cents),
Δ Σ amount × rate and Δ count. The sums at the end of day D (as known now) are the
running sums of the deltas up to D — one ordered scan for a whole series, however many
sources and points, instead of probes per source, point and term.

Maintained in the write transaction by an AFTER STATEMENT trigger with the statement's
transition table, so one app command (one row) and one bulk COPY (an import) take the
same path. For every source the statement touched it computes the source's end-of-day
contributions from the earliest day the statement changed on, once without the
statement's entries (their sequences are the source's highest: history is gapless and
append-only) and once with them, and adds the difference per day. A backdated change
moves exactly the days it should: from its own day until the next change of that term.
Rows from before that day enter only as the starting state (the latest amount- and
rate-bearing entries), the same in both versions, so they cancel.

The upsert touches only the organization's own rows; writers of one organization are
already serialized by its revision counter row (0001), writers of different
organizations never meet. Like the projection the table is the database's own: the
runtime role may only read it (RLS by organization, as every tenant table); the
functions run as their owner.

`capital_wacc_bucket()` names the bucket a source's sums go to: '' for all of them
today, so per-currency sums can follow without another table.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op
from capital_app.db.roles import runtime_role_name

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT = "(SELECT nullif(current_setting('app.org_id', true), '')::uuid)"
DEFINER = "SECURITY DEFINER SET search_path = public, pg_temp"

UPGRADE = f"""
CREATE TABLE capital_wacc_day_delta (
    organization_id uuid NOT NULL REFERENCES organization (id),
    bucket          text NOT NULL,
    day             date NOT NULL,
    total_cents     numeric NOT NULL,
    weighted_cents  numeric NOT NULL,
    source_count    bigint NOT NULL,
    PRIMARY KEY (organization_id, bucket, day)
);

CREATE FUNCTION capital_wacc_bucket(org uuid, source text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ''::text $$;

-- Add, per (organization, bucket, day), new minus old end-of-day contributions of the
-- given sources: `first_seqs` is each source's first sequence of the new entries (the
-- old version is the entries before it; 1 = none), `froms` the earliest effective date
-- among the new entries.
CREATE FUNCTION capital_wacc_apply(orgs uuid[], sources text[], first_seqs integer[],
                                   froms timestamptz[]) RETURNS void
LANGUAGE plpgsql {DEFINER} AS $$
BEGIN
    WITH touched AS (
        SELECT t.org, t.source_id, t.first_seq,
               (date_trunc('day', t.from_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS day_start
          FROM unnest(orgs, sources, first_seqs, froms) AS t(org, source_id, first_seq, from_at)
    ),
    scanned AS (
        SELECT t.org, t.source_id, t.first_seq, h.sequence, h.action, h.effective_date,
               h.available_cents, h.annual_rate
          FROM touched t
          JOIN capital_history h
            ON h.organization_id = t.org AND h.source_id = t.source_id
           AND h.effective_date >= t.day_start
        UNION
        SELECT t.org, t.source_id, t.first_seq, b.sequence, b.action, b.effective_date,
               b.available_cents, b.annual_rate
          FROM touched t
          CROSS JOIN LATERAL (
               SELECT h.sequence, h.action, h.effective_date, h.available_cents, h.annual_rate
                 FROM capital_history h
                WHERE h.organization_id = t.org AND h.source_id = t.source_id
                  AND h.action IN ('ADDED', 'AMOUNT_CHANGED') AND h.effective_date < t.day_start
                ORDER BY h.effective_date DESC, h.sequence DESC LIMIT 1) b
        UNION
        SELECT t.org, t.source_id, t.first_seq, b.sequence, b.action, b.effective_date,
               b.available_cents, b.annual_rate
          FROM touched t
          CROSS JOIN LATERAL (
               SELECT h.sequence, h.action, h.effective_date, h.available_cents, h.annual_rate
                 FROM capital_history h
                WHERE h.organization_id = t.org AND h.source_id = t.source_id
                  AND h.action IN ('ADDED', 'RATE_CHANGED') AND h.effective_date < t.day_start
                ORDER BY h.effective_date DESC, h.sequence DESC LIMIT 1) b
    ),
    versions AS (
        SELECT s.*, v.new, (s.effective_date AT TIME ZONE 'UTC')::date AS day
          FROM scanned s CROSS JOIN (VALUES (false), (true)) AS v(new)
         WHERE v.new OR s.sequence < s.first_seq
    ),
    grouped AS (
        SELECT v.*,
               count(*) FILTER (WHERE v.action IN ('ADDED', 'AMOUNT_CHANGED')) OVER w AS amount_group,
               count(*) FILTER (WHERE v.action IN ('ADDED', 'RATE_CHANGED')) OVER w AS rate_group,
               bool_or(v.action = 'REMOVED') OVER w AS removed,
               row_number() OVER (PARTITION BY v.org, v.source_id, v.new, v.day
                                  ORDER BY v.effective_date DESC, v.sequence DESC) AS from_end
          FROM versions v
        WINDOW w AS (PARTITION BY v.org, v.source_id, v.new
                     ORDER BY v.effective_date, v.sequence ROWS UNBOUNDED PRECEDING)
    ),
    valued AS (
        SELECT g.org, g.source_id, g.new, g.day, g.removed, g.from_end,
               first_value(g.available_cents) OVER (
                   PARTITION BY g.org, g.source_id, g.new, g.amount_group
                   ORDER BY g.effective_date, g.sequence) AS amount,
               first_value(g.annual_rate) OVER (
                   PARTITION BY g.org, g.source_id, g.new, g.rate_group
                   ORDER BY g.effective_date, g.sequence) AS rate
          FROM grouped g
    ),
    end_of_day AS (
        SELECT v.org, v.source_id, v.new, v.day,
               CASE WHEN v.removed THEN 0 ELSE v.amount END::numeric AS total,
               CASE WHEN v.removed THEN 0 ELSE v.amount * v.rate END AS weighted,
               CASE WHEN v.removed THEN 0 ELSE 1 END AS counted
          FROM valued v WHERE v.from_end = 1
    ),
    deltas AS (
        SELECT e.org, capital_wacc_bucket(e.org, e.source_id) AS bucket, e.day,
               CASE WHEN e.new THEN 1 ELSE -1 END AS sign,
               e.total - coalesce(lag(e.total) OVER d, 0) AS total,
               e.weighted - coalesce(lag(e.weighted) OVER d, 0) AS weighted,
               e.counted - coalesce(lag(e.counted) OVER d, 0) AS counted
          FROM end_of_day e
        WINDOW d AS (PARTITION BY e.org, e.source_id, e.new ORDER BY e.day)
    ),
    summed AS (
        SELECT d.org, d.bucket, d.day, sum(d.sign * d.total) AS total,
               sum(d.sign * d.weighted) AS weighted, sum(d.sign * d.counted) AS counted
          FROM deltas d
         GROUP BY d.org, d.bucket, d.day
        HAVING sum(d.sign * d.total) <> 0 OR sum(d.sign * d.weighted) <> 0
            OR sum(d.sign * d.counted) <> 0
    )
    INSERT INTO capital_wacc_day_delta AS c (
        organization_id, bucket, day, total_cents, weighted_cents, source_count)
    SELECT s.org, s.bucket, s.day, s.total, s.weighted, s.counted
      FROM summed s
     ORDER BY s.org, s.bucket, s.day
    ON CONFLICT (organization_id, bucket, day) DO UPDATE SET
        total_cents = c.total_cents + excluded.total_cents,
        weighted_cents = c.weighted_cents + excluded.weighted_cents,
        source_count = c.source_count + excluded.source_count;
END $$;
REVOKE ALL ON FUNCTION capital_wacc_apply(uuid[], text[], integer[], timestamptz[]) FROM PUBLIC;

CREATE FUNCTION capital_history_wacc_snapshot() RETURNS trigger
LANGUAGE plpgsql {DEFINER} AS $$
BEGIN
    PERFORM capital_wacc_apply(array_agg(i.organization_id), array_agg(i.source_id),
                               array_agg(i.first_seq), array_agg(i.from_at))
       FROM (SELECT organization_id, source_id, min(sequence) AS first_seq,
                    min(effective_date) AS from_at
               FROM inserted GROUP BY organization_id, source_id) i;
    RETURN NULL;
END $$;
CREATE TRIGGER capital_history_wacc_snapshot AFTER INSERT ON capital_history
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION capital_history_wacc_snapshot();

-- Backfill: every source from its first entry, nothing old to take away.
SELECT capital_wacc_apply(array_agg(organization_id), array_agg(source_id),
                          array_agg(1), array_agg(added_date))
  FROM capital_source;

ALTER TABLE capital_wacc_day_delta ENABLE ROW LEVEL SECURITY;
ALTER TABLE capital_wacc_day_delta FORCE ROW LEVEL SECURITY;
CREATE POLICY capital_wacc_day_delta_tenant ON capital_wacc_day_delta
    USING (organization_id = {TENANT}) WITH CHECK (organization_id = {TENANT});
"""

DOWNGRADE = """
DROP TRIGGER capital_history_wacc_snapshot ON capital_history;
DROP FUNCTION capital_history_wacc_snapshot();
DROP FUNCTION capital_wacc_apply(uuid[], text[], integer[], timestamptz[]);
DROP FUNCTION capital_wacc_bucket(uuid, text);
DROP TABLE capital_wacc_day_delta;
"""


def upgrade() -> None:
    op.execute(UPGRADE)
    op.execute(f"GRANT SELECT ON capital_wacc_day_delta TO {runtime_role_name()}")


def downgrade() -> None:
    op.execute(DOWNGRADE)
