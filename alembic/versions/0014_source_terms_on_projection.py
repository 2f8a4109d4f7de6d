"""A source's currency and kind on its capital_source projection row.

Migration 0013 put a source's terms (currency, kind) on its ADDED history entry only,
so every read that lists sources looked them up there: one probe into
capital_history per source (1,000 at a time at 1,000,000 entries), or all the
organization's ADDED entries, on every request (issue 12: 15–40 ms of a read's SQL).
The terms never change after the ADDED entry (history is append-only and only ADDED
carries them), so the projection can hold them as it holds `added_date`:

- `capital_source.currency` and `.kind`, NOT NULL, with the same checks as on the
  history entry, filled from the ADDED entry by the projection's own insert trigger
  (`capital_history_before_insert`, which creates the row from that entry; it runs
  after `capital_history_b_default_terms`, so the organization's currency and `debt`
  defaults are already applied). Existing rows are filled from their ADDED entries.
- Grants and RLS are the projection's as they are: the runtime role may only SELECT
  (0003 revoked its writes), the tenant policy covers every column, and the trigger
  function stays SECURITY DEFINER with a fixed search_path (0003).

The WACC snapshot's buckets (`capital_wacc_bucket`, 0013) still read the ADDED entry:
the same value, so nothing stored changes.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFINER = "SECURITY DEFINER SET search_path = public, pg_temp"

_COLUMNS = """organization_id, source_id, name, annual_rate, available_cents, status,
            added_date, removed_date, rate_effective_date, amount_effective_date,
            last_effective_date, latest_sequence, latest_entry_id, revision"""
_VALUES = """NEW.organization_id, NEW.source_id, NEW.name, NEW.annual_rate, NEW.available_cents,
            'ACTIVE', NEW.effective_date, NULL, NEW.effective_date, NEW.effective_date,
            NEW.effective_date, NEW.sequence, NEW.id, NEW.revision"""


def _before_insert(columns: str, values: str) -> str:
    """The row trigger of 0001 (SECURITY DEFINER since 0003); only the projection row an
    ADDED entry creates differs between 0013 and 0014."""
    return f"""
CREATE OR REPLACE FUNCTION capital_history_before_insert() RETURNS trigger
LANGUAGE plpgsql {DEFINER} AS $$
DECLARE
    src capital_source%ROWTYPE;
BEGIN
    IF NEW.effective_date > clock_timestamp() THEN
        RAISE EXCEPTION 'effective date % is in the future', NEW.effective_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'capital_history_effective_not_future';
    END IF;
    NEW.revision := capital_transaction_revision(NEW.organization_id);
    NEW.id := coalesce(NEW.id, gen_random_uuid()::text);

    SELECT * INTO src FROM capital_source
     WHERE organization_id = NEW.organization_id AND source_id = NEW.source_id
       FOR UPDATE;

    IF NEW.action = 'ADDED' THEN
        IF FOUND THEN
            RAISE EXCEPTION 'source % was already added', NEW.source_id
                USING ERRCODE = 'unique_violation', CONSTRAINT = 'capital_history_one_added_key';
        END IF;
        NEW.sequence := coalesce(NEW.sequence, 1);
        INSERT INTO capital_source (
            {columns})
        VALUES (
            {values});
        RETURN NEW;
    END IF;

    IF NOT FOUND THEN
        RAISE EXCEPTION 'source % has no ADDED entry', NEW.source_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'capital_history_source_added';
    END IF;
    IF src.status = 'REMOVED' THEN
        RAISE EXCEPTION 'source % was removed on %', NEW.source_id, src.removed_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'capital_history_nothing_after_removed';
    END IF;
    NEW.sequence := coalesce(NEW.sequence, src.latest_sequence + 1);
    IF NEW.sequence <> src.latest_sequence + 1 THEN
        RAISE EXCEPTION 'sequence % of source % does not follow %',
            NEW.sequence, NEW.source_id, src.latest_sequence
            USING ERRCODE = 'check_violation', CONSTRAINT = 'capital_history_sequence_gapless';
    END IF;
    IF NEW.effective_date < src.added_date THEN
        RAISE EXCEPTION 'effective date % is before source % was added on %',
            NEW.effective_date, NEW.source_id, src.added_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'capital_history_not_before_added';
    END IF;
    IF NEW.action = 'REMOVED' AND NEW.effective_date < src.last_effective_date THEN
        RAISE EXCEPTION 'removal on % would precede a change on %',
            NEW.effective_date, src.last_effective_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'capital_history_nothing_after_removed';
    END IF;

    -- Fold one event into the current state. Events order by (effective_date,
    -- sequence); the new event has the highest sequence, so it wins ties.
    UPDATE capital_source SET
        available_cents = CASE WHEN NEW.action = 'AMOUNT_CHANGED'
                                AND NEW.effective_date >= src.amount_effective_date
                               THEN NEW.available_cents ELSE src.available_cents END,
        amount_effective_date = CASE WHEN NEW.action = 'AMOUNT_CHANGED'
                                THEN greatest(src.amount_effective_date, NEW.effective_date)
                                ELSE src.amount_effective_date END,
        annual_rate = CASE WHEN NEW.action = 'RATE_CHANGED'
                            AND NEW.effective_date >= src.rate_effective_date
                           THEN NEW.annual_rate ELSE src.annual_rate END,
        rate_effective_date = CASE WHEN NEW.action = 'RATE_CHANGED'
                              THEN greatest(src.rate_effective_date, NEW.effective_date)
                              ELSE src.rate_effective_date END,
        status = CASE WHEN NEW.action = 'REMOVED' THEN 'REMOVED' ELSE src.status END,
        removed_date = CASE WHEN NEW.action = 'REMOVED' THEN NEW.effective_date END,
        last_effective_date = greatest(src.last_effective_date, NEW.effective_date),
        latest_sequence = NEW.sequence,
        latest_entry_id = NEW.id,
        revision = NEW.revision
     WHERE organization_id = NEW.organization_id AND source_id = NEW.source_id;
    RETURN NEW;
END $$;
"""


UPGRADE = f"""
ALTER TABLE capital_source
    ADD COLUMN currency char(3) CONSTRAINT capital_source_currency CHECK (currency ~ '^[A-Z]{{3}}$'),
    ADD COLUMN kind text CONSTRAINT capital_source_kind CHECK (kind IN ('debt', 'equity'));

UPDATE capital_source s SET currency = h.currency, kind = h.kind
  FROM capital_history h
 WHERE h.organization_id = s.organization_id AND h.source_id = s.source_id
   AND h.action = 'ADDED';

ALTER TABLE capital_source
    ALTER COLUMN currency SET NOT NULL,
    ALTER COLUMN kind SET NOT NULL;

{_before_insert(_COLUMNS + ", currency, kind", _VALUES + ", NEW.currency, NEW.kind")}
"""

DOWNGRADE = f"""
{_before_insert(_COLUMNS, _VALUES)}

ALTER TABLE capital_source DROP COLUMN currency, DROP COLUMN kind;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
