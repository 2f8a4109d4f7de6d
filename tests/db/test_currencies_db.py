"""Currencies on the real database (migration 0013): terms on the ADDED entry, FX and tax
rates append-only per organization, totals converted at the rate of each point's day.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from capital_app.db import snapshot_repository as snapshot
from capital_app.db.engine import owner_engine
from capital_app.db.roles import runtime_role_name
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.currencies import Kind
from capital_app.domain.dates import format_day
from capital_app.domain.series import Interval
from capital_app.domain.values import end_of_day
from capital_app.service import audit, rates, reports
from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from capital_app.service.errors import Forbidden, InvalidInput
from capital_app.service.projections import verify_projections
from tests.support.factories import days_ago

FACT_TABLES = ["fx_rate", "corporate_tax_rate"]


def _today() -> date:
    return datetime.now(UTC).date()


def _pause() -> datetime:
    time.sleep(0.01)
    moment = datetime.now(UTC)
    time.sleep(0.01)
    return moment


def _usd_and_kes(tenant, *, days: int = 60) -> tuple[str, str]:
    editor = tenant.actor()
    kes = commands.add_source(
        editor,
        name="KCB loan",
        annual_rate=Decimal("0.14"),
        available_cents=1_000_000_00,
        effective_date=days_ago(days),
    ).source_id
    usd = commands.add_source(
        editor,
        name="IFC equity",
        annual_rate=Decimal("0.2"),
        available_cents=10_000_00,
        effective_date=days_ago(days),
        currency="USD",
        kind="equity",
    ).source_id
    return kes, usd


def test_terms_are_on_the_added_entry_with_the_organizations_defaults(tenant):
    kes, usd = _usd_and_kes(tenant)
    with tenant_transaction(tenant.org_id, read_only=True) as conn:
        rows = conn.execute(
            text(
                "SELECT source_id, action, currency, kind FROM capital_history"
                " WHERE organization_id = :org ORDER BY source_id"
            ),
            {"org": tenant.org_id},
        ).all()
    assert sorted(rows) == sorted([(kes, "ADDED", "KES", "debt"), (usd, "ADDED", "USD", "equity")])
    listed = {s.source_id: (s.currency, s.kind) for s in queries.active_sources(tenant.actor())}
    assert listed == {kes: ("KES", Kind.DEBT), usd: ("USD", Kind.EQUITY)}
    assert verify_projections(tenant.org_id).snapshot_days == ()


def test_a_currency_or_kind_on_another_entry_is_refused_by_the_database(tenant):
    kes, _ = _usd_and_kes(tenant)
    with pytest.raises(DBAPIError, match="capital_history_added_currency"):
        with tenant_transaction(tenant.org_id) as conn:
            conn.execute(
                text(
                    "INSERT INTO capital_history (organization_id, source_id, action,"
                    " effective_date, name, annual_rate, available_cents, previous_amount,"
                    " revision, currency) VALUES (:org, :sid, 'AMOUNT_CHANGED', now(), 'x',"
                    " 0.1, 5, 1, 0, 'USD')"
                ),
                {"org": tenant.org_id, "sid": kes},
            )


def test_unknown_currency_and_kind_are_refused_by_the_service(tenant):
    with pytest.raises(InvalidInput) as raised:
        commands.add_source(
            tenant.actor(),
            name="Bad",
            annual_rate=Decimal("0.1"),
            available_cents=100,
            effective_date=days_ago(1),
            currency="XYZ",
            kind="loan",
        )
    assert {e.field for e in raised.value.errors} == {"source.currency", "source.kind"}


def test_fact_tables_are_tenant_scoped_and_append_only(tenant, other_tenant):
    rates.add_fx_rate(tenant.actor(), from_currency="USD", rate="129.5", effective_date=_today())
    rates.add_tax_rate(tenant.actor(), rate="0.3", effective_date=_today())
    rates.add_fx_rate(
        other_tenant.actor(), from_currency="EUR", rate="140", effective_date=_today()
    )
    for table in FACT_TABLES:
        with tenant_transaction(tenant.org_id, read_only=True) as conn:
            seen = set(
                conn.execute(text(f"SELECT DISTINCT organization_id FROM {table}")).scalars()
            )
        assert seen == {tenant.org_id}, table
    theirs = rates.list_rates(other_tenant.actor())
    assert [r.from_currency for r in theirs.fx] == ["EUR"] and theirs.tax == []
    for table in FACT_TABLES:
        for statement in (
            f"UPDATE {table} SET rate = 2",
            f"DELETE FROM {table}",
            f"TRUNCATE {table}",
        ):
            with pytest.raises(ProgrammingError, match="permission denied"):
                with tenant_transaction(tenant.org_id) as conn:
                    conn.execute(text(statement))
    engine = owner_engine()
    try:
        with engine.connect() as conn:
            granted = conn.execute(
                text(
                    "SELECT table_name, privilege_type FROM information_schema.role_table_grants"
                    " WHERE grantee = :role AND table_name = ANY(:tables)"
                ),
                {"role": runtime_role_name(), "tables": FACT_TABLES},
            ).all()
            forced = conn.execute(
                text(
                    "SELECT relname FROM pg_class WHERE relname = ANY(:tables)"
                    " AND relrowsecurity AND relforcerowsecurity"
                ),
                {"tables": FACT_TABLES},
            ).scalars()
            assert sorted(forced) == sorted(FACT_TABLES)
        # Even the owner cannot rewrite a rate.
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(
                text("UPDATE fx_rate SET rate = 2 WHERE organization_id = :org"),
                {"org": tenant.org_id},
            )
    finally:
        engine.dispose()
    assert sorted(granted) == sorted((t, p) for t in FACT_TABLES for p in ("INSERT", "SELECT"))


def test_writing_a_rate_into_another_organization_is_refused(tenant, other_tenant):
    with pytest.raises(DBAPIError, match="row-level security"):
        with tenant_transaction(tenant.org_id) as conn:
            conn.execute(
                text(
                    "INSERT INTO fx_rate (organization_id, from_currency, to_currency, rate,"
                    " effective_date) VALUES (:org, 'USD', 'KES', 1, current_date)"
                ),
                {"org": other_tenant.org_id},
            )


def test_recording_time_is_the_databases(tenant):
    before = datetime.now(UTC)
    with tenant_transaction(tenant.org_id) as conn:
        conn.execute(
            text(
                "INSERT INTO fx_rate (organization_id, from_currency, to_currency, rate,"
                " effective_date, recorded_at) VALUES (:org, 'USD', 'KES', 1, current_date,"
                " '2000-01-01')"
            ),
            {"org": tenant.org_id},
        )
    (stored,) = rates.list_rates(tenant.actor()).fx
    assert stored.recorded_at >= before - timedelta(seconds=1)


def test_viewers_may_read_but_not_record_rates_and_writes_are_audited(tenant):
    with pytest.raises(Forbidden):
        rates.add_fx_rate(
            tenant.actor("VIEWER"), from_currency="USD", rate="1", effective_date=_today()
        )
    with pytest.raises(Forbidden):
        rates.add_tax_rate(tenant.actor("VIEWER"), rate="0.3", effective_date=_today())
    with pytest.raises(Forbidden):
        rates.upload_fx_rates(tenant.actor("VIEWER"), b"from_currency,rate,effective_date\n")
    rates.add_fx_rate(
        tenant.actor("ADMIN"), from_currency="USD", rate="129.5", effective_date=_today()
    )
    rates.add_tax_rate(tenant.actor(), rate="0.3", effective_date=_today())
    assert len(rates.list_rates(tenant.actor("VIEWER")).fx) == 1
    actions = [e.action for e in audit.list_audit_events(tenant.actor("ADMIN"))]
    assert "rates.fx_rate_added" in actions and "rates.tax_rate_added" in actions


def test_a_rate_into_another_currency_than_the_reporting_one_is_refused(tenant):
    with pytest.raises(InvalidInput, match="reporting currency KES"):
        rates.add_fx_rate(
            tenant.actor(),
            from_currency="USD",
            to_currency="EUR",
            rate="1",
            effective_date=_today(),
        )
    with pytest.raises(InvalidInput):
        rates.add_fx_rate(
            tenant.actor(),
            from_currency="USD",
            rate="1",
            effective_date=_today() + timedelta(days=2),
        )


def test_csv_upload_is_all_or_nothing_with_a_dry_run(tenant):
    editor = tenant.actor()
    day = (_today() - timedelta(days=3)).isoformat()
    bad = f"from_currency,rate,effective_date\nUSD,129.5,{day}\nEUR,nope,{day}\nXXX,1,{day}\n"
    with pytest.raises(InvalidInput) as raised:
        rates.upload_fx_rates(editor, bad.encode())
    assert [e.field for e in raised.value.errors] == ["row 3: rate", "row 4: from_currency"]
    assert rates.list_rates(editor).fx == []
    good = f"from_currency,rate,effective_date\nUSD,129.5,{day}\nEUR,140.25,{day}\n".encode()
    dry = rates.upload_fx_rates(editor, good, dry_run=True)
    assert dry.dry_run and len(dry.rows) == 2 and dry.stored == []
    assert rates.list_rates(editor).fx == []
    done = rates.upload_fx_rates(editor, good, file_name="rates.csv")
    assert [(r.from_currency, r.rate) for r in done.stored] == [
        ("USD", Decimal("129.5")),
        ("EUR", Decimal("140.25")),
    ]
    assert len(rates.list_rates(editor).fx) == 2


def test_totals_are_converted_at_the_rate_of_the_day_and_a_missing_rate_is_named(tenant):
    editor = tenant.actor()
    _usd_and_kes(tenant)
    rate_day = _today() - timedelta(days=20)
    before_rate = end_of_day(_today() - timedelta(days=30))
    # No rate yet: named, never a silent zero — on every read path.
    message = f"no USD→KES rate on or before {format_day(_today())}"
    now = queries.wacc(editor)
    assert now.reporting is not None and now.reporting.missing_rates == (message,)
    assert now.summary.wacc is None
    rates.add_fx_rate(editor, from_currency="USD", rate="129.5", effective_date=rate_day)
    rates.add_tax_rate(editor, rate="0.3", effective_date=rate_day)
    answer = queries.wacc(editor)
    # 1,000,000.00 KES + 10,000.00 USD × 129.5 = 2,295,000.00 KES
    assert answer.summary.total_cents == 2_295_000_00
    weighted = Decimal("1000000") * Decimal("0.14") + Decimal("1295000") * Decimal("0.2")
    assert answer.summary.wacc == (weighted / Decimal("2295000")).quantize(Decimal("1e-10"))
    after = Decimal("1000000") * Decimal("0.14") * Decimal("0.7") + Decimal("1295000") * Decimal(
        "0.2"
    )
    assert answer.reporting.after_tax_wacc == (after / Decimal("2295000")).quantize(
        Decimal("1e-10")
    )
    # The snapshot path (end of a past day), the probe path and the dashboard agree.
    day = _today() - timedelta(days=1)
    from_snapshot = queries.wacc(editor, as_of=end_of_day(day))
    from_probes = queries.wacc(editor, as_of=end_of_day(day) - timedelta(microseconds=1))
    assert from_snapshot.summary == from_probes.summary == answer.summary
    dashboard = reports.dashboard_summary(editor)
    assert dashboard.summary == answer.summary
    assert dashboard.reporting.after_tax_wacc == answer.reporting.after_tax_wacc
    past = queries.wacc(editor, as_of=before_rate)
    assert past.reporting.missing_rates == (
        f"no USD→KES rate on or before {format_day(before_rate.date())}",
    )
    assert dashboard.earlier_reporting.missing_rates == past.reporting.missing_rates


def test_a_backdated_fx_correction_changes_exactly_the_past_points_it_should(tenant):
    editor = tenant.actor()
    _usd_and_kes(tenant)
    start, end = _today() - timedelta(days=50), _today()
    rates.add_fx_rate(editor, from_currency="USD", rate="120", effective_date=start)
    rates.add_fx_rate(
        editor, from_currency="USD", rate="130", effective_date=end - timedelta(days=10)
    )
    series = queries.wacc_series(editor, start, end, Interval.DAY)
    known_before = _pause()
    corrected_from = end - timedelta(days=30)
    rates.add_fx_rate(editor, from_currency="USD", rate="125", effective_date=corrected_from)
    changed = queries.wacc_series(editor, start, end, Interval.DAY)  # cache: rates counted
    as_known_before = queries.wacc_series(editor, start, end, Interval.DAY, known_at=known_before)
    assert as_known_before == series
    for old, new in zip(series, changed, strict=True):
        if corrected_from <= old.date < end - timedelta(days=10):
            assert new.total_cents == 1_000_000_00 + 10_000_00 * 125, new
            assert new != old
        else:
            assert new == old, new
    # Both paths (snapshot as known now, probes as known at a moment) give the same numbers.
    probe_path = queries.wacc_series(
        editor, start, end, Interval.DAY, known_at=datetime.now(UTC) + timedelta(days=1)
    )
    assert probe_path == changed


def test_the_snapshot_is_kept_per_currency_and_kind(tenant):
    _usd_and_kes(tenant)
    with tenant_transaction(tenant.org_id, read_only=True) as conn:
        buckets = snapshot.bucket_sums_at(conn, tenant.org_id, [_today()])[_today()]
    assert sorted((b.currency, b.kind, b.total_minor, b.count) for b in buckets) == [
        ("KES", Kind.DEBT, 1_000_000_00, 1),
        ("USD", Kind.EQUITY, 10_000_00, 1),
    ]


def test_an_export_that_would_lose_a_currency_is_refused(tenant, other_tenant):
    from capital_app.service import history_export
    from capital_app.service.errors import WriteConflict

    _usd_and_kes(tenant)
    with pytest.raises(WriteConflict, match="sources in USD"):
        history_export.export_history(tenant.actor())
    commands.add_source(
        other_tenant.actor(),
        name="Only shillings",
        annual_rate=Decimal("0.1"),
        available_cents=100,
        effective_date=days_ago(1),
        kind="equity",
    )
    assert "Only shillings" in "".join(history_export.export_history(other_tenant.actor()))
