"""Security hardening: the database stamps recording times and authors.

Recording time. `capital_history.created_at` is what "as known at" answers
filter on, so whoever can choose it can rewrite the past. From now on a row
trigger sets it to the transaction time (`now()`) for every insert made by
anyone but the table owner; the owner (migrations, restores, test fixtures of
past recordings) may still supply one. The row's author (`created_by`) is its
`recorded_by` user whenever that is known. What an imported file said about
itself — the prototype's `createdAt` and `createdBy` — is kept in columns of
its own, `original_created_at` and `original_created_by`, shown as "originally
recorded … by …" and written back out by the export, so export → import →
export stays lossless.

Rows imported before this revision carried the file's claims in `created_at`
and `created_by`: they move to the `original_*` columns, and the recording
time becomes the import's time (its import_log row), the author the importer.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = """
ALTER TABLE capital_history
    ADD COLUMN original_created_at timestamptz,
    ADD COLUMN original_created_by text CHECK (length(original_created_by) <= 320);

-- Fires after the other BEFORE INSERT triggers (they run in name order), so the
-- stamp is the last word on the row.
CREATE FUNCTION capital_history_stamp_recording() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.created_at IS NULL OR current_user <> (
        SELECT relowner::regrole::text FROM pg_class WHERE oid = TG_RELID) THEN
        NEW.created_at := now();
    END IF;
    IF NEW.recorded_by IS NOT NULL THEN
        NEW.created_by := NEW.recorded_by::text;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER capital_history_stamp_recording BEFORE INSERT ON capital_history
    FOR EACH ROW EXECUTE FUNCTION capital_history_stamp_recording();

ALTER TABLE capital_history DISABLE TRIGGER capital_history_append_only;
UPDATE capital_history h SET
    original_created_at = h.created_at,
    original_created_by = h.created_by,
    created_at = l.imported_at,
    created_by = coalesce(h.recorded_by::text, h.created_by)
  FROM import_log l
 WHERE l.organization_id = h.organization_id AND l.id = h.import_id;
ALTER TABLE capital_history ENABLE TRIGGER capital_history_append_only;
"""

UNSTAMP = """
ALTER TABLE capital_history DISABLE TRIGGER capital_history_append_only;
UPDATE capital_history SET created_at = original_created_at, created_by = original_created_by
 WHERE import_id IS NOT NULL AND original_created_at IS NOT NULL;
ALTER TABLE capital_history ENABLE TRIGGER capital_history_append_only;
DROP TRIGGER capital_history_stamp_recording ON capital_history;
DROP FUNCTION capital_history_stamp_recording();
ALTER TABLE capital_history DROP COLUMN original_created_at, DROP COLUMN original_created_by;
"""


def upgrade() -> None:
    op.execute(STAMP)


def downgrade() -> None:
    op.execute(UNSTAMP)
