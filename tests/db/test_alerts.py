"""Alerts on real PostgreSQL: rules by role, triggered in the change's own transaction,
invisible to other organizations, and a log nobody can rewrite."""

from __future__ import annotations

import secrets
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from capital_app.db.engine import owner_engine
from capital_app.db.roles import runtime_role_name
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.alerts import AlertKind
from capital_app.domain.errors import InvalidInput
from capital_app.service import alerts, rates
from capital_app.service import history_commands as commands
from capital_app.service.audit import AuditAction, list_audit_events
from capital_app.service.errors import Forbidden, NotFound
from capital_app.service.history_import import import_history
from tests.support.factories import Tenant, add_source, days_ago

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def owner():
    engine = owner_engine()
    yield engine
    engine.dispose()


def wacc_above(tenant: Tenant, level: str, role: str = "EDITOR"):
    return alerts.create_rule(tenant.actor(role), kind="wacc_above", threshold_rate=Decimal(level))


def log(tenant: Tenant):
    return alerts.list_alerts(tenant.actor("VIEWER"))


def change_rate(tenant: Tenant, source_id: str, rate: str, days: float = 0):
    return commands.update_rate(
        tenant.actor(),
        source_id=source_id,
        annual_rate=Decimal(rate),
        effective_date=days_ago(days),
    )


# --- rules -------------------------------------------------------------------------------


def test_editors_and_admins_set_rules_and_viewers_are_refused(tenant):
    by_editor = wacc_above(tenant, "0.12")
    by_admin = alerts.create_rule(
        tenant.actor("ADMIN"), kind="total_below", threshold_cents=5_000_000_00
    )
    with pytest.raises(Forbidden):
        wacc_above(tenant, "0.2", role="VIEWER")
    with pytest.raises(Forbidden):
        alerts.deactivate_rule(tenant.actor("VIEWER"), by_editor.id)
    listed = alerts.list_rules(tenant.actor("VIEWER"))  # everyone may read them
    assert [r.id for r in listed] == [by_editor.id, by_admin.id]
    assert by_editor.created_by == tenant.editor.id and by_editor.active
    assert by_admin.terms.threshold == Decimal(5_000_000_00)


def test_bad_rules_are_refused_before_anything_is_stored(tenant):
    with pytest.raises(InvalidInput) as refused:
        alerts.create_rule(tenant.actor(), kind="wacc_change", threshold_basis_points=0)
    assert {e.field for e in refused.value.errors} == {"thresholdBasisPoints", "windowDays"}
    assert alerts.list_rules(tenant.actor()) == []


def test_rule_changes_are_audited_and_deactivation_keeps_the_rule(tenant):
    rule = wacc_above(tenant, "0.12")
    off = alerts.deactivate_rule(tenant.actor("ADMIN"), rule.id)
    again = alerts.deactivate_rule(tenant.actor(), rule.id)  # nothing more happens
    assert not off.active and off.deactivated_by == tenant.admin.id
    assert again.deactivated_at == off.deactivated_at
    events = list_audit_events(
        tenant.actor("ADMIN"),
        actions=[AuditAction.ALERT_RULE_CREATED.value, AuditAction.ALERT_RULE_DEACTIVATED.value],
    )
    assert [(e.action, e.actor_user_id) for e in events] == [
        (AuditAction.ALERT_RULE_DEACTIVATED.value, tenant.admin.id),
        (AuditAction.ALERT_RULE_CREATED.value, tenant.editor.id),
    ]
    assert events[0].details["rule"] == "WACC above 12 %"
    with pytest.raises(NotFound):
        alerts.deactivate_rule(tenant.actor(), off.created_by)  # not a rule id


# --- triggering ---------------------------------------------------------------------------


def test_a_crossing_change_stores_one_alert_with_its_revision(tenant):
    source = add_source(tenant.actor(), cents=100_000_00, rate="0.10")
    rule = wacc_above(tenant, "0.12")
    crossed = change_rate(tenant, source, "0.13")
    [alert] = log(tenant)
    assert crossed.alerts == (alert,)
    assert alert.rule_id == rule.id
    assert alert.terms.kind is AlertKind.WACC_ABOVE
    assert (alert.revision, alert.entry_id) == (crossed.entry.revision, crossed.entry.id)
    assert (alert.source_id, alert.sequence) == (source, crossed.entry.sequence)
    assert alert.value_before == Decimal("0.1") and alert.value_after == Decimal("0.13")
    assert alert.total_cents == 100_000_00 and alert.wacc == Decimal("0.13")
    assert alert.triggered_at == crossed.entry.created_at  # the same transaction's time


