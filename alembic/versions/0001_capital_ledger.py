"""The capital ledger: tenants, users, append-only history, projection, security.

Hand-written: the interesting parts (triggers, RLS, grants, the runtime role) are
beyond what autogenerate sees. Everything a tenant owns carries organization_id,
and every index on such a table leads with it.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op
from capital_app.db.roles import runtime_role_name

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT = "(SELECT nullif(current_setting('app.org_id', true), '')::uuid)"
LOGIN_EMAIL = "(SELECT nullif(current_setting('app.login_email', true), ''))"
LOGIN_CLIENT = "(SELECT nullif(current_setting('app.login_client', true), ''))"
ORG_NAME = "(SELECT nullif(current_setting('app.org_name', true), ''))"
MAX_CENTS = "1000000000000000"

TABLES = """
CREATE TABLE organization (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (name = btrim(name) AND length(name) BETWEEN 1 AND 200),
    currency    char(3) NOT NULL DEFAULT 'KES' CHECK (currency ~ '^[A-Z]{3}$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX organization_name_key ON organization (lower(name));

CREATE TABLE organization_revision (
    organization_id uuid PRIMARY KEY REFERENCES organization (id),
    revision        bigint NOT NULL DEFAULT 0 CHECK (revision >= 0)
);

CREATE TABLE app_user (
    organization_id uuid NOT NULL REFERENCES organization (id),
    id              uuid NOT NULL,
    email           text NOT NULL CHECK (email = lower(btrim(email))
                                         AND length(email) BETWEEN 3 AND 320
                                         AND position('@' in email) > 1),
    name            text NOT NULL CHECK (name = btrim(name) AND length(name) BETWEEN 1 AND 200),
    role            text NOT NULL CHECK (role IN ('ADMIN', 'EDITOR', 'VIEWER')),
    password_hash   text NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id)
);
-- The one index not led by organization_id: an email is a global login identity,
-- so signing in finds the organization from the email alone.
CREATE UNIQUE INDEX app_user_email_key ON app_user (email);

CREATE TABLE import_log (
    organization_id uuid NOT NULL REFERENCES organization (id),
    id              uuid NOT NULL,
    imported_by     uuid NOT NULL,
    imported_at     timestamptz NOT NULL DEFAULT now(),
    file_name       text,
    content_sha256  text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    entries_in_file integer NOT NULL CHECK (entries_in_file >= 0),
    imported_count  integer NOT NULL CHECK (imported_count >= 0),
    skipped_count   integer NOT NULL CHECK (skipped_count >= 0),
    revision        bigint,
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, imported_by) REFERENCES app_user (organization_id, id)
);
CREATE INDEX import_log_imported_at_idx ON import_log (organization_id, imported_at);

-- The projection: one row per source with its current terms. Maintained by the
-- history insert trigger in the same transaction; rebuildable from history.
CREATE TABLE capital_source (
    organization_id       uuid NOT NULL REFERENCES organization (id),
    source_id             text NOT NULL,
    name                  text NOT NULL,
    annual_rate           numeric(10, 6) NOT NULL CHECK (annual_rate BETWEEN 0 AND 1),
    available_cents       bigint NOT NULL CHECK (available_cents BETWEEN 1 AND {max_cents}),
    status                text NOT NULL CHECK (status IN ('ACTIVE', 'REMOVED')),
    added_date            timestamptz NOT NULL,
    removed_date          timestamptz,
    rate_effective_date   timestamptz NOT NULL,
    amount_effective_date timestamptz NOT NULL,
    last_effective_date   timestamptz NOT NULL,
    latest_sequence       integer NOT NULL CHECK (latest_sequence >= 1),
    latest_entry_id       text NOT NULL,
    revision              bigint NOT NULL,
    PRIMARY KEY (organization_id, source_id),
    CHECK ((status = 'REMOVED') = (removed_date IS NOT NULL))
);
CREATE UNIQUE INDEX capital_source_active_name_key
    ON capital_source (organization_id, lower(name)) WHERE status = 'ACTIVE';

