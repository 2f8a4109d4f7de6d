"""Currencies, dated FX and corporate tax rates; the WACC snapshot per currency and kind.

A source has a currency (ISO 4217) and a kind (`debt` or `equity`), fixed when it is
added: they are carried on its ADDED history entry (`capital_history.currency`,
`.kind`; NULL on every other entry). Entries written without them (every writer
before this revision, the prototype import) get the organization's currency and
`debt` from a row trigger, and existing ADDED entries are given the same. The
organization's `currency` is its reporting currency.

FX rates (`fx_rate`) and corporate tax rates (`corporate_tax_rate`) are dated facts:
append-only (the runtime role may only INSERT and SELECT; a trigger refuses UPDATE
and DELETE to everyone), each with its effective date and the time the database
recorded it (`recorded_at`, stamped with the transaction time for anyone but the
owner), so "as of D, as known at K" picks the rate in force on D among those
recorded by K. RLS by organization, as every tenant table.

The WACC snapshot of 0010 now sums per bucket `<currency>:<kind>` (for example
`KES:debt`): `capital_wacc_bucket()` reads the source's ADDED entry, once per
touched source (`capital_wacc_apply` computes it in its first step instead of per
output row), and the existing rows are rebuilt. Conversion happens when reading,
at the rate in force on each point's day: the stored sums stay exact in each
source's own minor units, and a backdated rate needs no rewrite of the snapshot.

Depends on 0010 (the snapshot and its functions) and 0005 (api_key).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from collections.abc import Sequence

from alembic import op
from capital_app.db.roles import runtime_role_name

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT = "(SELECT nullif(current_setting('app.org_id', true), '')::uuid)"
DEFINER = "SECURITY DEFINER SET search_path = public, pg_temp"
OWNER = "(SELECT relowner::regrole::text FROM pg_class WHERE oid = TG_RELID)"

TERMS = """
ALTER TABLE capital_history
    ADD COLUMN currency char(3) CHECK (currency ~ '^[A-Z]{3}$'),
    ADD COLUMN kind text CHECK (kind IN ('debt', 'equity'));

ALTER TABLE capital_history DISABLE TRIGGER capital_history_append_only;
UPDATE capital_history h SET currency = o.currency, kind = 'debt'
  FROM organization o
 WHERE o.id = h.organization_id AND h.action = 'ADDED';
ALTER TABLE capital_history ENABLE TRIGGER capital_history_append_only;

ALTER TABLE capital_history
    ADD CONSTRAINT capital_history_added_currency
        CHECK ((action = 'ADDED') = (currency IS NOT NULL)),
    ADD CONSTRAINT capital_history_added_kind
        CHECK ((action = 'ADDED') = (kind IS NOT NULL));

-- Runs right after the tenant guard (triggers fire in name order): an ADDED entry
-- without a currency is in the organization's, without a kind it is debt.
CREATE FUNCTION capital_history_default_terms() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.action = 'ADDED' THEN
        IF NEW.currency IS NULL THEN
            NEW.currency := (SELECT o.currency FROM organization o WHERE o.id = NEW.organization_id);
        END IF;
        NEW.kind := coalesce(NEW.kind, 'debt');
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER capital_history_b_default_terms BEFORE INSERT ON capital_history
    FOR EACH ROW EXECUTE FUNCTION capital_history_default_terms();

-- Reads of sources take their terms from the ADDED entry: index-only.
CREATE INDEX capital_history_added_terms_idx ON capital_history (organization_id, source_id)
    INCLUDE (currency, kind) WHERE action = 'ADDED';
"""

FACTS = f"""
CREATE TABLE fx_rate (
    organization_id uuid NOT NULL REFERENCES organization (id),
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    from_currency   char(3) NOT NULL CHECK (from_currency ~ '^[A-Z]{{3}}$'),
    to_currency     char(3) NOT NULL CHECK (to_currency ~ '^[A-Z]{{3}}$'),
    rate            numeric(24, 12) NOT NULL CHECK (rate > 0),
    effective_date  date NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    recorded_by     uuid,
    api_key_id      uuid,
    PRIMARY KEY (organization_id, id),
    CHECK (from_currency <> to_currency),
    FOREIGN KEY (organization_id, recorded_by) REFERENCES app_user (organization_id, id),
    FOREIGN KEY (organization_id, api_key_id) REFERENCES api_key (organization_id, id)
);
CREATE INDEX fx_rate_lookup_idx
    ON fx_rate (organization_id, from_currency, to_currency, effective_date, recorded_at);

CREATE TABLE corporate_tax_rate (
    organization_id uuid NOT NULL REFERENCES organization (id),
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    rate            numeric(10, 6) NOT NULL CHECK (rate >= 0 AND rate < 1),
    effective_date  date NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    recorded_by     uuid,
    api_key_id      uuid,
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, recorded_by) REFERENCES app_user (organization_id, id),
    FOREIGN KEY (organization_id, api_key_id) REFERENCES api_key (organization_id, id)
);
CREATE INDEX corporate_tax_rate_lookup_idx
    ON corporate_tax_rate (organization_id, effective_date, recorded_at);

-- The recording time is the database's: only the owner (restores, fixtures) may give one.
CREATE FUNCTION capital_fact_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.recorded_at IS NULL OR current_user <> {OWNER} THEN
        NEW.recorded_at := now();
    END IF;
    RETURN NEW;
