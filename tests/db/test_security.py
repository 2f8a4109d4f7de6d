"""Tenancy and immutability are enforced by PostgreSQL itself, not only by Python."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from capital_app.db.engine import get_engine, owner_engine
from capital_app.db.roles import runtime_role_name
from capital_app.db.unit_of_work import tenant_transaction
from tests.support.factories import add_source

TENANT_TABLES = [
    "organization",
    "organization_revision",
    "app_user",
    "import_log",
    "capital_source",
    "capital_history",
    "idempotency_key",
    "auth_event",
    "api_key",
    "audit_event",
    "alert_rule",
    "alert_log",
]


@pytest.fixture
def owner():
    engine = owner_engine()
    yield engine
    engine.dispose()


def test_the_app_runs_as_a_plain_role(database_url):
    with get_engine().connect() as conn:
        row = conn.execute(
            text(
                "SELECT current_user, r.rolsuper, r.rolbypassrls FROM pg_roles r"
                " WHERE r.rolname = current_user"
            )
        ).one()
        owns = conn.execute(
            text(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                " AND tableowner = current_user"
            )
        ).scalar_one()
    assert row == (runtime_role_name(), False, False)
    assert owns == 0


def test_rls_is_forced_on_every_tenant_table(owner):
    with owner.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
                " WHERE relname = ANY(:names)"
            ),
            {"names": TENANT_TABLES},
        ).all()
    assert sorted(rows) == sorted((t, True, True) for t in TENANT_TABLES)


def test_runtime_role_has_no_update_delete_or_truncate_on_history(owner):
    with owner.connect() as conn:
        granted = conn.execute(
            text(
                "SELECT privilege_type FROM information_schema.role_table_grants"
                " WHERE grantee = :role AND table_name = 'capital_history'"
            ),
            {"role": runtime_role_name()},
        ).scalars()
        assert set(granted) == {"SELECT", "INSERT"}


def test_a_query_without_org_filter_sees_only_the_current_organization(tenant, other_tenant):
    add_source(tenant.actor(), name="Mine")
    add_source(other_tenant.actor(), name="Theirs")
    for table in TENANT_TABLES:
        with tenant_transaction(tenant.org_id, read_only=True) as conn:
            column = "id" if table == "organization" else "organization_id"
            seen = set(conn.execute(text(f"SELECT DISTINCT {column} FROM {table}")).scalars())
        assert seen <= {tenant.org_id}, table
    with tenant_transaction(tenant.org_id, read_only=True) as conn:
        names = conn.execute(text("SELECT name FROM capital_history")).scalars().all()
    assert names == ["Mine"]


def test_with_no_tenant_set_nothing_is_visible(tenant):
    add_source(tenant.actor())
    with get_engine().connect() as conn, conn.begin():
        for table in TENANT_TABLES:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, table


def test_writing_into_another_organization_is_refused(tenant, other_tenant):
    source_id = add_source(other_tenant.actor())
    # The trigger cannot even see the other organization's revision counter.
    with pytest.raises(DBAPIError, match="not visible"):
        with tenant_transaction(tenant.org_id) as conn:
            conn.execute(
                text(
                    "INSERT INTO capital_history (organization_id, source_id, action,"
                    " effective_date, name, annual_rate, available_cents, previous_amount,"
                    " revision) VALUES (:org, :sid, 'AMOUNT_CHANGED', now(), 'x', 0.1, 5, 1, 0)"
                ),
                {"org": other_tenant.org_id, "sid": source_id},
            )


def test_rls_with_check_refuses_rows_of_another_organization(tenant, other_tenant):
    with pytest.raises(DBAPIError, match="row-level security"):
        with tenant_transaction(tenant.org_id) as conn:
            conn.execute(
                text("INSERT INTO organization_revision (organization_id) VALUES (:org)"),
                {"org": other_tenant.org_id},
            )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE capital_history SET notes = 'rewritten'",
        "DELETE FROM capital_history",
        "TRUNCATE capital_history CASCADE",
    ],
)
def test_history_cannot_be_changed_by_the_runtime_role(tenant, statement):
    add_source(tenant.actor())
    with pytest.raises(ProgrammingError, match="permission denied"):
        with tenant_transaction(tenant.org_id) as conn:
            conn.execute(text(statement))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE capital_history SET notes = 'rewritten' WHERE organization_id = :org",
        "DELETE FROM capital_history WHERE organization_id = :org",
        "TRUNCATE capital_history CASCADE",
    ],
)
def test_history_cannot_be_changed_even_by_the_owner(tenant, owner, statement):
    add_source(tenant.actor())
    with pytest.raises(DBAPIError, match="append-only"), owner.begin() as conn:
        conn.execute(text(statement), {"org": tenant.org_id})
    with owner.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM capital_history WHERE organization_id = :org"),
                {"org": tenant.org_id},
            ).scalar_one()
            == 1
        )


def _raw_insert(owner, org, source_id, action, effective, sequence=None, **extra):
    values = {
        "org": org,
        "sid": source_id,
        "action": action,
        "eff": effective,
        "seq": sequence,
        "prev_amount": extra.get("previous_amount"),
        "prev_rate": extra.get("previous_rate"),
    }
    with owner.begin() as conn:
        conn.execute(text("SELECT set_config('app.org_id', :org, true)"), {"org": str(org)})
        conn.execute(
            text(
                "INSERT INTO capital_history (organization_id, source_id, sequence, action,"
                " effective_date, name, annual_rate, available_cents, previous_amount,"
                " previous_rate, revision)"
                " VALUES (:org, :sid, :seq, :action, :eff, 'Raw', 0.1, 100, :prev_amount,"
                " :prev_rate, 0)"
            ),
            values,
        )


def test_future_effective_date_is_refused_by_the_database(tenant, owner):
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(DBAPIError, match="in the future"):
        _raw_insert(owner, tenant.org_id, "raw-future", "ADDED", tomorrow, 1)


def test_second_added_is_refused_by_the_database(tenant, owner):
    yesterday = datetime.now(UTC) - timedelta(days=1)
    _raw_insert(owner, tenant.org_id, "raw-twice", "ADDED", yesterday, 1)
    with pytest.raises(DBAPIError, match="already added"):
        _raw_insert(owner, tenant.org_id, "raw-twice", "ADDED", yesterday, None)


def test_sequence_gaps_and_events_after_removal_are_refused_by_the_database(tenant, owner):
    day = datetime.now(UTC) - timedelta(days=3)
    _raw_insert(owner, tenant.org_id, "raw-seq", "ADDED", day, 1)
    with pytest.raises(DBAPIError, match="does not follow"):
        _raw_insert(owner, tenant.org_id, "raw-seq", "AMOUNT_CHANGED", day, 3, previous_amount=100)
    with pytest.raises(DBAPIError, match="before source"):
        _raw_insert(
            owner,
            tenant.org_id,
            "raw-seq",
            "AMOUNT_CHANGED",
            day - timedelta(days=1),
            2,
            previous_amount=100,
        )
    _raw_insert(owner, tenant.org_id, "raw-seq", "REMOVED", day + timedelta(days=1), None)
    with pytest.raises(DBAPIError, match="was removed"):
        _raw_insert(
            owner, tenant.org_id, "raw-seq", "AMOUNT_CHANGED", day, None, previous_amount=100
        )


def test_amounts_and_rates_out_of_range_are_refused_by_the_database(tenant, owner):
    with pytest.raises(DBAPIError, match="check constraint"), owner.begin() as conn:
        conn.execute(
            text("SELECT set_config('app.org_id', :org, true)"), {"org": str(tenant.org_id)}
        )
        conn.execute(
            text(
                "INSERT INTO capital_history (organization_id, source_id, sequence, action,"
                " effective_date, name, annual_rate, available_cents, revision)"
                " VALUES (:org, 'raw-range', 1, 'ADDED', now(), 'Bad', 1.5, 100, 0)"
            ),
            {"org": tenant.org_id},
        )


def test_read_only_units_of_work_cannot_write(tenant):
    with pytest.raises(DBAPIError, match="read-only transaction"):
        with tenant_transaction(tenant.org_id, read_only=True) as conn:
            conn.execute(
                text("UPDATE app_user SET name = 'x' WHERE organization_id = :org"),
                {"org": tenant.org_id},
            )
    with tenant_transaction(tenant.org_id) as conn:  # the pooled connection is writable again
        assert conn.execute(text("SHOW transaction_read_only")).scalar_one() == "off"
