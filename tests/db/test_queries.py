"""Queries agree with the domain fold: as-of, known-at, paging, series."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capital_app.domain.errors import LedgerError
from capital_app.domain.fold import active_states, fold
from capital_app.domain.series import Interval
from capital_app.domain.values import Action
from capital_app.domain.wacc import wacc_of
from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from capital_app.service.errors import InvalidInput
from capital_app.service.projections import rebuild_projections
from tests.support.factories import days_ago, make_tenant


def _pause() -> datetime:
    """A moment strictly between two transactions' recording times."""
    time.sleep(0.01)
    moment = datetime.now(UTC)
    time.sleep(0.01)
    return moment


def test_as_of_and_known_at_on_a_history_with_backdated_corrections(tenant):
    editor = tenant.actor()
    loan = commands.add_source(
        editor,
        name="KCB term loan",
        annual_rate=Decimal("0.14"),
        available_cents=250_000_000_00,
        effective_date=days_ago(100),
    ).source_id
    equity = commands.add_source(
        editor,
        name="Founder equity",
        annual_rate=Decimal("0.22"),
        available_cents=150_000_000_00,
        effective_date=days_ago(90),
    ).source_id
    commands.update_rate(
        editor, source_id=loan, annual_rate=Decimal("0.1325"), effective_date=days_ago(40)
    )
    before_correction = _pause()
    # Recorded now: the loan was in fact reduced 60 days ago, and equity left 10 days ago.
    commands.update_amount(
        editor, source_id=loan, available_cents=200_000_000_00, effective_date=days_ago(60)
    )
    commands.remove_source(editor, source_id=equity, effective_date=days_ago(10))

    def terms(as_of, known_at=None):
        return {
            s.name: (s.available_cents, s.annual_rate)
            for s in queries.active_sources(editor, as_of=as_of, known_at=known_at)
        }

    assert terms(days_ago(95)) == {"KCB term loan": (250_000_000_00, Decimal("0.14"))}
    assert terms(days_ago(50)) == {
        "KCB term loan": (200_000_000_00, Decimal("0.14")),
        "Founder equity": (150_000_000_00, Decimal("0.22")),
    }
    assert terms(days_ago(20)) == {
        "KCB term loan": (200_000_000_00, Decimal("0.1325")),
        "Founder equity": (150_000_000_00, Decimal("0.22")),
    }
    assert terms(None) == {"KCB term loan": (200_000_000_00, Decimal("0.1325"))}
    # What we believed before the corrections were recorded:
    assert terms(days_ago(20), before_correction) == {
        "KCB term loan": (250_000_000_00, Decimal("0.1325")),
        "Founder equity": (150_000_000_00, Decimal("0.22")),
    }
    assert terms(None, before_correction) == terms(days_ago(20), before_correction)
    old_view = queries.wacc(editor, as_of=days_ago(20), known_at=before_correction).summary
    assert old_view.total_cents == 400_000_000_00
    assert old_view.wacc == Decimal("0.1653125000")  # (250M × 13.25 % + 150M × 22 %) / 400M
    assert queries.wacc(editor, as_of=days_ago(200)).summary.wacc is None


def test_the_sequence_reported_is_the_latest_known(tenant):
    editor = tenant.actor()
    sid = commands.add_source(
        editor,
        name="Loan",
        annual_rate=Decimal("0.1"),
        available_cents=5,
        effective_date=days_ago(10),
    ).source_id
    commands.update_amount(editor, source_id=sid, available_cents=6, effective_date=days_ago(1))
    commands.update_amount(editor, source_id=sid, available_cents=7, effective_date=days_ago(5))
    (now_view,) = queries.active_sources(editor)
    (past_view,) = queries.active_sources(editor, as_of=days_ago(3))
    assert now_view.sequence == past_view.sequence == 3
    assert past_view.available_cents == 7 and now_view.available_cents == 6
    assert past_view.last_changed_date < now_view.last_changed_date


def test_history_pages_cover_everything_once_in_order(tenant):
    editor = tenant.actor()
    for i in range(7):
        commands.add_source(
            editor,
            name=f"S{i}",
            annual_rate=Decimal("0.1"),
            available_cents=1 + i,
            effective_date=days_ago(10 - i % 3),
        )
    for order in ("effective", "effective_desc", "recorded_desc"):
        seen, cursor = [], None
        while True:
            page = queries.list_history(editor, order=order, cursor=cursor, limit=3)
            seen += page.entries
            cursor = page.next_cursor
            if cursor is None:
                break
        assert len(seen) == 7 and len({e.id for e in seen}) == 7
        if order == "effective":
            assert seen == sorted(seen, key=lambda e: (e.effective_date, e.sequence, e.source_id))
    with pytest.raises(InvalidInput, match="cursor"):
        queries.list_history(editor, cursor="not-a-cursor", limit=3)
    with pytest.raises(InvalidInput, match="Limit"):
        queries.list_history(editor, limit=1001)


