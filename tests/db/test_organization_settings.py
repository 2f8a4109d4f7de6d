"""The organization row as the runtime role may touch it (migration 0007)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from capital_app.db.engine import owner_engine
from capital_app.db.unit_of_work import tenant_transaction
from tests.support.factories import add_source


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE organization SET id = :new WHERE id = :org",
        "UPDATE organization SET created_at = now() WHERE id = :org",
        "DELETE FROM organization WHERE id = :org",
    ],
)
def test_the_runtime_role_may_change_only_name_and_currency(tenant, statement):
    with pytest.raises(ProgrammingError, match="permission denied"):
        with tenant_transaction(tenant.org_id) as conn:
            conn.execute(text(statement), {"org": tenant.org_id, "new": uuid.uuid4()})


def test_renaming_another_organization_touches_no_row(tenant, other_tenant):
    with tenant_transaction(tenant.org_id) as conn:
        changed = conn.execute(
            text("UPDATE organization SET name = 'Hijacked' WHERE id = :other"),
            {"other": other_tenant.org_id},
        )
        assert changed.rowcount == 0


def test_the_database_refuses_a_currency_change_once_history_exists(tenant):
    add_source(tenant.actor("EDITOR"))
    engine = owner_engine()
    try:
        with pytest.raises(DBAPIError, match="currency cannot change"), engine.begin() as conn:
            conn.execute(
                text("UPDATE organization SET currency = 'USD' WHERE id = :org"),
                {"org": tenant.org_id},
            )
    finally:
        engine.dispose()