END $$;
CREATE FUNCTION capital_fact_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
"""

FACT_TABLES = ("fx_rate", "corporate_tax_rate")


def _fact_security(role: str) -> str:
    parts = []
    for table in FACT_TABLES:
        parts.append(
            f"""
CREATE TRIGGER {table}_stamp BEFORE INSERT ON {table}
    FOR EACH ROW EXECUTE FUNCTION capital_fact_stamp();
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION capital_fact_reject_change();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION capital_fact_reject_change();
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY {table}_tenant ON {table}
    USING (organization_id = {TENANT}) WITH CHECK (organization_id = {TENANT});
GRANT SELECT, INSERT ON {table} TO {role};
"""
        )
    return "\n".join(parts)


BUCKETS = f"""
CREATE OR REPLACE FUNCTION capital_wacc_bucket(org uuid, source text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE {DEFINER} AS $$
    SELECT h.currency || ':' || h.kind FROM capital_history h
     WHERE h.organization_id = org AND h.source_id = source AND h.action = 'ADDED'
$$;
REVOKE ALL ON FUNCTION capital_wacc_bucket(uuid, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION capital_wacc_apply(orgs uuid[], sources text[], first_seqs integer[],
                                   froms timestamptz[]) RETURNS void
LANGUAGE plpgsql {DEFINER} AS $$
BEGIN
    WITH touched AS (
        SELECT t.org, t.source_id, t.first_seq,
               capital_wacc_bucket(t.org, t.source_id) AS bucket,
               (date_trunc('day', t.from_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS day_start
          FROM unnest(orgs, sources, first_seqs, froms) AS t(org, source_id, first_seq, from_at)
    ),
    scanned AS (
        SELECT t.org, t.source_id, t.first_seq, t.bucket, h.sequence, h.action, h.effective_date,
               h.available_cents, h.annual_rate
          FROM touched t
          JOIN capital_history h
            ON h.organization_id = t.org AND h.source_id = t.source_id
           AND h.effective_date >= t.day_start
        UNION
        SELECT t.org, t.source_id, t.first_seq, t.bucket, b.sequence, b.action, b.effective_date,
               b.available_cents, b.annual_rate
          FROM touched t
          CROSS JOIN LATERAL (
               SELECT h.sequence, h.action, h.effective_date, h.available_cents, h.annual_rate
                 FROM capital_history h
                WHERE h.organization_id = t.org AND h.source_id = t.source_id
                  AND h.action IN ('ADDED', 'AMOUNT_CHANGED') AND h.effective_date < t.day_start
                ORDER BY h.effective_date DESC, h.sequence DESC LIMIT 1) b
        UNION
        SELECT t.org, t.source_id, t.first_seq, t.bucket, b.sequence, b.action, b.effective_date,
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
        SELECT g.org, g.source_id, g.bucket, g.new, g.day, g.removed, g.from_end,
               first_value(g.available_cents) OVER (
                   PARTITION BY g.org, g.source_id, g.new, g.amount_group
                   ORDER BY g.effective_date, g.sequence) AS amount,
               first_value(g.annual_rate) OVER (
                   PARTITION BY g.org, g.source_id, g.new, g.rate_group
                   ORDER BY g.effective_date, g.sequence) AS rate
          FROM grouped g
    ),
    end_of_day AS (
        SELECT v.org, v.source_id, v.bucket, v.new, v.day,
               CASE WHEN v.removed THEN 0 ELSE v.amount END::numeric AS total,
               CASE WHEN v.removed THEN 0 ELSE v.amount * v.rate END AS weighted,
               CASE WHEN v.removed THEN 0 ELSE 1 END AS counted
          FROM valued v WHERE v.from_end = 1
    ),
    deltas AS (
        SELECT e.org, e.bucket, e.day,
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
"""

REBUILD = """
DELETE FROM capital_wacc_day_delta;
SELECT capital_wacc_apply(array_agg(organization_id), array_agg(source_id),
                          array_agg(1), array_agg(added_date))
  FROM capital_source;
"""

UNBUCKETS = f"""
CREATE OR REPLACE FUNCTION capital_wacc_bucket(org uuid, source text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ''::text $$;
GRANT EXECUTE ON FUNCTION capital_wacc_bucket(uuid, text) TO PUBLIC;

CREATE OR REPLACE FUNCTION capital_wacc_apply(orgs uuid[], sources text[], first_seqs integer[],
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
"""

DOWNGRADE_FACTS = """
DROP TABLE corporate_tax_rate;
DROP TABLE fx_rate;
DROP FUNCTION capital_fact_reject_change();
DROP FUNCTION capital_fact_stamp();
"""

DOWNGRADE_TERMS = """
DROP INDEX capital_history_added_terms_idx;
DROP TRIGGER capital_history_b_default_terms ON capital_history;
DROP FUNCTION capital_history_default_terms();
ALTER TABLE capital_history
    DROP CONSTRAINT capital_history_added_currency,
    DROP CONSTRAINT capital_history_added_kind,
    DROP COLUMN currency,
    DROP COLUMN kind;
"""


def upgrade() -> None:
    op.execute(TERMS)
    op.execute(FACTS)
    op.execute(_fact_security(runtime_role_name()))
    op.execute(BUCKETS)
    op.execute(REBUILD)


def downgrade() -> None:
    op.execute(UNBUCKETS)
    op.execute(REBUILD)
    op.execute(DOWNGRADE_FACTS)
    op.execute(DOWNGRADE_TERMS)
