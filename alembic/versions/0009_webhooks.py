"""Webhooks: endpoints an ADMIN registers, their delivery log, and procrastinate's queue.

Deliveries are read from the history by revision (`delivered_revision`,
`delivered_entry_id` is each endpoint's cursor), so a committed change can never be
missed: the history is the outbox. The job queue is procrastinate's schema, applied
here (its SQL as shipped with the installed version), with the runtime role allowed
to use it. Its job arguments carry only ids.

`webhook_endpoints_due()` is the one cross-organization read: it tells the worker
which endpoints are behind their organization's revision (ids only), running as the
owner; everything else the worker does is inside one organization's transaction.

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from procrastinate.schema import SchemaManager

from alembic import op
from capital_app.db.roles import runtime_role_name

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT = "(SELECT nullif(current_setting('app.org_id', true), '')::uuid)"

TABLES = """
CREATE TABLE webhook_endpoint (
    organization_id    uuid NOT NULL REFERENCES organization (id),
    id                 uuid NOT NULL,
    url                text NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
    event_types        text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 4),
    secret             text NOT NULL CHECK (secret ~ '^whsec_[A-Za-z0-9+/=]{40,}$'),
    created_by         uuid NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    disabled_at        timestamptz,
    failing_since      timestamptz,
    delivered_revision bigint NOT NULL,
    delivered_entry_id text NOT NULL DEFAULT '',
    next_attempt_at    timestamptz,
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, created_by) REFERENCES app_user (organization_id, id)
);
CREATE INDEX webhook_endpoint_created_idx ON webhook_endpoint (organization_id, created_at);

CREATE TABLE webhook_delivery (
    organization_id  uuid NOT NULL,
    id               uuid NOT NULL,
    endpoint_id      uuid NOT NULL,
    entry_id         text NOT NULL,
    revision         bigint NOT NULL,
    event_type       text NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    response_code    integer,
    latency_ms       integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz,
    delivered_at     timestamptz,
    resend_requested boolean NOT NULL DEFAULT false,
    PRIMARY KEY (organization_id, id),
    UNIQUE (organization_id, endpoint_id, entry_id),
    FOREIGN KEY (organization_id, endpoint_id)
        REFERENCES webhook_endpoint (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_delivery_log_idx
    ON webhook_delivery (organization_id, endpoint_id, revision DESC);
CREATE INDEX webhook_delivery_resend_idx
    ON webhook_delivery (organization_id, endpoint_id) WHERE resend_requested;

CREATE FUNCTION webhook_endpoints_due() RETURNS TABLE (organization_id uuid, endpoint_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT e.organization_id, e.id
      FROM webhook_endpoint e
      JOIN organization_revision r ON r.organization_id = e.organization_id
     WHERE e.disabled_at IS NULL AND e.failing_since IS NULL
       AND (e.next_attempt_at IS NULL OR e.next_attempt_at <= now())
       AND (e.delivered_revision < r.revision
            OR EXISTS (SELECT 1 FROM webhook_delivery d
                        WHERE d.organization_id = e.organization_id
                          AND d.endpoint_id = e.id AND d.resend_requested))
$$;
REVOKE ALL ON FUNCTION webhook_endpoints_due() FROM PUBLIC;
"""


def _security(role: str) -> str:
    return f"""
ALTER TABLE webhook_endpoint ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoint FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_endpoint_tenant ON webhook_endpoint
    USING (organization_id = {TENANT}) WITH CHECK (organization_id = {TENANT});
ALTER TABLE webhook_delivery ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_delivery FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_delivery_tenant ON webhook_delivery
    USING (organization_id = {TENANT}) WITH CHECK (organization_id = {TENANT});
GRANT SELECT, INSERT, DELETE ON webhook_endpoint TO {role};
GRANT UPDATE (disabled_at, failing_since, delivered_revision, delivered_entry_id,
              next_attempt_at) ON webhook_endpoint TO {role};
GRANT SELECT, INSERT, DELETE ON webhook_delivery TO {role};
GRANT UPDATE (status, attempts, response_code, latency_ms, last_error, last_attempt_at,
              delivered_at, resend_requested) ON webhook_delivery TO {role};
GRANT EXECUTE ON FUNCTION webhook_endpoints_due() TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON procrastinate_jobs, procrastinate_events,
      procrastinate_periodic_defers, procrastinate_workers TO {role};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
"""


DROP_PROCRASTINATE = """
DO $$
DECLARE f record;
BEGIN
    DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
        procrastinate_jobs, procrastinate_workers CASCADE;
    FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
              JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND p.proname LIKE 'procrastinate\\_%'
    LOOP
        EXECUTE 'DROP FUNCTION ' || f.sig || ' CASCADE';
    END LOOP;
    DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type,
        procrastinate_job_status CASCADE;
END $$;
"""


def upgrade() -> None:
    op.execute(SchemaManager.get_schema())
    op.execute(TABLES)
    op.execute(_security(runtime_role_name()))


def downgrade() -> None:
    op.execute("DROP TABLE webhook_delivery; DROP TABLE webhook_endpoint;")
    op.execute("DROP FUNCTION webhook_endpoints_due()")
    op.execute(DROP_PROCRASTINATE)
