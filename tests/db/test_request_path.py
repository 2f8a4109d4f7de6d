"""The request path's shortcut (settings pipelined with BEGIN) keeps its guarantees."""

from __future__ import annotations

from sqlalchemy import text

from capital_app.db.engine import get_engine
from capital_app.db.unit_of_work import login_transaction, tenant_transaction
from tests.support.factories import add_source


def test_the_tenant_is_set_with_the_transaction_and_only_for_it(tenant):
    add_source(tenant.actor())
    with tenant_transaction(tenant.org_id, read_only=True) as conn:
        assert conn.execute(text("SELECT current_setting('app.org_id')")).scalar_one() == str(
            tenant.org_id
        )
        assert conn.execute(text("SELECT count(*) FROM capital_source")).scalar_one() == 1
        read_only = conn.execute(text("SHOW transaction_read_only")).scalar_one()
        assert read_only == "on"
    # The next transaction on the same pooled connection starts without a tenant.
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT current_setting('app.org_id', true)")).scalar() in (
            None,
            "",
        )
        assert conn.execute(text("SELECT count(*) FROM capital_source")).scalar_one() == 0


def test_several_settings_are_all_set(database_url):
    with login_transaction("someone@example.test", "192.0.2.7") as conn:
        row = conn.execute(
            text("SELECT current_setting('app.login_email'), current_setting('app.login_client')")
        ).one()
    assert tuple(row) == ("someone@example.test", "192.0.2.7")
