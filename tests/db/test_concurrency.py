"""Concurrent writers to one source: serialized, gapless, nothing lost."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from capital_app.domain.errors import LedgerError, SequenceMismatch
from capital_app.domain.values import Action
from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from tests.support.factories import add_source, days_ago

WRITERS = 50


def test_fifty_concurrent_amount_updates_are_all_kept_in_order(tenant):
    editor = tenant.actor()
    sid = add_source(editor, cents=1, days=5)
    effective = days_ago(1)  # one date for all: fold order is then recording order

    def write(i: int) -> int | LedgerError:
        try:
            result = commands.update_amount(
                editor, source_id=sid, available_cents=1_000 + i, effective_date=effective
            )
            return result.entry.sequence
        except LedgerError as error:  # a clean, typed failure is acceptable; a crash is not
            return error

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        outcomes = list(pool.map(write, range(WRITERS)))

    succeeded = [o for o in outcomes if isinstance(o, int)]
    assert len(succeeded) == WRITERS, [o for o in outcomes if not isinstance(o, int)]
    history = queries.source_history(editor, sid)
    assert [e.sequence for e in history] == list(range(1, WRITERS + 2))
    assert sorted(e.available_cents for e in history[1:]) == [1_000 + i for i in range(WRITERS)]
    # No lost update: each change's previous amount is the amount just before it.
    for before, after in itertools.pairwise(history):
        assert after.previous_amount == before.available_cents
    assert queries.get_source(editor, sid).available_cents == history[-1].available_cents


def test_concurrent_writers_with_the_same_expected_sequence_only_one_wins(tenant):
    editor = tenant.actor()
    sid = add_source(editor, rate="0.1", days=5)

    def write(i: int) -> str:
        try:
            commands.update_rate(
                editor,
                source_id=sid,
                annual_rate=Decimal("0.2") + Decimal(i).scaleb(-6),
                effective_date=days_ago(1),
                expected_sequence=1,
            )
            return "ok"
        except SequenceMismatch:
            return "conflict"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(write, range(20)))
    assert outcomes.count("ok") == 1 and outcomes.count("conflict") == 19
    history = queries.source_history(editor, sid)
    assert [e.action for e in history] == [Action.ADDED, Action.RATE_CHANGED]


def test_writers_of_different_organizations_do_not_block_each_other(tenant, other_tenant):
    mine, theirs = tenant.actor(), other_tenant.actor()
    a, b = add_source(mine, days=5), add_source(theirs, days=5)

    def write(i: int) -> int:
        actor, sid = (mine, a) if i % 2 else (theirs, b)
        return commands.update_amount(
            actor, source_id=sid, available_cents=10 + i, effective_date=days_ago(1)
        ).entry.revision

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(write, range(20)))
    for actor, sid in ((mine, a), (theirs, b)):
        entries = sorted(queries.source_history(actor, sid), key=lambda e: e.sequence)
        # Each organization counts its own revisions, in the order its writes committed.
        assert [e.revision for e in entries] == list(range(1, 12))