def test_no_second_alert_while_above_and_a_new_one_after_re_arming(tenant):
    source = add_source(tenant.actor(), rate="0.10")
    wacc_above(tenant, "0.12")
    change_rate(tenant, source, "0.13")
    still = change_rate(tenant, source, "0.14")
    assert still.alerts == () and len(log(tenant)) == 1
    change_rate(tenant, source, "0.11")  # below again: re-armed, no alert
    assert len(log(tenant)) == 1
    again = change_rate(tenant, source, "0.125")
    assert len(again.alerts) == 1 and len(log(tenant)) == 2


def test_removing_capital_below_the_floor_alerts_once(tenant):
    big = add_source(tenant.actor(), cents=600_000_00, days=40)
    add_source(tenant.actor(), cents=500_000_00, days=40)
    alerts.create_rule(tenant.actor(), kind="total_below", threshold_cents=1_000_000_00)
    removed = commands.remove_source(tenant.actor(), source_id=big, effective_date=days_ago(0))
    [alert] = removed.alerts
    assert (alert.value_before, alert.value_after) == (Decimal(1_100_000_00), Decimal(500_000_00))


def test_a_floor_compares_the_total_in_the_reporting_currency(tenant):
    """A USD source counts at its KES value, and no rule holds while a rate is missing
    (a total that cannot be converted is unknown, never a sum of mixed currencies)."""
    kes = add_source(tenant.actor(), cents=1_000_000_00, days=40)
    usd = commands.add_source(
        tenant.actor(),
        name="IFC equity",
        annual_rate=Decimal("0.2"),
        available_cents=10_000_00,
        effective_date=days_ago(40),
        currency="USD",
        kind="equity",
    ).source_id
    alerts.create_rule(tenant.actor(), kind="total_below", threshold_cents=1_500_000_00)
    # No USD→KES rate: 900,000.00 KES + 10,000.00 USD is not known, so no alert (a
    # mixed-currency sum, 910,000.00, would be below the floor).
    no_rate = commands.update_amount(
        tenant.actor(), source_id=kes, available_cents=900_000_00, effective_date=days_ago(0)
    )
    assert no_rate.alerts == ()
    rates.add_fx_rate(
        tenant.actor(), from_currency="USD", rate="129.5", effective_date=days_ago(39).date()
    )
    # 800,000.00 KES + 10,000.00 USD × 129.5 = 2,095,000.00 KES: above the floor.
    above = commands.update_amount(
        tenant.actor(), source_id=kes, available_cents=800_000_00, effective_date=days_ago(0)
    )
    assert above.alerts == ()
    # Halving the USD source: 800,000.00 + 647,500.00 = 1,447,500.00 KES: below.
    below = commands.update_amount(
        tenant.actor(), source_id=usd, available_cents=5_000_00, effective_date=days_ago(0)
    )
    [alert] = below.alerts
    assert (alert.value_before, alert.value_after) == (
        Decimal(2_095_000_00),
        Decimal(1_447_500_00),
    )
    assert alert.total_cents == 1_447_500_00


def test_a_wacc_move_over_the_window_alerts_and_a_backdated_change_counts(tenant):
    source = add_source(tenant.actor(), cents=100_000_00, rate="0.10", days=60)
    alerts.create_rule(
        tenant.actor(), kind="wacc_change", threshold_basis_points=100, window_days=30
    )
    small = change_rate(tenant, source, "0.105")  # +50 bp over 30 days
    assert small.alerts == ()
    [alert] = change_rate(tenant, source, "0.1101").alerts  # +101 bp
    assert (alert.value_before, alert.value_after) == (Decimal(50), Decimal(101))
    # A correction dated 40 days back lifts the WACC of 30 days ago too: the move
    # shrinks to 1 bp (re-armed), then a later change crosses again.
    change_rate(tenant, source, "0.11", days=40)
    assert len(log(tenant)) == 1
    assert len(change_rate(tenant, source, "0.1202").alerts) == 1


