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

A login role of its own. The runtime pool logged in as the owner (a superuser
in the documented setup) and only `SET ROLE` kept it in check, so any SQL
injection could `RESET ROLE` past RLS. Now it logs in as `<runtime role>_login`:
LOGIN, no superuser, NOINHERIT (no rights until it sets the runtime role), a
member of the runtime role only. `capital-app migrate` gives it the
installation's password. Roles are cluster-wide, so the downgrade keeps it
(other databases of the server may use it; it holds no rights by itself).

The projection is the database's own. The insert triggers trust capital_source,
so the runtime role may no longer write it: no INSERT, UPDATE or DELETE. The
triggers that maintain it run as their owner (SECURITY DEFINER, fixed
search_path), and the one row lock the commands need on it is taken through
`capital_source_lock`, which only reaches the caller's own organization.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op
from capital_app.db.roles import login_role_name, runtime_role_name

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


TRIGGER_FUNCTIONS = (
    "capital_history_before_insert()",
    "capital_history_before_insert_bulk()",
    "capital_history_fold_statement()",
)

TENANT = "(SELECT nullif(current_setting('app.org_id', true), '')::uuid)"
LOGIN_EMAIL = "(SELECT nullif(current_setting('app.login_email', true), ''))"


def _login_role(role: str, login: str) -> str:
    definer = "\n".join(
        f"ALTER FUNCTION {f} SECURITY DEFINER SET search_path = public, pg_temp;"
        for f in TRIGGER_FUNCTIONS
    )
    return f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{login}') THEN
        CREATE ROLE {login} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE
            NOREPLICATION NOINHERIT;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
DO $$ BEGIN
    GRANT {role} TO {login};
EXCEPTION WHEN OTHERS THEN NULL;  -- already a member (or a concurrent grant won)
END $$;

REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON capital_source FROM {role};
{definer}

-- The definer triggers see every organization; this one, first in name order and
-- run as the caller, stops a row of another organization before they touch anything.
CREATE FUNCTION capital_history_tenant_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.organization_id IS DISTINCT FROM {TENANT} AND current_user <> (
        SELECT relowner::regrole::text FROM pg_class WHERE oid = TG_RELID) THEN
        RAISE EXCEPTION 'organization % has no revision counter or is not visible',
            NEW.organization_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER capital_history_a_tenant_guard BEFORE INSERT ON capital_history
    FOR EACH ROW EXECUTE FUNCTION capital_history_tenant_guard();

-- The commands' row lock on one source (FOR UPDATE needs UPDATE rights otherwise).
CREATE FUNCTION capital_source_lock(org uuid, source text) RETURNS SETOF capital_source
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT * FROM capital_source
     WHERE organization_id = org AND source_id = source AND organization_id = {TENANT}
       FOR UPDATE
$$;
REVOKE ALL ON FUNCTION capital_source_lock(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION capital_source_lock(uuid, text) TO {role};

-- Sign-in reserves its attempt (reason 'checking', counted as a failure) before the
-- password check and settles it after: only such a row may change, and only once.
GRANT UPDATE (succeeded, reason) ON auth_event TO {role};
CREATE POLICY auth_event_login_settle ON auth_event FOR UPDATE
    USING (email = {LOGIN_EMAIL}) WITH CHECK (email = {LOGIN_EMAIL});
-- Every call checks the caller's latest sign-out: one index probe.
CREATE INDEX auth_event_sign_out_idx ON auth_event (organization_id, user_id, occurred_at)
    WHERE reason = 'signed out';
CREATE POLICY auth_event_only_pending_changes ON auth_event AS RESTRICTIVE FOR UPDATE
    USING (reason = 'checking') WITH CHECK (reason <> 'checking');
"""


def _no_login_role(role: str) -> str:
    invoker = "\n".join(
        f"ALTER FUNCTION {f} SECURITY INVOKER RESET search_path;" for f in TRIGGER_FUNCTIONS
    )
    return f"""
DROP POLICY auth_event_only_pending_changes ON auth_event;
DROP INDEX auth_event_sign_out_idx;
DROP POLICY auth_event_login_settle ON auth_event;
REVOKE UPDATE (succeeded, reason) ON auth_event FROM {role};
DROP TRIGGER capital_history_a_tenant_guard ON capital_history;
DROP FUNCTION capital_history_tenant_guard();
DROP FUNCTION capital_source_lock(uuid, text);
{invoker}
GRANT INSERT, UPDATE ON capital_source TO {role};
"""


def upgrade() -> None:
    op.execute(STAMP)
    op.execute(_login_role(runtime_role_name(), login_role_name()))


def downgrade() -> None:
    op.execute(_no_login_role(runtime_role_name()))
    op.execute(UNSTAMP)
