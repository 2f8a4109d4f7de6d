"""What each command may do, decided from the source's state: pure and total.

The service layer loads the state (locked), asks these functions for the entry to
append, and writes it. Every refusal is a typed LedgerError with a message a
finance user can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from capital_app.domain.currencies import check_iso_currency, check_kind
from capital_app.domain.errors import (
    ChangeAfterRemoval,
    ErrorCollector,
    InvalidInput,
    NoChange,
    SequenceMismatch,
    SourceRemoved,
)
from capital_app.domain.events import SourceState
from capital_app.domain.money import format_money, format_rate
from capital_app.domain.values import (
    Action,
    check_cents,
    check_effective_date,
    check_name,
    check_notes,
    check_rate,
)


@dataclass(frozen=True, slots=True)
class PlannedEntry:
    """An entry ready to append (the database assigns id, revision, created_at)."""

    source_id: str
    sequence: int
    action: Action
    effective_date: datetime
    name: str
    annual_rate: Decimal
    available_cents: int
    previous_rate: Decimal | None
    previous_amount: int | None
    notes: str | None
    # Only on an ADDED entry (migration 0013); None: the organization's currency, debt.
    currency: str | None = None
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class NewSource:
    name: str
    annual_rate: Decimal
    available_cents: int
    effective_date: datetime
    notes: str | None
    currency: str | None = None
    kind: str | None = None


def _day(moment: datetime) -> str:
    return moment.strftime("%d %b %Y").lstrip("0")


def check_new_source(
    name: object,
    annual_rate: object,
    available_cents: object,
    effective_date: datetime,
    notes: object,
    now: datetime,
    currency: object = None,
    kind: object = None,
) -> NewSource:
    """Validate every field of an addition, reporting all failures together."""
    errors = ErrorCollector()
    clean_name = errors.check(check_name, name, "source.name")
    rate = errors.check(check_rate, annual_rate, "source.annualRate")
    cents = errors.check(check_cents, available_cents, "source.availableCents")
    effective = errors.check(check_effective_date, effective_date, now)
    clean_notes = errors.check(check_notes, notes)
    clean_currency = (
        errors.check(check_iso_currency, currency, "source.currency")
        if currency is not None
        else None
    )
    clean_kind = errors.check(check_kind, kind, "source.kind") if kind is not None else None
    errors.raise_if_any()
    assert clean_name is not None and rate is not None and cents is not None
    assert effective is not None
    return NewSource(
        clean_name,
        rate,
        cents,
        effective,
        clean_notes,
        clean_currency,
        clean_kind.value if clean_kind is not None else None,
    )


def plan_addition(source_id: str, new: NewSource) -> PlannedEntry:
    return PlannedEntry(
        source_id=source_id,
        sequence=1,
        action=Action.ADDED,
        effective_date=new.effective_date,
        name=new.name,
        annual_rate=new.annual_rate,
        available_cents=new.available_cents,
        previous_rate=None,
        previous_amount=None,
        notes=new.notes,
        currency=new.currency,
        kind=new.kind,
    )


def _check_can_change(current: SourceState, effective: datetime, expected: int | None) -> None:
    """Rules shared by every change of an existing source, in the order users need them."""
    if expected is not None and expected != current.sequence:
        raise SequenceMismatch(expected=expected, current=current.sequence)
    if not current.active:
        removed = _day(current.removed_date) if current.removed_date else "earlier"
        raise SourceRemoved(
            f"“{current.name}” was removed on {removed}; a removed source cannot change."
        )
    if effective < current.added_date:
        raise InvalidInput.one(
            "effectiveDate",
            f"Effective date cannot be before the source was added ({_day(current.added_date)}).",
        )


def plan_amount_change(
    current: SourceState,
    at_effective: SourceState,
    available_cents: object,
    effective: datetime,
    notes: str | None,
    expected: int | None,
) -> PlannedEntry:
    """`at_effective` is the source as of `effective` (differs from `current` when backdated)."""
    cents = check_cents(available_cents)
    _check_can_change(current, effective, expected)
    if cents == at_effective.available_cents:
        raise NoChange.one(
            "availableCents",
            f"The amount is already {format_money(cents)} on that date; nothing to change.",
        )
    return PlannedEntry(
        source_id=current.source_id,
        sequence=current.sequence + 1,
        action=Action.AMOUNT_CHANGED,
        effective_date=effective,
        name=current.name,
        annual_rate=at_effective.annual_rate,
        available_cents=cents,
        previous_rate=None,
        previous_amount=at_effective.available_cents,
        notes=notes,
    )


def plan_rate_change(
    current: SourceState,
    at_effective: SourceState,
    annual_rate: object,
    effective: datetime,
    notes: str | None,
    expected: int | None,
) -> PlannedEntry:
    rate = check_rate(annual_rate)
    _check_can_change(current, effective, expected)
    if rate == at_effective.annual_rate:
        raise NoChange.one(
            "annualRate",
            f"The rate is already {format_rate(rate)} on that date; nothing to change.",
        )
    return PlannedEntry(
        source_id=current.source_id,
        sequence=current.sequence + 1,
        action=Action.RATE_CHANGED,
        effective_date=effective,
        name=current.name,
        annual_rate=rate,
        available_cents=at_effective.available_cents,
        previous_rate=at_effective.annual_rate,
        previous_amount=None,
        notes=notes,
    )


def plan_removal(
    current: SourceState, effective: datetime, notes: str | None, expected: int | None
) -> PlannedEntry:
    _check_can_change(current, effective, expected)
    if effective < current.last_effective_date:
        raise ChangeAfterRemoval(
            f"A change effective {_day(current.last_effective_date)} is already recorded; "
            "the removal cannot take effect before it."
        )
    return PlannedEntry(
        source_id=current.source_id,
        sequence=current.sequence + 1,
        action=Action.REMOVED,
        effective_date=effective,
        name=current.name,
        annual_rate=current.annual_rate,
        available_cents=current.available_cents,
        previous_rate=None,
        previous_amount=None,
        notes=notes,
    )