def test_one_change_can_cross_several_rules(tenant):
    source = add_source(tenant.actor(), cents=100_000_00, rate="0.10")
    first = wacc_above(tenant, "0.11")
    second = wacc_above(tenant, "0.12")
    wacc_above(tenant, "0.5")
    crossed = change_rate(tenant, source, "0.2")
    assert {a.rule_id for a in crossed.alerts} == {first.id, second.id}


def test_deactivated_rules_do_not_fire(tenant):
    source = add_source(tenant.actor(), rate="0.10")
    rule = wacc_above(tenant, "0.12")
    alerts.deactivate_rule(tenant.actor(), rule.id)
    assert change_rate(tenant, source, "0.2").alerts == ()
    assert log(tenant) == []


def test_an_idempotent_replay_does_not_alert_twice(tenant):
    source = add_source(tenant.actor(), rate="0.10")
    wacc_above(tenant, "0.12")
    key = "alert-" + secrets.token_hex(8)
    kwargs = {"source_id": source, "annual_rate": Decimal("0.13"), "effective_date": days_ago(0)}
    first = commands.update_rate(tenant.actor(), idempotency_key=key, **kwargs)
    replay = commands.update_rate(tenant.actor(), idempotency_key=key, **kwargs)
    assert replay.replayed and len(first.alerts) == 1 and len(log(tenant)) == 1


def test_an_import_that_crosses_alerts_in_its_own_transaction(tenant):
    wacc_above(tenant, "0.01")
    report = import_history(
        tenant.actor(), (FIXTURES / "demo-export.json").read_bytes(), file_name="demo.json"
    )
    [alert] = log(tenant)
    assert alert.import_id == report.import_id and alert.revision == report.revision
    assert alert.entry_id is None and alert.value_before is None


# --- atomicity, tenancy, immutability ------------------------------------------------------


def test_an_alert_that_cannot_be_stored_undoes_its_change(tenant, owner):
    """The alert is written in the change's transaction: if writing it fails, the change
    is not stored either (and a change that is stored always has its alert)."""
    source = add_source(tenant.actor(), rate="0.10")
    wacc_above(tenant, "0.12")
    name = f"alert_fail_{secrets.token_hex(4)}"
    with owner.begin() as conn:
        conn.execute(
            text(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                f" IF NEW.organization_id = '{tenant.org_id}' THEN"
                " RAISE EXCEPTION 'alert store down'; END IF; RETURN NEW; END $$;"
                f" CREATE TRIGGER {name} BEFORE INSERT ON alert_log"
                f" FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
        )
    try:
        with pytest.raises(DBAPIError):
            change_rate(tenant, source, "0.13")
    finally:
        with owner.begin() as conn:
            conn.execute(text(f"DROP TRIGGER {name} ON alert_log; DROP FUNCTION {name}()"))
    with tenant_transaction(tenant.org_id, read_only=True) as conn:
        rate = conn.execute(
            text("SELECT annual_rate FROM capital_source WHERE organization_id = :org"),
            {"org": tenant.org_id},
        ).scalar_one()
    assert rate == Decimal("0.1") and log(tenant) == []
    assert len(change_rate(tenant, source, "0.13").alerts) == 1  # works again


def test_another_organization_sees_no_rule_and_no_alert(tenant, other_tenant):
    source = add_source(tenant.actor(), rate="0.10")
    rule = wacc_above(tenant, "0.12")
    change_rate(tenant, source, "0.13")
    assert alerts.list_rules(other_tenant.actor()) == []
    assert alerts.list_alerts(other_tenant.actor()) == []
    with pytest.raises(NotFound):
        alerts.deactivate_rule(other_tenant.actor(), rule.id)
    with tenant_transaction(other_tenant.org_id, read_only=True) as conn:
        seen = [
            conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("alert_rule", "alert_log")
        ]
    assert seen == [0, 0]
    other_source = add_source(other_tenant.actor(), rate="0.10")
    assert change_rate(other_tenant, other_source, "0.5").alerts == ()  # our rule is ours


def test_rows_of_another_organization_cannot_be_written(tenant, other_tenant):
    with tenant_transaction(other_tenant.org_id) as conn, pytest.raises(DBAPIError):
        conn.execute(
            text(
                "INSERT INTO alert_rule (organization_id, id, kind, threshold, created_by)"
                " VALUES (:org, gen_random_uuid(), 'wacc_above', 0.1, :by)"
            ),
            {"org": tenant.org_id, "by": tenant.editor.id},
        )


def test_the_runtime_role_may_only_insert_and_read_the_log(owner):
    with owner.connect() as conn:
        granted = conn.execute(
            text(
                "SELECT privilege_type FROM information_schema.role_table_grants"
                " WHERE grantee = :role AND table_name = :table"
            ),
            {"role": runtime_role_name(), "table": "alert_log"},
        ).scalars()
        assert set(granted) == {"SELECT", "INSERT"}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE alert_log SET value_after = 0",
        "DELETE FROM alert_log",
        "TRUNCATE alert_log",
        "UPDATE alert_rule SET threshold = 0.5",
        "DELETE FROM alert_rule",
    ],
)
def test_the_runtime_role_cannot_rewrite_rules_or_the_log(tenant, statement):
    source = add_source(tenant.actor(), rate="0.10")
    wacc_above(tenant, "0.12")
    change_rate(tenant, source, "0.13")
    with tenant_transaction(tenant.org_id) as conn, pytest.raises(DBAPIError):
        conn.execute(text(statement))
    assert len(log(tenant)) == 1 and alerts.list_rules(tenant.actor())[0].active


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE alert_log SET value_after = 0 WHERE organization_id = :org",
        "DELETE FROM alert_log WHERE organization_id = :org",
        "UPDATE alert_rule SET active = true, deactivated_at = NULL, deactivated_by = NULL"
        " WHERE organization_id = :org",
        "UPDATE alert_rule SET threshold = 0.5 WHERE organization_id = :org",
    ],
)
def test_not_even_the_owner_rewrites_the_log_or_revives_a_rule(tenant, owner, statement):
    source = add_source(tenant.actor(), rate="0.10")
    rule = wacc_above(tenant, "0.12")
    change_rate(tenant, source, "0.13")
    alerts.deactivate_rule(tenant.actor(), rule.id)
    with owner.begin() as conn, pytest.raises(DBAPIError):
        conn.execute(text(statement), {"org": tenant.org_id})
    assert len(log(tenant)) == 1 and not alerts.list_rules(tenant.actor())[0].active