def test_history_filters_combine(tenant):
    editor = tenant.actor()
    sid = commands.add_source(
        editor, name="A", annual_rate=Decimal("0.1"), available_cents=5, effective_date=days_ago(20)
    ).source_id
    commands.add_source(
        editor, name="B", annual_rate=Decimal("0.1"), available_cents=5, effective_date=days_ago(20)
    )
    commands.update_amount(editor, source_id=sid, available_cents=9, effective_date=days_ago(5))
    amounts = queries.list_history(editor, action=Action.AMOUNT_CHANGED).entries
    assert [e.available_cents for e in amounts] == [9]
    assert len(queries.list_history(editor, source_id=sid).entries) == 2
    assert len(queries.list_history(editor, start=days_ago(10)).entries) == 1
    assert len(queries.list_history(editor, end=days_ago(10)).entries) == 2
    assert queries.count_history(editor, source_id=sid, action=Action.ADDED) == 1


def test_changes_since_a_revision(tenant):
    editor = tenant.actor()
    start = queries.current_revision(editor)
    sid = commands.add_source(
        editor, name="A", annual_rate=Decimal("0.1"), available_cents=5, effective_date=days_ago(2)
    ).source_id
    commands.update_amount(editor, source_id=sid, available_cents=6, effective_date=days_ago(1))
    entries, revision = queries.changes_since(editor, start)
    assert [e.available_cents for e in entries] == [5, 6]
    assert revision == start + 2
    assert queries.changes_since(editor, revision) == ([], revision)


# --- randomized: SQL answers == the domain fold ---------------------------------

operation = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 300), st.integers(1, 10**9), st.integers(0, 10**6)),
    st.tuples(st.just("amount"), st.integers(0, 9), st.integers(0, 300), st.integers(1, 10**9)),
    st.tuples(st.just("rate"), st.integers(0, 9), st.integers(0, 300), st.integers(0, 10**6)),
    st.tuples(st.just("remove"), st.integers(0, 9), st.integers(0, 300)),
)


def _apply(actor, script, now):
    sources: list[str] = []
    for op in script:
        try:
            if op[0] == "add":
                _, days, cents, rate = op
                sources.append(
                    commands.add_source(
                        actor,
                        name=f"Source {len(sources)}",
                        annual_rate=Decimal(rate).scaleb(-6),
                        available_cents=cents,
                        effective_date=now - timedelta(days=days),
                    ).source_id
                )
            elif not sources:
                continue
            elif op[0] == "amount":
                _, i, days, cents = op
                commands.update_amount(
                    actor,
                    source_id=sources[i % len(sources)],
                    available_cents=cents,
                    effective_date=now - timedelta(days=days),
                )
            elif op[0] == "rate":
                _, i, days, rate = op
                commands.update_rate(
                    actor,
                    source_id=sources[i % len(sources)],
                    annual_rate=Decimal(rate).scaleb(-6),
                    effective_date=now - timedelta(days=days),
                )
            else:
                _, i, days = op
                commands.remove_source(
                    actor,
                    source_id=sources[i % len(sources)],
                    effective_date=now - timedelta(days=days),
                )
        except LedgerError:
            pass  # a refused command (before ADDED, after removal, no change…) writes nothing
    return sources


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    script=st.lists(operation, min_size=1, max_size=30),
    probes=st.lists(st.integers(0, 320), min_size=3, max_size=6),
)
def test_sql_as_of_answers_and_the_projection_equal_the_fold(database_url, script, probes):
    tenant = make_tenant("Random")
    editor = tenant.actor()
    now = datetime.now(UTC)
    half = len(script) // 2
    _apply(editor, script[:half], now)
    midway = _pause()
    _apply(editor, script[half:], now)
    entries = queries.list_history(editor, limit=1000).entries

    for days in probes:
        as_of = now - timedelta(days=days)
        for known_at in (None, midway):
            expected = {
                s.source_id: (s.name, s.available_cents, s.annual_rate)
                for s in active_states(fold(entries, as_of=as_of, known_at=known_at))
            }
            answered = {
                s.source_id: (s.name, s.available_cents, s.annual_rate)
                for s in queries.active_sources(editor, as_of=as_of, known_at=known_at)
            }
            assert answered == expected
            assert queries.wacc(editor, as_of=as_of, known_at=known_at).summary == wacc_of(
                (c, r) for _, c, r in expected.values()
            )

    current = {s.source_id: s for s in active_states(fold(entries))}
    assert {s.source_id: s.available_cents for s in queries.active_sources(editor)} == {
        k: v.available_cents for k, v in current.items()
    }
    series = queries.wacc_series(
        editor, date.today() - timedelta(days=320), date.today(), Interval.WEEK
    )
    for point in series:
        day_end = datetime.combine(point.date, datetime.max.time(), tzinfo=UTC)
        expected = wacc_of(s.terms for s in active_states(fold(entries, as_of=day_end)))
        assert (point.total_cents, point.wacc, point.source_count) == (
            expected.total_cents,
            expected.wacc,
            expected.source_count,
        )
    # The trigger-maintained projection equals a rebuild from history by the domain fold.
    assert rebuild_projections(tenant.org_id).corrected == 0
