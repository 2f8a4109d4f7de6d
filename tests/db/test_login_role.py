"""The runtime pool logs in as a role of its own, and cannot touch the projection.

Before migration 0003 it logged in as the owner (a superuser here) and only
`SET ROLE` held it to the runtime role: a `RESET ROLE` in injected SQL escaped RLS.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from capital_app.db.engine import get_engine
from capital_app.db.roles import login_role_name, runtime_role_name
from capital_app.db.unit_of_work import tenant_transaction
from tests.support.factories import Tenant, add_source


def test_the_pool_logs_in_as_a_non_superuser_role_of_its_own(database_url: str) -> None:
    with get_engine().connect() as conn:
        row = conn.execute(
            text(
                "SELECT session_user::text AS login, current_user::text AS role,"
                " r.rolsuper, r.rolinherit, r.rolbypassrls"
                " FROM pg_roles r WHERE r.rolname = session_user"
            )
        ).one()
    assert (row.login, row.role) == (login_role_name(), runtime_role_name())
    assert not row.rolsuper and not row.rolinherit and not row.rolbypassrls


def test_reset_role_leads_to_no_rights_and_no_superuser(tenant: Tenant) -> None:
    add_source(tenant.actor())
    with get_engine().connect() as conn:
        conn.execute(text("RESET ROLE"))
        assert conn.execute(text("SELECT current_user::text")).scalar_one() == login_role_name()
        with pytest.raises(DBAPIError, match="permission denied"):
            conn.execute(text("SELECT count(*) FROM capital_history")).scalar_one()
        conn.rollback()
        with pytest.raises(DBAPIError, match="permission denied"):
            conn.execute(text("SET ROLE postgres"))
        conn.rollback()
        conn.execute(text(f"SET ROLE {runtime_role_name()}"))  # back as the pool left it
        conn.commit()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE capital_source SET available_cents = 1 WHERE organization_id = :org",
        "DELETE FROM capital_source WHERE organization_id = :org",
        "INSERT INTO capital_source SELECT * FROM capital_source WHERE organization_id = :org",
        "SELECT 1 FROM capital_source WHERE organization_id = :org FOR UPDATE",
    ],
)
def test_the_runtime_role_cannot_write_the_projection(tenant: Tenant, statement: str) -> None:
    add_source(tenant.actor())
    with pytest.raises(DBAPIError, match="permission denied"):
        with tenant_transaction(tenant.org_id) as conn:
            conn.execute(text(statement), {"org": tenant.org_id})


def test_the_source_lock_reaches_only_the_callers_organization(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = add_source(other_tenant.actor())
    mine = add_source(tenant.actor())
    with tenant_transaction(tenant.org_id) as conn:
        lock = text("SELECT source_id FROM capital_source_lock(:org, :source)")
        assert conn.execute(lock, {"org": tenant.org_id, "source": mine}).all() != []
        assert conn.execute(lock, {"org": other_tenant.org_id, "source": theirs}).all() == []
