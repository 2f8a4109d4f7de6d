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


def test_async_hot_reads_set_the_tenant_for_their_transaction_only(tenant, other_tenant):
    """db/async_reads.py: runtime role, READ ONLY, RLS by the tenant, nothing carried over."""
    import asyncio

    from capital_app.db.async_reads import Statement, close_pool, tenant_read
    from capital_app.db.roles import runtime_role_name

    add_source(tenant.actor())
    probe = Statement(
        "SELECT current_user, current_setting('app.org_id'),"
        " current_setting('transaction_read_only'), (SELECT count(*) FROM capital_source)"
    )
    bare = Statement(
        "SELECT current_setting('app.org_id', true), (SELECT count(*) FROM capital_source)"
    )

    async def scenario():
        try:
            (mine,) = await tenant_read(tenant.org_id, [probe])
            (theirs,) = await tenant_read(other_tenant.org_id, [probe])
            # The pool's connection outside any tenant transaction: sees nothing.
            from capital_app.db.async_reads import _holder

            pool = await _holder.get()
            async with pool.connection() as conn:
                after = await (await conn.execute(bare.sql)).fetchall()
            return mine, theirs, after
        finally:
            await close_pool()

    mine, theirs, after = asyncio.run(scenario())
    assert mine == [(runtime_role_name(), str(tenant.org_id), "on", 1)]
    assert theirs == [(runtime_role_name(), str(other_tenant.org_id), "on", 0)]
    assert after[0][0] in (None, "") and after[0][1] == 0


def test_async_hot_reads_cannot_write(tenant):
    import asyncio

    import psycopg
    import pytest

    from capital_app.db.async_reads import Statement, close_pool, tenant_read

    async def scenario():
        try:
            await tenant_read(tenant.org_id, [Statement("DELETE FROM capital_history")])
        finally:
            await close_pool()

    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        asyncio.run(scenario())
