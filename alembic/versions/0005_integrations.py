"""Integrators: API keys with scopes, and entries that name the key that wrote them.

An API key belongs to an organization, is created by one of its ADMINs, and is
stored only as the SHA-256 of its secret (the secret has 256 bits of entropy, so
a fast hash is enough; a slow one would cost every request). The hash is looked
up before the organization is known, the way a sign-in finds a user by email: a
transaction that sets `app.api_key_hash` may read the one key with that hash.
The runtime role may change only the revocation and last-use columns: a stored
hash, scope or expiry can never be rewritten.

History entries written with a key carry its id and name (`api_key_id`,
`api_key_name`), so "who made this" answers the key, not a person.

The recording-time trigger of 0003 names the row's author; it is replaced here so
that an entry written with a key is authored `api-key:<id>` (its `recorded_by`
stays the ADMIN who created the key) and carries the key's stored name, whatever
the caller sent. Its downgrade puts 0003's trigger body back.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op
from capital_app.db.roles import runtime_role_name

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT = "(SELECT nullif(current_setting('app.org_id', true), '')::uuid)"
KEY_HASH = "(SELECT nullif(current_setting('app.api_key_hash', true), ''))"

TABLES = """
CREATE TABLE api_key (
    organization_id uuid NOT NULL REFERENCES organization (id),
    id              uuid NOT NULL,
    name            text NOT NULL CHECK (name = btrim(name) AND length(name) BETWEEN 1 AND 200),
    prefix          text NOT NULL CHECK (prefix ~ '^clk_live_[A-Za-z0-9_-]{8}$'),
    secret_sha256   text NOT NULL CHECK (secret_sha256 ~ '^[0-9a-f]{64}$'),
    scopes          text[] NOT NULL
                    CHECK (cardinality(scopes) BETWEEN 1 AND 3
                           AND scopes <@ ARRAY['read', 'write', 'admin']::text[]),
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,
    last_used_at    timestamptz,
    revoked_at      timestamptz,
    revoked_by      uuid,
    PRIMARY KEY (organization_id, id),
    CHECK (expires_at IS NULL OR expires_at > created_at),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL)),
    FOREIGN KEY (organization_id, created_by) REFERENCES app_user (organization_id, id),
    FOREIGN KEY (organization_id, revoked_by) REFERENCES app_user (organization_id, id)
);
-- The one index not led by organization_id: a presented key is found by its hash
-- alone (the organization is what the key tells us).
CREATE UNIQUE INDEX api_key_secret_key ON api_key (secret_sha256);
CREATE INDEX api_key_created_idx ON api_key (organization_id, created_at);

ALTER TABLE capital_history
    ADD COLUMN api_key_id uuid,
    ADD COLUMN api_key_name text CHECK (length(api_key_name) BETWEEN 1 AND 200),
    ADD CONSTRAINT capital_history_api_key_named
        CHECK ((api_key_id IS NULL) = (api_key_name IS NULL)),
    ADD CONSTRAINT capital_history_api_key_fkey
        FOREIGN KEY (organization_id, api_key_id) REFERENCES api_key (organization_id, id);
"""


def _security(role: str) -> str:
    return f"""
ALTER TABLE api_key ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_key FORCE ROW LEVEL SECURITY;
CREATE POLICY api_key_tenant ON api_key
    USING (organization_id = {TENANT}) WITH CHECK (organization_id = {TENANT});
CREATE POLICY api_key_lookup ON api_key FOR SELECT USING (secret_sha256 = {KEY_HASH});
GRANT SELECT, INSERT ON api_key TO {role};
GRANT UPDATE (last_used_at, revoked_at, revoked_by) ON api_key TO {role};
"""


# 0003's stamp, extended: the database, not the caller, says which key wrote a row.
# Run as the caller (like 0003's), so the key is read under the tenant's RLS policy.
STAMP_WITH_KEY = """
CREATE OR REPLACE FUNCTION capital_history_stamp_recording() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.created_at IS NULL OR current_user <> (
        SELECT relowner::regrole::text FROM pg_class WHERE oid = TG_RELID) THEN
        NEW.created_at := now();
    END IF;
    IF NEW.api_key_id IS NOT NULL THEN
        NEW.api_key_name := (SELECT k.name FROM api_key k
                              WHERE k.organization_id = NEW.organization_id
                                AND k.id = NEW.api_key_id);
        NEW.created_by := 'api-key:' || NEW.api_key_id::text;
    ELSIF NEW.recorded_by IS NOT NULL THEN
        NEW.created_by := NEW.recorded_by::text;
    END IF;
    RETURN NEW;
END $$;
"""

STAMP_WITHOUT_KEY = """
CREATE OR REPLACE FUNCTION capital_history_stamp_recording() RETURNS trigger
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
"""


def upgrade() -> None:
    op.execute(TABLES)
    op.execute(_security(runtime_role_name()))
    op.execute(STAMP_WITH_KEY)


def downgrade() -> None:
    op.execute(STAMP_WITHOUT_KEY)
    op.execute(
        """
ALTER TABLE capital_history
    DROP CONSTRAINT capital_history_api_key_fkey,
    DROP CONSTRAINT capital_history_api_key_named,
    DROP COLUMN api_key_name,
    DROP COLUMN api_key_id;
DROP TABLE api_key;
"""
    )
