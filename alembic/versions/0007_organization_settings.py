"""Organization settings: an ADMIN may rename the organization or set its currency.

The runtime role gets UPDATE on the `name` and `currency` columns only; the id and
creation time can never be rewritten. The currency may change only while the
organization has no history (every stored amount is in it): the service checks
that with the revision counter locked, and the trigger below refuses it in the
database too. RLS (0001's `organization_tenant` policy) keeps the update to the
caller's organization.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op
from capital_app.db.roles import runtime_role_name

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


CURRENCY_GUARD = """
CREATE FUNCTION organization_currency_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.currency IS DISTINCT FROM OLD.currency AND EXISTS (
        SELECT 1 FROM capital_history WHERE organization_id = OLD.id) THEN
        RAISE EXCEPTION 'organization % has history; its currency cannot change', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER organization_currency_guard BEFORE UPDATE OF currency ON organization
    FOR EACH ROW EXECUTE FUNCTION organization_currency_guard();
"""


def upgrade() -> None:
    op.execute(CURRENCY_GUARD)
    op.execute(f"GRANT UPDATE (name, currency) ON organization TO {runtime_role_name()}")


def downgrade() -> None:
    op.execute(f"REVOKE UPDATE (name, currency) ON organization FROM {runtime_role_name()}")
    op.execute("DROP TRIGGER organization_currency_guard ON organization")
    op.execute("DROP FUNCTION organization_currency_guard()")
