"""Bulk inserts into capital_history: the same rules, checked and folded per statement.

The row trigger of 0001 folds each new entry into its capital_source row at
once. That is right for the app's one-entry commands, but an import of 100,000
entries then updates the same few hundred projection rows 100,000 times inside
one transaction; every update leaves a row version that later lookups must
step over, and the write takes several times longer than the inserts themselves.

A transaction may now set `capital.bulk_insert = 'on'` (transaction-local).
Then, for every entry except ADDED (which still goes through the 0001 trigger
unchanged), the row trigger checks only what one row can show — not in the
future, the source exists and is not removed, not before its ADDED date, an
explicit sequence beyond the source's latest — and an AFTER STATEMENT trigger
checks the rest over all of the statement's new entries of each source, in
sequence order: sequences gapless after the stored latest one, nothing after a
REMOVED, no removal effective before an earlier change. Then it folds them
into the projection with one UPDATE per source: the same fold as the row
trigger (for each term, the entry with the latest (effective date, sequence)
wins if it is not older than the stored one).

The statement trigger does not trust the setting: on every insert statement it
looks for new entries the projection has not folded yet (sequence beyond the
stored latest) and checks and folds exactly those. So no setting, however it is
changed during a statement, lets an entry in unchecked. Errors carry the same
constraint names as 0001, so the app reports them the same way.

One difference, on the strict side: a source removed and a same-named source
added in the same bulk statement collide on the unique active-name index (the
removal is folded at the end of the statement). The importer puts them in
separate statements.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BULK = "current_setting('capital.bulk_insert', true) = 'on'"

UPGRADE = f"""
CREATE FUNCTION capital_history_before_insert_bulk() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    src capital_source%ROWTYPE;
BEGIN
    IF NEW.effective_date > clock_timestamp() THEN
        RAISE EXCEPTION 'effective date % is in the future', NEW.effective_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'capital_history_effective_not_future';
    END IF;
    NEW.revision := capital_transaction_revision(NEW.organization_id);
    NEW.id := coalesce(NEW.id, gen_random_uuid()::text);

    -- Locked, not updated: the statement trigger folds this entry in.
    SELECT * INTO src FROM capital_source
     WHERE organization_id = NEW.organization_id AND source_id = NEW.source_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'source % has no ADDED entry', NEW.source_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'capital_history_source_added';
    END IF;
    IF src.status = 'REMOVED' THEN
        RAISE EXCEPTION 'source % was removed on %', NEW.source_id, src.removed_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'capital_history_nothing_after_removed';
    END IF;
    IF NEW.sequence IS NULL OR NEW.sequence <= src.latest_sequence THEN
        RAISE EXCEPTION 'sequence % of source % does not follow %',
            NEW.sequence, NEW.source_id, src.latest_sequence
            USING ERRCODE = 'check_violation', CONSTRAINT = 'capital_history_sequence_gapless';
    END IF;
    IF NEW.effective_date < src.added_date THEN
        RAISE EXCEPTION 'effective date % is before source % was added on %',
            NEW.effective_date, NEW.source_id, src.added_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'capital_history_not_before_added';
    END IF;
    RETURN NEW;
END $$;

