"""The four commands against real PostgreSQL: rules, roles, conflicts, idempotency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from capital_app.domain.commands import (
    AddSource,
    ChangeAmount,
    ChangeRate,
    RemoveSource,
    SourceTerms,
)
from capital_app.domain.values import Action
from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from capital_app.service.errors import (
    ChangeAfterRemoval,
    Forbidden,
    IdempotencyKeyReused,
    InvalidInput,
    NameTaken,
    NoChange,
    NotFound,
    SequenceMismatch,
    SourceRemoved,
    Unauthenticated,
)
from capital_app.service.users import update_user
from tests.support.factories import add_source, days_ago


def _history(actor, source_id):
    return queries.source_history(actor, source_id)


def test_add_change_and_remove_a_source(tenant):
    editor = tenant.actor()
    added = commands.add_source(
        editor,
        name="  KCB term loan ",
        annual_rate=Decimal("0.14"),
        available_cents=250_000_000_00,
        effective_date=days_ago(60),
        notes="facility letter 12/2025",
    )
    assert added.entry.name == "KCB term loan"
    assert added.entry.sequence == 1 and added.entry.action is Action.ADDED
    assert added.entry.created_by == str(tenant.editor.id)
    sid = added.source_id
    amount = commands.update_amount(
        editor, source_id=sid, available_cents=230_000_000_00, effective_date=days_ago(30)
    )
    assert (amount.entry.previous_amount, amount.entry.available_cents) == (
        250_000_000_00,
        230_000_000_00,
    )
    rate = commands.update_rate(
        editor,
        source_id=sid,
        annual_rate=Decimal("0.1325"),
        effective_date=days_ago(20),
        expected_sequence=2,
    )
    assert (rate.entry.previous_rate, rate.entry.annual_rate) == (
        Decimal("0.14"),
        Decimal("0.1325"),
    )
    assert rate.entry.available_cents == 230_000_000_00
    removed = commands.remove_source(editor, source_id=sid, effective_date=days_ago(1))
    assert removed.entry.sequence == 4
    assert [e.action for e in _history(editor, sid)] == [
        Action.ADDED,
        Action.AMOUNT_CHANGED,
        Action.RATE_CHANGED,
        Action.REMOVED,
    ]
    assert queries.active_sources(editor) == []
    revisions = [e.revision for e in _history(editor, sid)]
    assert revisions == sorted(revisions) and len(set(revisions)) == 4


def test_backdated_change_uses_the_terms_in_effect_then(tenant):
    editor = tenant.actor()
    sid = add_source(editor, cents=100_00, rate="0.10", days=90)
    commands.update_rate(
        editor, source_id=sid, annual_rate=Decimal("0.12"), effective_date=days_ago(30)
    )
    backdated = commands.update_amount(
        editor, source_id=sid, available_cents=150_00, effective_date=days_ago(60)
    )
    assert backdated.entry.annual_rate == Decimal("0.10")  # the rate on that date
    assert backdated.entry.previous_amount == 100_00
    current = queries.get_source(editor, sid)
    assert (current.available_cents, current.annual_rate) == (150_00, Decimal("0.12"))
    # A later, backdated change to an older date does not overwrite the newer amount.
    commands.update_amount(
        editor, source_id=sid, available_cents=120_00, effective_date=days_ago(75)
    )
    assert queries.get_source(editor, sid).available_cents == 150_00


def test_every_bad_field_is_reported_and_nothing_is_written(tenant):
    editor = tenant.actor()
    with pytest.raises(InvalidInput) as caught:
        commands.add_source(
            editor,
            name="",
            annual_rate=Decimal("1.5"),
            available_cents=0,
            effective_date=datetime.now(UTC) + timedelta(hours=1),
            notes="x" * 3000,
        )
    assert len(caught.value.errors) == 5
    assert queries.count_history(editor) == 0


def test_names_are_unique_among_active_sources_ignoring_case(tenant):
    editor = tenant.actor()
    sid = add_source(editor, name="Equity Bank revolving credit")
    with pytest.raises(NameTaken):
        add_source(editor, name="EQUITY BANK Revolving Credit")
    commands.remove_source(editor, source_id=sid, effective_date=days_ago(0))
    add_source(editor, name="Equity Bank revolving credit", days=0)  # the name is free again


def test_changes_that_change_nothing_are_refused(tenant):
    editor = tenant.actor()
    sid = add_source(editor, cents=500_00, rate="0.1")
    with pytest.raises(NoChange):
        commands.update_amount(
            editor, source_id=sid, available_cents=500_00, effective_date=days_ago(1)
        )
    with pytest.raises(NoChange):
        commands.update_rate(
            editor, source_id=sid, annual_rate=Decimal("0.100000"), effective_date=days_ago(1)
        )


def test_dates_before_added_and_after_removal(tenant):
    editor = tenant.actor()
    sid = add_source(editor, days=10)
    with pytest.raises(InvalidInput, match="before the source was added"):
        commands.update_amount(
            editor, source_id=sid, available_cents=7, effective_date=days_ago(11)
        )
    commands.update_amount(editor, source_id=sid, available_cents=7, effective_date=days_ago(2))
    with pytest.raises(ChangeAfterRemoval):
        commands.remove_source(editor, source_id=sid, effective_date=days_ago(3))
    commands.remove_source(editor, source_id=sid, effective_date=days_ago(1))
    with pytest.raises(SourceRemoved):
        commands.update_rate(
            editor, source_id=sid, annual_rate=Decimal("0.2"), effective_date=days_ago(0)
        )
    with pytest.raises(SourceRemoved):
        commands.remove_source(editor, source_id=sid, effective_date=days_ago(0))


def test_expected_sequence_mismatch_writes_nothing_and_shows_the_latest_entry(tenant):
    editor = tenant.actor()
    sid = add_source(editor)
    latest = commands.update_rate(
        editor, source_id=sid, annual_rate=Decimal("0.2"), effective_date=days_ago(1)
    )
    with pytest.raises(SequenceMismatch) as caught:
        commands.update_amount(
            editor,
            source_id=sid,
            available_cents=42,
            effective_date=days_ago(0),
            expected_sequence=1,
        )
    assert caught.value.current == 2
    assert caught.value.latest_entry == latest.entry
    assert len(_history(editor, sid)) == 2


def test_unknown_and_foreign_sources_are_not_found(tenant, other_tenant):
    foreign = add_source(other_tenant.actor())
    for sid in ("no-such-source", foreign):
        with pytest.raises(NotFound):
            commands.update_amount(
                tenant.actor(), source_id=sid, available_cents=1, effective_date=days_ago(0)
            )
        with pytest.raises(NotFound):
            queries.source_history(tenant.actor(), sid)
    assert len(_history(other_tenant.actor(), foreign)) == 1


def test_viewers_cannot_write_and_role_changes_apply_at_once(tenant):
    with pytest.raises(Forbidden):
        add_source(tenant.actor("VIEWER"))
    update_user(tenant.actor("ADMIN"), tenant.viewer.id, role="EDITOR")
    add_source(tenant.actor("VIEWER"))  # promoted: allowed on the very next call
    update_user(tenant.actor("ADMIN"), tenant.editor.id, active=False)
    with pytest.raises(Unauthenticated):
        add_source(tenant.actor("EDITOR"))
    with pytest.raises(Unauthenticated):
        queries.active_sources(tenant.actor("EDITOR"))


def test_idempotent_retry_returns_the_first_answer(tenant):
    editor = tenant.actor()
    when = days_ago(1)
    command = AddSource(SourceTerms("Retry", Decimal("0.1"), 5), when)
    first = commands.execute(editor, command, "retry-1")
    # the same command spelled differently (trailing zeros, spaces, another zone)
    spelled = AddSource(
        SourceTerms(" Retry ", Decimal("0.100"), 5), when.astimezone(timezone(timedelta(hours=3)))
    )
    again = commands.execute(editor, spelled, "retry-1")
    assert again.replayed and again.entry == first.entry
    with pytest.raises(IdempotencyKeyReused):
        commands.execute(
            editor, AddSource(SourceTerms("Other", Decimal("0.1"), 5), when), "retry-1"
        )
    assert queries.count_history(editor) == 1


def test_an_idempotent_change_replays_and_refuses_a_different_one(tenant):
    editor = tenant.actor()
    sid = add_source(editor, cents=5, days=10)
    when = days_ago(1)
    first = commands.execute(editor, ChangeAmount(sid, 7, when, "n", 1), "change-1")
    again = commands.execute(editor, ChangeAmount(sid, 7, when, " n ", 1), "change-1")
    assert again.replayed and again.entry == first.entry
    for other in (
        ChangeAmount(sid, 8, when, "n", 1),
        ChangeRate(sid, Decimal("0.2"), when, "n", 1),
        RemoveSource(sid, when, "n", 1),
    ):
        with pytest.raises(IdempotencyKeyReused):
            commands.execute(editor, other, "change-1")
    assert queries.count_history(editor) == 2


def test_fields_are_checked_before_the_key_is_claimed(tenant):
    editor = tenant.actor()
    sid = add_source(editor, cents=5, days=10)
    with pytest.raises(InvalidInput):
        commands.execute(editor, ChangeAmount(sid, 0, days_ago(1)), "checked-first")
    # the refused command left the key free for a good one
    good = commands.execute(editor, ChangeAmount(sid, 6, days_ago(1)), "checked-first")
    assert not good.replayed


def add_source_with_key(tenant, key):
    return commands.add_source(
        tenant.actor(),
        name="Keyed",
        annual_rate=Decimal("0.1"),
        available_cents=5,
        effective_date=datetime(2026, 1, 1, tzinfo=UTC),
        idempotency_key=key,
    )


def test_idempotency_keys_belong_to_one_organization(tenant, other_tenant):
    mine = add_source_with_key(tenant, "shared-key")
    theirs = add_source_with_key(other_tenant, "shared-key")
    assert not theirs.replayed and theirs.source_id != mine.source_id
