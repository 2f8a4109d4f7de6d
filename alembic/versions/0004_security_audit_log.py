"""The security audit log: who signed in, who changed whom, what was imported or exported.

Append-only like capital_history: a trigger refuses UPDATE, DELETE and TRUNCATE
for every role (the owner and superusers included; triggers fire for them too),
the runtime role is granted SELECT and INSERT only, and row-level security
(FORCEd, so the owner is bound as well) keeps each organization's events to
itself. Sign-in attempts are written before an organization is known, inside the
login transaction: the same rule as auth_event admits only rows for the email
being tried.

`action` is a dotted name (`user.role_changed`); new actions (API keys, ...) need
no migration. `details` holds the action's values (old and new role, file hash
and counts, ...) as JSON; never secrets.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op
from capital_app.db.roles import runtime_role_name

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT = "(SELECT nullif(current_setting('app.org_id', true), '')::uuid)"
LOGIN_EMAIL = "(SELECT nullif(current_setting('app.login_email', true), ''))"

UPGRADE = f"""
CREATE TABLE audit_event (
    id              bigint GENERATED ALWAYS AS IDENTITY,
    organization_id uuid REFERENCES organization (id),
    occurred_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    action          text NOT NULL CHECK (action ~ '^[a-z]+(\\.[a-z_]+)+$' AND length(action) <= 60),
    actor_user_id   uuid,
    actor_email     text CHECK (length(actor_email) <= 320),
    subject_user_id uuid,
    client_address  text CHECK (length(client_address) <= 100),
    details         jsonb NOT NULL DEFAULT '{{}}'::jsonb CHECK (jsonb_typeof(details) = 'object'),
    PRIMARY KEY (id)
);
CREATE INDEX audit_event_org_idx ON audit_event (organization_id, occurred_at, id);
CREATE INDEX audit_event_org_action_idx ON audit_event (organization_id, action, occurred_at);

CREATE FUNCTION audit_event_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_reject_change();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_reject_change();

ALTER TABLE audit_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_event FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_event_tenant ON audit_event
    USING (organization_id = {TENANT}) WITH CHECK (organization_id = {TENANT});
CREATE POLICY audit_event_login_write ON audit_event FOR INSERT
    WITH CHECK (actor_email = {LOGIN_EMAIL} AND (organization_id IS NULL
                OR organization_id IN (SELECT organization_id FROM app_user
                                        WHERE email = {LOGIN_EMAIL})));
"""


def upgrade() -> None:
    op.execute(UPGRADE)
    op.execute(f"GRANT SELECT, INSERT ON audit_event TO {runtime_role_name()}")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS audit_event")
    op.execute("DROP FUNCTION IF EXISTS audit_event_reject_change()")
