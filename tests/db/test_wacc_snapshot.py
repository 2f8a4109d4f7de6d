"""The WACC snapshot (migration 0010) answers what the domain fold answers.

Random histories with backdated changes, same-moment ties and removals, written
row by row (one statement per entry, the app's commands) into one organization and
partly in one bulk statement (the importer's path) into another: after every
example both organizations hold the same per-day deltas, those are the domain's
`day_deltas`, the end-of-day sums of every day are what folding the history as of
that day's end gives, the exact probe path agrees to the last digit, and
recomputing the snapshot from scratch (the migration's backfill) changes nothing.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capital_app.db import history_repository as history
from capital_app.db import import_export_repository as transfer
from capital_app.db import snapshot_repository as snapshot
from capital_app.db.unit_of_work import owner_tenant_transaction, tenant_transaction
from capital_app.domain.events import HistoryEntry
from capital_app.domain.fold import active_states, fold
from capital_app.domain.series import Interval
from capital_app.domain.values import Action, end_of_day
from capital_app.domain.wacc import wacc_of
from capital_app.domain.wacc_snapshot import day_deltas
from capital_app.service import history_queries as queries
from capital_app.service.projections import verify_projections
from tests.support.factories import Tenant, make_tenant

BASE = datetime(2024, 3, 1, 6, tzinfo=UTC)
SPAN_HOURS = 24 * 12
DAYS = [BASE.date() + timedelta(days=d) for d in range(-1, 15)]


@pytest.fixture(scope="module")
def pair(database_url: str) -> tuple[Tenant, Tenant]:
    return make_tenant("Snapshot rows"), make_tenant("Snapshot bulk")


def entry(source: str, sequence: int, action: Action, hours: int, value: int) -> HistoryEntry:
    return HistoryEntry(
        id=f"{source}-{sequence}",
        source_id=source,
        sequence=sequence,
        action=action,
        # Whole hours: entries of one source often share a moment (the sequence decides).
        effective_date=BASE + timedelta(hours=hours),
        name=f"name {source}",
        annual_rate=Decimal(value % 997) / Decimal(1000),
        available_cents=value,
        previous_rate=Decimal("0.5") if action is Action.RATE_CHANGED else None,
        previous_amount=7 if action is Action.AMOUNT_CHANGED else None,
    )


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[HistoryEntry], list[HistoryEntry]]:
    """Valid histories of a few sources, changes often backdated; some stored before, the
    rest in one statement (each source in sequence order, sources interleaved)."""
    tag = secrets.token_hex(4)
    per_source: list[list[HistoryEntry]] = []
    for n in range(draw(st.integers(1, 4))):
        source = f"s{n}-{tag}"
        added = draw(st.integers(0, SPAN_HOURS // 2))
        entries = [entry(source, 1, Action.ADDED, added, draw(st.integers(1, 10**9)))]
        for sequence in range(2, draw(st.integers(1, 7)) + 1):
            action = draw(st.sampled_from([Action.AMOUNT_CHANGED, Action.RATE_CHANGED]))
            hours = added + draw(st.integers(0, SPAN_HOURS // 2))  # any order: backdating
            entries.append(entry(source, sequence, action, hours, draw(st.integers(1, 10**9))))
        if draw(st.booleans()):
            latest = max(e.effective_date for e in entries)
            hours = int((latest - BASE).total_seconds() // 3600) + draw(st.integers(0, 30))
            entries.append(entry(source, len(entries) + 1, Action.REMOVED, hours, 5))
        per_source.append(entries)
    before: list[HistoryEntry] = []
    pending: list[list[HistoryEntry]] = []
    for entries in per_source:
        cut = draw(st.integers(0, len(entries)))
        before += entries[:cut]
        pending.append(entries[cut:])
    statement: list[HistoryEntry] = []
    while any(pending):
        choice = draw(st.sampled_from([p for p in pending if p]))
        statement.append(choice.pop(0))
    return before, statement


def write_row_by_row(org: UUID, entries: list[HistoryEntry]) -> None:
    with tenant_transaction(org) as conn:
        history.claim_transaction_revision(conn, org)
        for one in entries:
            transfer.insert_entries(conn, org, [one], recorded_by=None, import_id=None)


def write_in_bulk(org: UUID, before: list[HistoryEntry], statement: list[HistoryEntry]) -> None:
    if before:
        write_row_by_row(org, before)
    with tenant_transaction(org) as conn:
        history.claim_transaction_revision(conn, org)
        transfer.enable_bulk_insert(conn)
        transfer.insert_entries(conn, org, statement, recorded_by=None, import_id=None)


def check_against_the_fold(org: UUID) -> dict:
    with tenant_transaction(org, read_only=True) as conn:
        entries = history.all_entries(conn, org)
        stored = snapshot.stored_deltas(conn, org)
        at_days = snapshot.sums_at(conn, org, DAYS)
        exact = history.series_sums(
            conn, org, [end_of_day(d) for d in DAYS], datetime.now(UTC) + timedelta(days=1)
        )
    assert stored == day_deltas(entries)
    for day in DAYS:
        want = wacc_of(
            (s.available_cents, s.annual_rate)
            for s in active_states(fold(entries, as_of=end_of_day(day)))
        )
        assert at_days[day].summary() == want, day
        probed = exact.get(end_of_day(day))
        if probed is None:
            assert want.source_count == 0
        else:
            assert (probed.total_cents, probed.weighted_cents, probed.source_count) == (
                at_days[day].total_cents,
                at_days[day].weighted_cents,
                at_days[day].source_count,
            )
    return stored


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=histories())
def test_snapshot_equals_the_fold_whether_written_row_by_row_or_in_bulk(
    pair: tuple[Tenant, Tenant], batch: tuple[list[HistoryEntry], list[HistoryEntry]]
) -> None:
    rows_org, bulk_org = pair[0].org_id, pair[1].org_id
    before, statement = batch
    write_row_by_row(rows_org, before + statement)
    write_in_bulk(bulk_org, before, statement)
    assert check_against_the_fold(rows_org) == check_against_the_fold(bulk_org)


def test_backfill_equals_incremental(pair: tuple[Tenant, Tenant]) -> None:
    """Recomputing from the whole history (what the migration does) changes nothing."""
    tenant = make_tenant("Snapshot backfill")
    org = tenant.org_id
    tag = secrets.token_hex(3)
    write_row_by_row(
        org,
        [
            entry(f"a{tag}", 1, Action.ADDED, 0, 1000),
            entry(f"a{tag}", 2, Action.AMOUNT_CHANGED, 100, 3000),
            entry(f"a{tag}", 3, Action.AMOUNT_CHANGED, 50, 2000),  # backdated
            entry(f"a{tag}", 4, Action.RATE_CHANGED, 30, 250),
            entry(f"b{tag}", 1, Action.ADDED, 10, 500),
            entry(f"b{tag}", 2, Action.REMOVED, 120, 500),
        ],
    )
    with tenant_transaction(org, read_only=True) as conn:
        incremental = snapshot.stored_deltas(conn, org)
    assert incremental
    with owner_tenant_transaction(org) as conn:
        snapshot.rebuild(conn, org)
    with tenant_transaction(org, read_only=True) as conn:
        assert snapshot.stored_deltas(conn, org) == incremental
    assert verify_projections(org).clean


def test_a_backdated_change_moves_the_days_it_should_and_no_others(database_url: str) -> None:
    tenant = make_tenant("Snapshot backdating")
    org, actor = tenant.org_id, tenant.actor()
    write_row_by_row(
        org,
        [
            entry("loan", 1, Action.ADDED, 0, 100_000),
            entry("loan", 2, Action.AMOUNT_CHANGED, 24 * 8, 300_000),
        ],
    )
    start, end = BASE.date(), BASE.date() + timedelta(days=10)
    series = queries.wacc_series(actor, start, end, Interval.DAY)
    write_row_by_row(org, [entry("loan", 3, Action.AMOUNT_CHANGED, 24 * 4, 200_000)])
    after = queries.wacc_series(actor, start, end, Interval.DAY)
    changed = {q.date: q.total_cents for p, q in zip(series, after, strict=True) if p != q}
    assert changed == {start + timedelta(days=d): 200_000 for d in range(4, 8)}


def test_end_of_day_as_of_wacc_comes_from_the_snapshot_and_agrees(database_url: str) -> None:
    tenant = make_tenant("Snapshot as of")
    org, actor = tenant.org_id, tenant.actor()
    write_row_by_row(
        org,
        [
            entry("x", 1, Action.ADDED, 0, 100_001),
            entry("y", 1, Action.ADDED, 5, 333_333),
            entry("x", 2, Action.RATE_CHANGED, 30, 123),
            entry("y", 2, Action.REMOVED, 60, 5),
        ],
    )
    for days in range(4):
        moment = end_of_day(BASE.date() + timedelta(days=days))
        from_snapshot = queries.wacc(actor, as_of=moment).summary
        with tenant_transaction(org, read_only=True) as conn:
            entries = history.all_entries(conn, org)
            probed = history.sources_as_of(conn, org, moment, datetime.now(UTC))
        want = wacc_of(
            (s.available_cents, s.annual_rate) for s in active_states(fold(entries, as_of=moment))
        )
        assert from_snapshot == want == wacc_of((s.available_cents, s.annual_rate) for s in probed)
