"""Command rules: each refusal is typed and explains itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from capital_app.domain import rules
from capital_app.domain.errors import (
    ChangeAfterRemoval,
    InvalidInput,
    NoChange,
    SequenceMismatch,
    SourceRemoved,
)
from capital_app.domain.events import SourceState
from capital_app.domain.values import Action

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
ADDED = datetime(2026, 1, 1, tzinfo=UTC)
CURRENT = SourceState(
    source_id="s",
    name="KCB term loan",
    annual_rate=Decimal("0.14"),
    available_cents=250_000_000_00,
    active=True,
    added_date=ADDED,
    removed_date=None,
    rate_effective_date=datetime(2026, 3, 1, tzinfo=UTC),
    amount_effective_date=ADDED,
    last_effective_date=datetime(2026, 3, 1, tzinfo=UTC),
    sequence=2,
    latest_entry_id="e2",
)


def test_new_source_reports_every_bad_field_at_once():
    with pytest.raises(InvalidInput) as caught:
        rules.check_new_source("", Decimal("2"), 1.5, NOW + timedelta(days=1), None, NOW)
    fields = {e.field for e in caught.value.errors}
    assert fields == {"source.name", "source.annualRate", "source.availableCents", "effectiveDate"}


def test_amount_change_records_previous_amount_and_the_rate_in_effect_then():
    backdated = datetime(2026, 2, 1, tzinfo=UTC)
    at_then = replace(CURRENT, annual_rate=Decimal("0.15"))  # before the March repricing
    planned = rules.plan_amount_change(CURRENT, at_then, 200_000_000_00, backdated, "repaid", 2)
    assert planned.action is Action.AMOUNT_CHANGED
    assert planned.sequence == 3
    assert planned.previous_amount == 250_000_000_00
    assert planned.annual_rate == Decimal("0.15")
    assert planned.previous_rate is None


def test_rate_change_records_previous_rate():
    planned = rules.plan_rate_change(CURRENT, CURRENT, Decimal("0.1325"), NOW, None, None)
    assert (planned.previous_rate, planned.annual_rate) == (Decimal("0.14"), Decimal("0.1325"))
    assert planned.available_cents == CURRENT.available_cents


def test_a_change_that_changes_nothing_is_refused():
    with pytest.raises(NoChange, match="already KES 250,000,000.00"):
        rules.plan_amount_change(CURRENT, CURRENT, 250_000_000_00, NOW, None, None)
    with pytest.raises(NoChange, match="already 14.00 %"):
        rules.plan_rate_change(CURRENT, CURRENT, Decimal("0.140000"), NOW, None, None)


def test_expected_sequence_mismatch_is_a_conflict():
    with pytest.raises(SequenceMismatch) as caught:
        rules.plan_rate_change(CURRENT, CURRENT, Decimal("0.1"), NOW, None, 1)
    assert (caught.value.expected, caught.value.current) == (1, 2)


def test_nothing_before_the_source_was_added():
    with pytest.raises(InvalidInput, match="before the source was added"):
        rules.plan_rate_change(
            CURRENT, CURRENT, Decimal("0.1"), ADDED - timedelta(days=1), None, None
        )


def test_a_removed_source_cannot_change():
    removed = replace(CURRENT, active=False, removed_date=datetime(2026, 4, 1, tzinfo=UTC))
    with pytest.raises(SourceRemoved, match="removed on 1 Apr 2026"):
        rules.plan_amount_change(removed, removed, 1, NOW, None, None)
    with pytest.raises(SourceRemoved):
        rules.plan_removal(removed, NOW, None, None)


def test_removal_cannot_precede_a_recorded_change():
    with pytest.raises(ChangeAfterRemoval):
        rules.plan_removal(CURRENT, datetime(2026, 2, 1, tzinfo=UTC), None, None)
    planned = rules.plan_removal(CURRENT, CURRENT.last_effective_date, "repaid in full", 2)
    assert planned.action is Action.REMOVED and planned.sequence == 3
