"""Service additions made for the API: health, unknown-source filter, odd sign-in input."""

from __future__ import annotations

import pytest

from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from capital_app.service.authentication import authenticate
from capital_app.service.errors import AuthenticationFailed, InvalidInput, NotFound
from capital_app.service.health import database_health, migration_head
from tests.support.factories import add_source, days_ago


def test_database_health_reports_the_applied_migration(database_url):
    health = database_health()
    assert health.reachable and health.up_to_date
    assert health.revision == migration_head() is not None


def test_filtering_by_an_unknown_source_is_not_found(tenant, other_tenant):
    theirs = add_source(other_tenant.actor())
    with pytest.raises(NotFound):
        queries.list_history(tenant.actor("VIEWER"), source_id=theirs)
    with pytest.raises(NotFound):
        queries.list_history(tenant.actor("VIEWER"), source_id="src_missing")
    mine = add_source(tenant.actor())
    page = queries.list_history(tenant.actor("VIEWER"), source_id=mine)
    assert [e.source_id for e in page.entries] == [mine]


@pytest.mark.parametrize("email", ["", "   ", "a\x00@b.test", "x\ud800@y.test"])
def test_sign_in_with_an_unstorable_or_empty_email_fails_cleanly(database_url, email):
    with pytest.raises(AuthenticationFailed):
        authenticate(email, "whatever password", "127.0.0.1")


def test_a_malformed_idempotency_key_is_refused_before_anything_is_written(tenant):
    with pytest.raises(InvalidInput):
        commands.add_source(
            tenant.actor(),
            name="Loan",
            annual_rate=1,
            available_cents=5,
            effective_date=days_ago(1),
            idempotency_key="has space",
        )
    assert queries.list_history(tenant.actor()).entries == []


def test_wacc_series_as_known_now_follows_every_write(tenant, other_tenant):
    from decimal import Decimal

    from capital_app.domain.series import Interval

    source = add_source(tenant.actor(), cents=100, rate="0.1", days=90)
    start = days_ago(100).date()
    end = days_ago(0).date()
    first = queries.wacc_series(tenant.actor("VIEWER"), start, end, Interval.MONTH)
    assert queries.wacc_series(tenant.actor("VIEWER"), start, end, Interval.MONTH) == first
    add_source(other_tenant.actor(), cents=999, days=60)  # another organization's write
    assert queries.wacc_series(tenant.actor("VIEWER"), start, end, Interval.MONTH) == first
    before_change = days_ago(0)
    commands.update_amount(
        tenant.actor(), source_id=source, available_cents=300, effective_date=days_ago(45)
    )
    after = queries.wacc_series(tenant.actor("VIEWER"), start, end, Interval.MONTH)
    assert after[-1].total_cents == 300 and first[-1].total_cents == 100
    assert after[0] == first[0]
    # As known before the change (never cached): the old answer again.
    known_then = queries.wacc_series(
        tenant.actor("VIEWER"), start, end, Interval.MONTH, known_at=before_change
    )
    assert known_then == first
    mutated = queries.wacc_series(tenant.actor("VIEWER"), start, end, Interval.MONTH)
    mutated.clear()  # callers get their own list
    assert queries.wacc_series(tenant.actor("VIEWER"), start, end, Interval.MONTH) == after
    assert after[-1].wacc == Decimal("0.1")


def test_wacc_now_equals_the_active_sources_now(tenant):
    add_source(tenant.actor(), cents=100, rate="0.1", days=3)
    add_source(tenant.actor(), cents=300, rate="0.2", days=3)
    answer = queries.wacc(tenant.actor("VIEWER"))
    assert answer.summary.total_cents == 400 and str(answer.summary.wacc) == "0.1750000000"


def test_entries_read_by_position_equal_entries_read_by_name(tenant):
    from sqlalchemy import text

    from capital_app.db import history_repository as history
    from capital_app.db.unit_of_work import tenant_transaction

    source = add_source(tenant.actor(), cents=100, days=9)
    commands.update_amount(
        tenant.actor(), source_id=source, available_cents=200, effective_date=days_ago(3), notes="n"
    )
    commands.remove_source(tenant.actor(), source_id=source, effective_date=days_ago(1))
    sql = text(f"SELECT {history.ENTRY_COLUMNS} FROM capital_history h ORDER BY h.sequence")
    with tenant_transaction(tenant.org_id, read_only=True) as conn:
        by_name = [history.entry_from_row(r) for r in conn.execute(sql).mappings()]
        by_position = history.entries_from_rows(conn.execute(sql))
    assert by_position == by_name and len(by_name) == 3
    assert {e.effective_date.tzinfo for e in by_position} == {by_name[0].effective_date.tzinfo}