-- Entries of this statement not yet folded (sequence beyond the projection's), each
-- with its place among its source's pending entries and what came before it.
CREATE FUNCTION capital_history_fold_statement() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM inserted i
          JOIN capital_source s
            ON s.organization_id = i.organization_id AND s.source_id = i.source_id
         WHERE i.sequence > s.latest_sequence) THEN
        RETURN NULL;  -- every row was folded by the row trigger
    END IF;

    SELECT * INTO bad FROM (
        SELECT p.source_id, p.sequence, p.effective_date, p.latest_sequence,
               CASE
                 WHEN p.sequence <> p.latest_sequence + p.position THEN 'gap'
                 WHEN p.status = 'REMOVED' OR p.sequence > p.removed_sequence THEN 'removed'
                 WHEN p.action = 'REMOVED'
                      AND p.effective_date < greatest(p.last_effective_date, p.earlier_latest)
                   THEN 'early removal'
               END AS problem
          FROM (
            SELECT i.source_id, i.sequence, i.action, i.effective_date,
                   s.latest_sequence, s.status, s.last_effective_date,
                   row_number() OVER source_order AS position,
                   max(i.effective_date) OVER (source_order ROWS BETWEEN UNBOUNDED PRECEDING
                                               AND 1 PRECEDING) AS earlier_latest,
                   min(i.sequence) FILTER (WHERE i.action = 'REMOVED')
                       OVER (PARTITION BY i.source_id) AS removed_sequence
              FROM inserted i
              JOIN capital_source s
                ON s.organization_id = i.organization_id AND s.source_id = i.source_id
             WHERE i.sequence > s.latest_sequence
            WINDOW source_order AS (PARTITION BY i.source_id ORDER BY i.sequence)
          ) p
    ) checked
     WHERE checked.problem IS NOT NULL
     ORDER BY checked.source_id, checked.sequence
     LIMIT 1;

    IF FOUND THEN
        IF bad.problem = 'gap' THEN
            RAISE EXCEPTION 'sequence % of source % does not follow %',
                bad.sequence, bad.source_id, bad.latest_sequence
                USING ERRCODE = 'check_violation', CONSTRAINT = 'capital_history_sequence_gapless';
        ELSIF bad.problem = 'removed' THEN
            RAISE EXCEPTION 'source % is changed after its removal (sequence %)',
                bad.source_id, bad.sequence
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'capital_history_nothing_after_removed';
        ELSE
            RAISE EXCEPTION 'removal of source % on % would precede an earlier change',
                bad.source_id, bad.effective_date
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'capital_history_nothing_after_removed';
        END IF;
    END IF;

    -- The fold, per source: for each term the pending entry with the latest
    -- (effective date, sequence) wins unless the stored term is newer.
    UPDATE capital_source s SET
        available_cents = CASE WHEN u.amount_date >= s.amount_effective_date
                               THEN u.amount ELSE s.available_cents END,
        amount_effective_date = greatest(s.amount_effective_date, u.amount_date),
        annual_rate = CASE WHEN u.rate_date >= s.rate_effective_date
                           THEN u.rate ELSE s.annual_rate END,
        rate_effective_date = greatest(s.rate_effective_date, u.rate_date),
        status = CASE WHEN u.removed_date IS NOT NULL THEN 'REMOVED' ELSE s.status END,
        removed_date = coalesce(u.removed_date, s.removed_date),
        last_effective_date = greatest(s.last_effective_date, u.last_effective_date),
        latest_sequence = u.latest_sequence,
        latest_entry_id = u.latest_entry_id,
        revision = u.revision
      FROM (
        SELECT i.organization_id, i.source_id,
               max(i.sequence) AS latest_sequence,
               (array_agg(i.id ORDER BY i.sequence DESC))[1] AS latest_entry_id,
               max(i.revision) AS revision,
               max(i.effective_date) AS last_effective_date,
               (array_agg(i.available_cents ORDER BY i.effective_date DESC, i.sequence DESC)
                   FILTER (WHERE i.action = 'AMOUNT_CHANGED'))[1] AS amount,
               max(i.effective_date) FILTER (WHERE i.action = 'AMOUNT_CHANGED') AS amount_date,
               (array_agg(i.annual_rate ORDER BY i.effective_date DESC, i.sequence DESC)
                   FILTER (WHERE i.action = 'RATE_CHANGED'))[1] AS rate,
               max(i.effective_date) FILTER (WHERE i.action = 'RATE_CHANGED') AS rate_date,
               max(i.effective_date) FILTER (WHERE i.action = 'REMOVED') AS removed_date
          FROM inserted i
          JOIN capital_source c
            ON c.organization_id = i.organization_id AND c.source_id = i.source_id
         WHERE i.sequence > c.latest_sequence
         GROUP BY i.organization_id, i.source_id
      ) u
     WHERE s.organization_id = u.organization_id AND s.source_id = u.source_id;
    RETURN NULL;
END $$;

DROP TRIGGER capital_history_before_insert ON capital_history;
CREATE TRIGGER capital_history_before_insert BEFORE INSERT ON capital_history
    FOR EACH ROW WHEN (NEW.action = 'ADDED' OR NOT coalesce({BULK}, false))
    EXECUTE FUNCTION capital_history_before_insert();
CREATE TRIGGER capital_history_before_insert_bulk BEFORE INSERT ON capital_history
    FOR EACH ROW WHEN (NEW.action <> 'ADDED' AND coalesce({BULK}, false))
    EXECUTE FUNCTION capital_history_before_insert_bulk();
CREATE TRIGGER capital_history_fold_statement AFTER INSERT ON capital_history
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION capital_history_fold_statement();
"""

DOWNGRADE = """
DROP TRIGGER capital_history_fold_statement ON capital_history;
DROP TRIGGER capital_history_before_insert_bulk ON capital_history;
DROP TRIGGER capital_history_before_insert ON capital_history;
CREATE TRIGGER capital_history_before_insert BEFORE INSERT ON capital_history
    FOR EACH ROW EXECUTE FUNCTION capital_history_before_insert();
DROP FUNCTION capital_history_fold_statement();
DROP FUNCTION capital_history_before_insert_bulk();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
