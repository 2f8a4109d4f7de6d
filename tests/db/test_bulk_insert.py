"""Bulk mode (migration 0002) keeps every rule of the row-by-row trigger.

For any batch of entries, one INSERT statement in bulk mode is accepted exactly
when the same statement is accepted row by row, and leaves exactly the same
history and projection. The statement check runs whatever the setting says.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from capital_app.db import history_repository as history
from capital_app.db import import_export_repository as import_export
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.events import HistoryEntry
from capital_app.domain.fold import fold
from capital_app.domain.values import Action
from capital_app.service.projections import rebuild_projections
from tests.support.factories import Tenant, make_tenant

BASE = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def pair(database_url: str) -> tuple[Tenant, Tenant]:
    return make_tenant("Rows"), make_tenant("Bulk")


def row(source: str, sequence: int, action: Action, day: int, value: int = 5, **kw) -> HistoryEntry:
    return HistoryEntry(
        id=kw.pop("id", f"{source}-{sequence}-{secrets.token_hex(3)}"),
        source_id=source,
        sequence=sequence,
        action=action,
        effective_date=BASE + timedelta(days=day),
        name=kw.pop("name", f"name {source}"),
        annual_rate=Decimal(value % 100) / 100,
        available_cents=value,
        previous_rate=Decimal("0.5") if action is Action.RATE_CHANGED else None,
        previous_amount=7 if action is Action.AMOUNT_CHANGED else None,
        original_created_at=BASE + timedelta(days=400, seconds=sequence),
        **kw,
    )


def insert(conn: Connection, org: UUID, rows: list[HistoryEntry], bulk: bool) -> None:
    if bulk:
        import_export.enable_bulk_insert(conn)
    import_export.insert_entries(conn, org, rows, recorded_by=None, import_id=None)


def attempt(
    org: UUID, before: list[HistoryEntry], rows: list[HistoryEntry], bulk: bool
) -> str | None:
    """Insert `before` row by row, then `rows` in one statement; the refusing constraint."""
    try:
        with tenant_transaction(org) as conn:
            history.claim_transaction_revision(conn, org)
            if before:
                insert(conn, org, before, bulk=False)
            insert(conn, org, rows, bulk=bulk)
    except DBAPIError as error:
        diag = getattr(error.orig, "diag", None)
        return getattr(diag, "constraint_name", None) or type(error.orig).__name__
    return None


def stored(org: UUID, sources: set[str]) -> tuple[list[tuple], list[tuple]]:
    """History rows and projection rows of some sources, without tenant and revision."""
    with tenant_transaction(org, read_only=True) as conn:
        entries = [
            (
                e.id,
                e.source_id,
                e.sequence,
                e.action,
                e.effective_date,
                e.name,
                e.annual_rate,
                e.available_cents,
                e.previous_rate,
                e.previous_amount,
                e.original_created_at,
            )
            for e in history.all_entries(conn, org)
            if e.source_id in sources
        ]
        states = [s for s in history.all_sources(conn, org) if s.source_id in sources]
    return entries, states


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[HistoryEntry], list[HistoryEntry]]:
    """A few sources' entries, mostly valid, sometimes breaking one rule or another."""
    tag = secrets.token_hex(4)
    per_source: list[list[HistoryEntry]] = []
    for n in range(draw(st.integers(1, 3))):
        source = f"s{n}-{tag}"
        count = draw(st.integers(1, 7))
        sequences = list(range(1, count + 1))
        if count > 2 and draw(st.integers(0, 5)) == 0:  # a gap or a repeat
            sequences[-1] += draw(st.sampled_from([1, -1]))
        changes = [Action.AMOUNT_CHANGED, Action.RATE_CHANGED]
        actions = [Action.ADDED] + [draw(st.sampled_from(changes)) for _ in range(count - 1)]
        if count > 1 and draw(st.booleans()):
            actions[-1] = Action.REMOVED
        rare = draw(st.integers(0, 24))  # now and then, break one rule
        if rare == 0:
            actions[0] = Action.AMOUNT_CHANGED  # no ADDED
        elif rare == 1 and count > 2:
            actions[1] = Action.REMOVED  # changes after a removal
        start = draw(st.integers(0, 10))
        days = [start] + [start + draw(st.integers(0, 30)) for _ in range(count - 1)]
        if actions[-1] is Action.REMOVED and count > 1:
            days[-1] = max(days) + draw(st.integers(0, 3))
        if rare == 2 and count > 1:
            days[-1] = start - 1  # before the source was added
        elif rare == 3 and count > 2 and actions[-1] is Action.REMOVED:
            days[-1] = max(days[:-1]) - 1  # a removal before a change
        elif rare == 4:
            days[-1] = 10_000  # in the future
        per_source.append(
            [
                row(source, sequence, action, day, draw(st.integers(1, 10**6)))
                for sequence, action, day in zip(sequences, actions, days, strict=True)
            ]
        )
    # Some of each source may already be stored; the rest arrives in one statement,
    # sources interleaved but each in its own sequence order.
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


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=batches())
def test_bulk_mode_accepts_and_stores_exactly_what_row_mode_does(
    pair: tuple[Tenant, Tenant], batch: tuple[list[HistoryEntry], list[HistoryEntry]]
) -> None:
    rows_org, bulk_org = pair[0].org_id, pair[1].org_id
    before, statement = batch
    by_rows = attempt(rows_org, before, statement, bulk=False)
    by_bulk = attempt(bulk_org, before, statement, bulk=True)
    assert (by_rows is None) == (by_bulk is None), (by_rows, by_bulk)
    event("accepted" if by_bulk is None else f"refused: {by_bulk}")
    sources = {e.source_id for e in before + statement}
    assert stored(rows_org, sources) == stored(bulk_org, sources)
    if by_bulk is None:
        _entries, states = stored(bulk_org, sources)
        assert {s.source_id: s for s in states} == fold(before + statement)