# --- the live announcement ------------------------------------------------------------


def _listening():
    import psycopg

    from capital_app.db.engine import libpq_url, runtime_database_url

    conn = psycopg.connect(libpq_url(runtime_database_url()), autocommit=True)
    conn.execute("LISTEN capital_history")
    return conn


def _announced(conn, org) -> list[dict]:
    import json

    found = []
    for note in conn.notifies(timeout=1.0, stop_after=None):
        data = json.loads(note.payload)
        if data["organizationId"] == str(org):
            found.append(data)
    return found


def test_a_triggered_alert_is_announced_with_its_change_at_commit(tenant):
    source = add_source(tenant.actor(), rate="0.10")
    wacc_above(tenant, "0.12")
    listener = _listening()
    try:
        crossed = change_rate(tenant, source, "0.13")
        notes = _announced(listener, tenant.org_id)
        revision = crossed.entry.revision
        assert {"organizationId": str(tenant.org_id), "revision": revision, "entries": 0,
                "alerts": 1} in notes  # fmt: skip
        assert any(n.get("entryId") == crossed.entry.id for n in notes)  # the history's own
        change_rate(tenant, source, "0.14")  # no crossing: no alert announced
        assert not any(n.get("alerts") for n in _announced(listener, tenant.org_id))
    finally:
        listener.close()


def test_news_and_the_overview_read_what_a_session_has_not_seen(tenant, other_tenant):
    source = add_source(tenant.actor(), rate="0.10")
    wacc_above(tenant, "0.12")
    first = change_rate(tenant, source, "0.13")
    change_rate(tenant, source, "0.11")
    second = change_rate(tenant, source, "0.15")
    news = alerts.news(tenant.actor("VIEWER"), first.entry.revision)
    assert [a.revision for a in news.alerts] == [second.entry.revision]
    assert news.revision == second.entry.revision
    everything = alerts.news(tenant.actor("VIEWER"), 0).alerts
    assert [a.revision for a in everything] == [first.entry.revision, second.entry.revision]
    overview = alerts.overview(tenant.actor("VIEWER"))
    assert len(overview.rules) == 1 and len(overview.alerts) == 2
    assert overview.revision == second.entry.revision
    assert alerts.news(other_tenant.actor(), 0).alerts == []
