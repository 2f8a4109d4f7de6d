"""Alerts: threshold rules per organization and the append-only log of their triggers.

`alert_rule`: what an EDITOR/ADMIN watches (domain/alerts.py: `wacc_above` a fraction,
`wacc_change` more than N basis points over D days, `total_below` Y minor units). A rule
is never deleted or edited: it is deactivated once (the only UPDATE the runtime role
may make, and a trigger refuses anything else), so the log always names what fired.
Who created and deactivated it is on the row and in the audit log.

`alert_log`: one row per rule a change made cross, written in that change's own
transaction (its `revision`, and the entry or import that caused it), with the rule's
terms copied so the row reads alone. Append-only: the runtime role has INSERT and
SELECT only, and a trigger refuses UPDATE, DELETE and TRUNCATE to everyone.
`(revision, event_id)` is its place in the webhook outbox beside the history's
`(revision, id)` (`alert.triggered` events; the endpoint's event-type check admits it).

Self-contained: depends only on 0009 (webhook_endpoint) and 0001 (organization,
app_user); the lead re-chains its `down_revision` at merge time.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-08
"""

from collections.abc import Sequence

from alembic import op
from capital_app.db.roles import runtime_role_name

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT = "(SELECT nullif(current_setting('app.org_id', true), '')::uuid)"

TABLES = """
CREATE TABLE alert_rule (
    organization_id uuid NOT NULL REFERENCES organization (id),
    id              uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('wacc_above', 'wacc_change', 'total_below')),
    threshold       numeric NOT NULL,
    window_days     integer,
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    active          boolean NOT NULL DEFAULT true,
    deactivated_at  timestamptz,
    deactivated_by  uuid,
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, created_by) REFERENCES app_user (organization_id, id),
    FOREIGN KEY (organization_id, deactivated_by) REFERENCES app_user (organization_id, id),
    CONSTRAINT alert_rule_terms CHECK (CASE kind
        WHEN 'wacc_above' THEN threshold > 0 AND threshold <= 1
             AND threshold = round(threshold, 6) AND window_days IS NULL
        WHEN 'wacc_change' THEN threshold BETWEEN 1 AND 10000
             AND threshold = trunc(threshold) AND window_days BETWEEN 1 AND 3660
        ELSE threshold BETWEEN 1 AND 1000000000000000
             AND threshold = trunc(threshold) AND window_days IS NULL
    END),
    CONSTRAINT alert_rule_deactivation CHECK (
        active = (deactivated_at IS NULL) AND active = (deactivated_by IS NULL))
);
CREATE INDEX alert_rule_active_idx ON alert_rule (organization_id) WHERE active;

CREATE TABLE alert_log (
    organization_id uuid NOT NULL,
    id              uuid NOT NULL,
    rule_id         uuid NOT NULL,
    kind            text NOT NULL,
    threshold       numeric NOT NULL,
    window_days     integer,
    triggered_at    timestamptz NOT NULL DEFAULT now(),
    revision        bigint NOT NULL CHECK (revision > 0),
    event_id        text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 200),
    entry_id        text,
    source_id       text,
    sequence        integer,
    import_id       uuid,
    value_before    numeric,
    value_after     numeric NOT NULL,
    total_cents     bigint NOT NULL,
    wacc            numeric,
    PRIMARY KEY (organization_id, id),
    UNIQUE (organization_id, rule_id, revision),
    UNIQUE (organization_id, revision, event_id),
    UNIQUE (organization_id, event_id),
    FOREIGN KEY (organization_id, rule_id) REFERENCES alert_rule (organization_id, id),
    CHECK ((entry_id IS NULL) <> (import_id IS NULL))
);
CREATE INDEX alert_log_recent_idx ON alert_log (organization_id, triggered_at DESC, id);

CREATE FUNCTION alert_rule_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.active AND NOT NEW.active
       AND (NEW.organization_id, NEW.id, NEW.kind, NEW.threshold, NEW.created_by,
            NEW.created_at) IS NOT DISTINCT FROM
           (OLD.organization_id, OLD.id, OLD.kind, OLD.threshold, OLD.created_by,
            OLD.created_at)
       AND NEW.window_days IS NOT DISTINCT FROM OLD.window_days THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'alert_rule: only deactivating an active rule is allowed (not %)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER alert_rule_deactivate_only BEFORE UPDATE OR DELETE ON alert_rule
    FOR EACH ROW EXECUTE FUNCTION alert_rule_guard();

CREATE FUNCTION alert_log_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'alert_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER alert_log_append_only BEFORE UPDATE OR DELETE ON alert_log
    FOR EACH ROW EXECUTE FUNCTION alert_log_reject_change();
CREATE TRIGGER alert_log_no_truncate BEFORE TRUNCATE ON alert_log
    FOR EACH STATEMENT EXECUTE FUNCTION alert_log_reject_change();
CREATE TRIGGER alert_rule_no_truncate BEFORE TRUNCATE ON alert_rule
    FOR EACH STATEMENT EXECUTE FUNCTION alert_log_reject_change();

ALTER TABLE webhook_endpoint DROP CONSTRAINT webhook_endpoint_event_types_check;
ALTER TABLE webhook_endpoint ADD CONSTRAINT webhook_endpoint_event_types_check
    CHECK (cardinality(event_types) BETWEEN 1 AND 5);
"""


def _security(role: str) -> str:
    return f"""
ALTER TABLE alert_rule ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_rule FORCE ROW LEVEL SECURITY;
CREATE POLICY alert_rule_tenant ON alert_rule
    USING (organization_id = {TENANT}) WITH CHECK (organization_id = {TENANT});
ALTER TABLE alert_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_log FORCE ROW LEVEL SECURITY;
CREATE POLICY alert_log_tenant ON alert_log
    USING (organization_id = {TENANT}) WITH CHECK (organization_id = {TENANT});
GRANT SELECT, INSERT ON alert_rule TO {role};
GRANT UPDATE (active, deactivated_at, deactivated_by) ON alert_rule TO {role};
GRANT SELECT, INSERT ON alert_log TO {role};
"""


DOWNGRADE = """
DROP TABLE alert_log;
DROP TABLE alert_rule;
DROP FUNCTION alert_log_reject_change();
DROP FUNCTION alert_rule_guard();
DELETE FROM webhook_delivery WHERE event_type = 'alert.triggered';
UPDATE webhook_endpoint SET event_types = array_remove(event_types, 'alert.triggered')
 WHERE 'alert.triggered' = ANY (event_types);
DELETE FROM webhook_endpoint WHERE cardinality(event_types) = 0;
ALTER TABLE webhook_endpoint DROP CONSTRAINT webhook_endpoint_event_types_check;
ALTER TABLE webhook_endpoint ADD CONSTRAINT webhook_endpoint_event_types_check
    CHECK (cardinality(event_types) BETWEEN 1 AND 4);
"""


def upgrade() -> None:
    op.execute(TABLES)
    op.execute(_security(runtime_role_name()))


def downgrade() -> None:
    op.execute(DOWNGRADE)