def test_a_shuffled_statement_is_folded_in_sequence_order(pair: tuple[Tenant, Tenant]) -> None:
    org = pair[1].org_id
    rows = [
        row("shuffled", 1, Action.ADDED, 0, 100),
        row("shuffled", 2, Action.AMOUNT_CHANGED, 10, 200),
        row("shuffled", 3, Action.AMOUNT_CHANGED, 5, 300),  # backdated: 200 stays current
        row("shuffled", 4, Action.RATE_CHANGED, 10, 42),
    ]
    assert attempt(org, rows[:1], [rows[3], rows[1], rows[2]], bulk=True) is None
    [state] = stored(org, {"shuffled"})[1]
    assert state == fold(rows)["shuffled"]
    assert (state.available_cents, state.annual_rate, state.sequence) == (200, Decimal("0.42"), 4)


def cases() -> Iterator[tuple[str, list[HistoryEntry], list[HistoryEntry], str]]:
    def s(name: str) -> str:
        return f"{name}-{secrets.token_hex(3)}"

    a = s("gap")
    yield (
        "gap",
        [row(a, 1, Action.ADDED, 0)],
        [row(a, 3, Action.AMOUNT_CHANGED, 1)],
        "capital_history_sequence_gapless",
    )
    a = s("gap-in-statement")
    yield (
        "gap in statement",
        [row(a, 1, Action.ADDED, 0)],
        [row(a, 2, Action.AMOUNT_CHANGED, 1), row(a, 4, Action.AMOUNT_CHANGED, 2)],
        "capital_history_sequence_gapless",
    )
    a = s("repeat")
    yield (
        "repeat",
        [row(a, 1, Action.ADDED, 0)],
        [row(a, 2, Action.AMOUNT_CHANGED, 1), row(a, 2, Action.RATE_CHANGED, 2)],
        "capital_history_source_sequence_key",
    )
    a = s("no-sequence")
    yield (
        "sequence not beyond the stored one",
        [row(a, 1, Action.ADDED, 0)],
        [row(a, 1, Action.AMOUNT_CHANGED, 1)],
        "capital_history_sequence_gapless",
    )
    a = s("after-removed")
    yield (
        "after removal in the statement",
        [row(a, 1, Action.ADDED, 0)],
        [row(a, 2, Action.REMOVED, 5), row(a, 3, Action.AMOUNT_CHANGED, 6)],
        "capital_history_nothing_after_removed",
    )
    a = s("after-stored-removal")
    yield (
        "after a stored removal",
        [row(a, 1, Action.ADDED, 0), row(a, 2, Action.REMOVED, 5)],
        [row(a, 3, Action.AMOUNT_CHANGED, 6)],
        "capital_history_nothing_after_removed",
    )
    a = s("early-removal")
    yield (
        "removal before a change",
        [row(a, 1, Action.ADDED, 0)],
        [row(a, 2, Action.AMOUNT_CHANGED, 9), row(a, 3, Action.REMOVED, 5)],
        "capital_history_nothing_after_removed",
    )
    a = s("early-removal-stored")
    yield (
        "removal before a stored change",
        [row(a, 1, Action.ADDED, 0), row(a, 2, Action.RATE_CHANGED, 9)],
        [row(a, 3, Action.REMOVED, 5)],
        "capital_history_nothing_after_removed",
    )
    a = s("before-added")
    yield (
        "before added",
        [row(a, 1, Action.ADDED, 5)],
        [row(a, 2, Action.AMOUNT_CHANGED, 1)],
        "capital_history_not_before_added",
    )
    a = s("future")
    yield (
        "future",
        [row(a, 1, Action.ADDED, 0)],
        [row(a, 2, Action.AMOUNT_CHANGED, 100_000)],
        "capital_history_effective_not_future",
    )
    a = s("no-added")
    yield "no ADDED", [], [row(a, 2, Action.AMOUNT_CHANGED, 1)], "capital_history_source_added"
    a = s("added-twice")
    yield (
        "added twice",
        [row(a, 1, Action.ADDED, 0)],
        [row(a, 1, Action.ADDED, 1)],
        "capital_history_one_added_key",
    )