CREATE TABLE capital_history (
    organization_id uuid NOT NULL,
    id              text NOT NULL CHECK (length(id) BETWEEN 1 AND 100),
    source_id       text NOT NULL CHECK (length(source_id) BETWEEN 1 AND 100),
    sequence        integer NOT NULL CHECK (sequence >= 1),
    action          text NOT NULL
                    CHECK (action IN ('ADDED', 'AMOUNT_CHANGED', 'RATE_CHANGED', 'REMOVED')),
    effective_date  timestamptz NOT NULL,
    name            text NOT NULL CHECK (name = btrim(name) AND length(name) BETWEEN 1 AND 200),
    annual_rate     numeric(10, 6) NOT NULL CHECK (annual_rate BETWEEN 0 AND 1),
    available_cents bigint NOT NULL CHECK (available_cents BETWEEN 1 AND {max_cents}),
    previous_rate   numeric(10, 6) CHECK (previous_rate BETWEEN 0 AND 1),
    previous_amount bigint CHECK (previous_amount BETWEEN 1 AND {max_cents}),
    notes           text CHECK (length(notes) <= 2000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text CHECK (length(created_by) <= 320),
    recorded_by     uuid,
    import_id       uuid,
    revision        bigint NOT NULL,
    PRIMARY KEY (organization_id, id),
    CONSTRAINT capital_history_source_sequence_key UNIQUE (organization_id, source_id, sequence),
    CONSTRAINT capital_history_added_first CHECK ((action = 'ADDED') = (sequence = 1)),
    CONSTRAINT capital_history_previous_rate
        CHECK ((action = 'RATE_CHANGED') = (previous_rate IS NOT NULL)),
    CONSTRAINT capital_history_previous_amount
        CHECK ((action = 'AMOUNT_CHANGED') = (previous_amount IS NOT NULL)),
    FOREIGN KEY (organization_id, source_id) REFERENCES capital_source (organization_id, source_id),
    FOREIGN KEY (organization_id, recorded_by) REFERENCES app_user (organization_id, id),
    FOREIGN KEY (organization_id, import_id) REFERENCES import_log (organization_id, id)
);
CREATE UNIQUE INDEX capital_history_one_added_key
    ON capital_history (organization_id, source_id) WHERE action = 'ADDED';
CREATE INDEX capital_history_source_effective_idx
    ON capital_history (organization_id, source_id, effective_date, sequence);
CREATE INDEX capital_history_effective_idx
    ON capital_history (organization_id, effective_date, sequence, source_id);
CREATE INDEX capital_history_created_idx
    ON capital_history (organization_id, created_at, source_id, sequence);
CREATE INDEX capital_history_revision_idx ON capital_history (organization_id, revision);
CREATE INDEX capital_history_removed_idx ON capital_history (organization_id, source_id)
    INCLUDE (effective_date, created_at) WHERE action = 'REMOVED';
-- As-of probes: the latest amount- or rate-bearing event of one source.
CREATE INDEX capital_history_amount_probe_idx
    ON capital_history (organization_id, source_id, effective_date, sequence)
    INCLUDE (available_cents, created_at)
    WHERE action IN ('ADDED', 'AMOUNT_CHANGED');
CREATE INDEX capital_history_rate_probe_idx
    ON capital_history (organization_id, source_id, effective_date, sequence)
    INCLUDE (annual_rate, created_at)
    WHERE action IN ('ADDED', 'RATE_CHANGED');

CREATE TABLE idempotency_key (
    organization_id uuid NOT NULL REFERENCES organization (id),
    key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    user_id         uuid NOT NULL,
    request_hash    text NOT NULL,
    source_id       text,
    entry_id        text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, key),
    FOREIGN KEY (organization_id, user_id) REFERENCES app_user (organization_id, id)
);

CREATE TABLE auth_event (
    id              bigint GENERATED ALWAYS AS IDENTITY,
    organization_id uuid REFERENCES organization (id),
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    email           text NOT NULL,
    client_address  text NOT NULL,
    user_id         uuid,
    succeeded       boolean NOT NULL,
    reason          text NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX auth_event_org_idx ON auth_event (organization_id, occurred_at);
CREATE INDEX auth_event_email_idx ON auth_event (email, occurred_at);
CREATE INDEX auth_event_client_idx ON auth_event (client_address, occurred_at);
""".replace("{max_cents}", MAX_CENTS)

FUNCTIONS = """
-- One revision per write transaction and organization. The counter row stays
-- locked until commit, so revisions follow commit order: a reader catching up
-- "after revision N" can never miss a transaction that commits late.
CREATE FUNCTION capital_transaction_revision(org uuid) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    setting text := 'capital.revision_' || replace(org::text, '-', '');
    rev bigint := nullif(current_setting(setting, true), '')::bigint;
BEGIN
    IF rev IS NULL THEN
        UPDATE organization_revision SET revision = revision + 1
         WHERE organization_id = org
        RETURNING revision INTO rev;
        IF rev IS NULL THEN
            RAISE EXCEPTION 'organization % has no revision counter or is not visible', org
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        PERFORM set_config(setting, rev::text, true);
    END IF;
    RETURN rev;
END $$;

-- Every rule the database can check on its own, and the projection update.
CREATE FUNCTION capital_history_before_insert() RETURNS trigger
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
            organization_id, source_id, name, annual_rate, available_cents, status,
            added_date, removed_date, rate_effective_date, amount_effective_date,
            last_effective_date, latest_sequence, latest_entry_id, revision)
        VALUES (
            NEW.organization_id, NEW.source_id, NEW.name, NEW.annual_rate, NEW.available_cents,
            'ACTIVE', NEW.effective_date, NULL, NEW.effective_date, NEW.effective_date,
            NEW.effective_date, NEW.sequence, NEW.id, NEW.revision);
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

CREATE FUNCTION capital_history_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'capital_history is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