@pytest.mark.parametrize(
    ("name", "before", "rows", "constraint"),
    list(cases()),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_each_rule_holds_in_bulk_mode(
    pair: tuple[Tenant, Tenant], name: str, before: list, rows: list, constraint: str
) -> None:
    assert attempt(pair[1].org_id, before, rows, bulk=True) == constraint, name


def test_the_statement_check_does_not_trust_the_setting(pair: tuple[Tenant, Tenant]) -> None:
    """A row deferred in bulk mode is checked even if the setting is off by the statement's end."""
    org = pair[1].org_id
    a, b = f"flip-{secrets.token_hex(3)}", f"other-{secrets.token_hex(3)}"
    with tenant_transaction(org) as conn:
        history.claim_transaction_revision(conn, org)
        import_export.insert_entries(
            conn,
            org,
            [
                row(a, 1, Action.ADDED, 0),
                row(a, 2, Action.AMOUNT_CHANGED, 9),
                row(b, 1, Action.ADDED, 0),
            ],
            recorded_by=None,
            import_id=None,
        )
    bad = row(a, 3, Action.REMOVED, 5)  # before the change on day 9
    fine = row(b, 2, Action.AMOUNT_CHANGED, 3)
    statement = text(
        """
        INSERT INTO capital_history (organization_id, id, source_id, sequence, action,
            effective_date, name, annual_rate, available_cents, previous_amount, created_at,
            revision)
        SELECT CAST(:org AS uuid), v.id, v.source_id, v.sequence, v.action,
               CAST(v.effective AS timestamptz), v.name, 0.1, 5, v.previous,
               now(), CASE WHEN set_config('capital.bulk_insert', v.flag, true) IS NULL THEN 0 ELSE 0 END
          FROM (VALUES (:id1, :s1, 3, 'REMOVED', :e1, :n1, CAST(NULL AS bigint), 'on'),
                       (:id2, :s2, 2, 'AMOUNT_CHANGED', :e2, :n2, CAST(7 AS bigint), 'off'))
               AS v(id, source_id, sequence, action, effective, name, previous, flag)
        """
    )
    with pytest.raises(DBAPIError) as refused, tenant_transaction(org) as conn:
        history.claim_transaction_revision(conn, org)
        conn.execute(
            statement,
            {
                "org": str(org),
                "id1": bad.id,
                "s1": a,
                "e1": bad.effective_date.isoformat(),
                "n1": bad.name,
                "id2": fine.id,
                "s2": b,
                "e2": fine.effective_date.isoformat(),
                "n2": fine.name,
            },
        )
    assert refused.value.orig.diag.constraint_name == "capital_history_nothing_after_removed"


def test_append_only_still_holds_after_a_bulk_insert(pair: tuple[Tenant, Tenant]) -> None:
    org = pair[1].org_id
    a = f"append-{secrets.token_hex(3)}"
    assert (
        attempt(
            org, [], [row(a, 1, Action.ADDED, 0), row(a, 2, Action.AMOUNT_CHANGED, 1)], bulk=True
        )
        is None
    )
    for sql in (
        "UPDATE capital_history SET notes = 'x' WHERE source_id = :s",
        "DELETE FROM capital_history WHERE source_id = :s",
    ):
        with pytest.raises(DBAPIError), tenant_transaction(org) as conn:
            conn.execute(text(sql), {"s": a})


def test_rebuilding_projections_after_bulk_inserts_changes_nothing(database_url: str) -> None:
    tenant = make_tenant("Rebuild")
    org = tenant.org_id
    rows = [
        row("r", 1, Action.ADDED, 0, 100),
        row("r", 2, Action.AMOUNT_CHANGED, 20, 150),
        row("r", 3, Action.RATE_CHANGED, 10, 30),
        row("r", 4, Action.AMOUNT_CHANGED, 15, 120),
        row("q", 1, Action.ADDED, 3, 9),
        row("q", 2, Action.REMOVED, 30, 9),
    ]
    assert attempt(org, rows[:1], rows[1:], bulk=True) is None
    report = rebuild_projections(org)
    assert (report.sources, report.corrected) == (2, 0)