-- A wake-up call per statement and organization, far below NOTIFY's 8000-byte
-- limit: readers pull what is new since their revision. A single-row insert
-- names its source and entry; a bulk insert (an import) sends one message.
CREATE FUNCTION capital_history_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT organization_id, max(revision) AS revision, count(*) AS entries,
               min(source_id) AS source_id, min(id) AS entry_id
          FROM inserted GROUP BY organization_id
    LOOP
        PERFORM pg_notify('capital_history', json_build_object(
            'organizationId', r.organization_id,
            'revision', r.revision,
            'sourceId', CASE WHEN r.entries = 1 THEN r.source_id END,
            'entryId', CASE WHEN r.entries = 1 THEN r.entry_id END,
            'entries', r.entries)::text);
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER capital_history_before_insert BEFORE INSERT ON capital_history
    FOR EACH ROW EXECUTE FUNCTION capital_history_before_insert();
CREATE TRIGGER capital_history_append_only BEFORE UPDATE OR DELETE ON capital_history
    FOR EACH ROW EXECUTE FUNCTION capital_history_reject_change();
CREATE TRIGGER capital_history_no_truncate BEFORE TRUNCATE ON capital_history
    FOR EACH STATEMENT EXECUTE FUNCTION capital_history_reject_change();
CREATE TRIGGER capital_history_notify AFTER INSERT ON capital_history
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION capital_history_notify();
"""

TENANT_TABLES = {
    # table: tenant column
    "organization": "id",
    "organization_revision": "organization_id",
    "app_user": "organization_id",
    "import_log": "organization_id",
    "capital_source": "organization_id",
    "capital_history": "organization_id",
    "idempotency_key": "organization_id",
    "auth_event": "organization_id",
}

RUNTIME_GRANTS = {
    "organization": "SELECT, INSERT",
    "organization_revision": "SELECT, INSERT, UPDATE",
    "app_user": "SELECT, INSERT, UPDATE",
    "import_log": "SELECT, INSERT, UPDATE",
    "capital_source": "SELECT, INSERT, UPDATE",
    "capital_history": "SELECT, INSERT",
    "idempotency_key": "SELECT, INSERT, UPDATE",
    "auth_event": "SELECT, INSERT",
}


def _security(role: str) -> str:
    statements = [
        f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
DO $$ BEGIN
    EXECUTE format('GRANT {role} TO %I', current_user);
EXCEPTION WHEN OTHERS THEN NULL;  -- already a member (or a concurrent grant won)
END $$;
GRANT USAGE ON SCHEMA public TO {role};
"""
    ]
    for table, column in TENANT_TABLES.items():
        statements.append(
            f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY {table}_tenant ON {table}
    USING ({column} = {TENANT}) WITH CHECK ({column} = {TENANT});
GRANT {RUNTIME_GRANTS[table]} ON {table} TO {role};
"""
        )
    statements.append(
        f"""
-- Signing in happens before the organization is known: a transaction that sets
-- app.login_email may read that one user (and nothing else).
CREATE POLICY app_user_login ON app_user FOR SELECT USING (email = {LOGIN_EMAIL});
-- Operators name organizations on the command line.
CREATE POLICY organization_by_name ON organization FOR SELECT USING (lower(name) = {ORG_NAME});
-- The owner (migrations, operator commands) may list organizations; the runtime
-- role never matches this policy.
CREATE POLICY organization_owner_list ON organization FOR SELECT TO CURRENT_USER USING (true);
-- Login throttling counts failures of one email or one client address.
CREATE POLICY auth_event_login_read ON auth_event FOR SELECT
    USING (email = {LOGIN_EMAIL} OR client_address = {LOGIN_CLIENT});
CREATE POLICY auth_event_login_write ON auth_event FOR INSERT
    WITH CHECK (email = {LOGIN_EMAIL} AND (organization_id IS NULL OR organization_id = {TENANT}
                OR organization_id IN (SELECT organization_id FROM app_user WHERE email = {LOGIN_EMAIL})));
"""
    )
    return "\n".join(statements)


def upgrade() -> None:
    role = runtime_role_name()
    op.execute(TABLES)
    op.execute(FUNCTIONS)
    op.execute(_security(role))


def downgrade() -> None:
    role = runtime_role_name()
    op.execute(
        """
DROP TABLE IF EXISTS auth_event, idempotency_key, capital_history, capital_source,
    import_log, app_user, organization_revision, organization CASCADE;
DROP FUNCTION IF EXISTS capital_history_notify();
DROP FUNCTION IF EXISTS capital_history_reject_change();
DROP FUNCTION IF EXISTS capital_history_before_insert();
DROP FUNCTION IF EXISTS capital_transaction_revision(uuid);
"""
    )
    op.execute(
        f"""
REVOKE ALL ON SCHEMA public FROM {role};
DO $$ BEGIN
    DROP ROLE {role};
EXCEPTION WHEN dependent_objects_still_exist OR undefined_object THEN
    RAISE NOTICE 'role {role} kept: another database still uses it';
END $$;
"""
    )
