"""Folding events into state: the definition every query must agree with.

State as of `as_of`, as known at `known_at` = apply, in (effective date,
sequence) order, the events with effective_date <= as_of and created_at <=
known_at. ADDED sets every term, AMOUNT_CHANGED only the amount, RATE_CHANGED
only the rate, REMOVED only the status — so a backdated correction changes the
past without overwriting later changes of the other term.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TypedDict

from capital_app.domain.events import HistoryEntry, SourceState
from capital_app.domain.values import Action


class _Common(TypedDict):
    """The fields every event after ADDED moves forward."""

    last_effective_date: datetime
    sequence: int
    latest_entry_id: str


def apply_event(state: SourceState | None, event: HistoryEntry) -> SourceState:
    """One step of the fold. `event` must come after every event already in `state`."""
    if event.action is Action.ADDED:
        if state is not None:
            raise ValueError(f"source {event.source_id} was already added")
        return SourceState(
            source_id=event.source_id,
            name=event.name,
            annual_rate=event.annual_rate,
            available_cents=event.available_cents,
            active=True,
            added_date=event.effective_date,
            removed_date=None,
            rate_effective_date=event.effective_date,
            amount_effective_date=event.effective_date,
            last_effective_date=event.effective_date,
            sequence=event.sequence,
            latest_entry_id=event.id,
        )
    if state is None:
        raise ValueError(f"source {event.source_id} has an event before it was added")
    common: _Common = {
        "last_effective_date": max(state.last_effective_date, event.effective_date),
        "sequence": max(state.sequence, event.sequence),
        "latest_entry_id": event.id if event.sequence > state.sequence else state.latest_entry_id,
    }
    if event.action is Action.AMOUNT_CHANGED:
        return replace(
            state,
            available_cents=event.available_cents,
            amount_effective_date=event.effective_date,
            **common,
        )
    if event.action is Action.RATE_CHANGED:
        return replace(
            state,
            annual_rate=event.annual_rate,
            rate_effective_date=event.effective_date,
            **common,
        )
    return replace(state, active=False, removed_date=event.effective_date, **common)


def visible(event: HistoryEntry, as_of: datetime | None, known_at: datetime | None) -> bool:
    if as_of is not None and event.effective_date > as_of:
        return False
    return not (
        known_at is not None and event.created_at is not None and event.created_at > known_at
    )


def fold(
    events: Iterable[HistoryEntry],
    as_of: datetime | None = None,
    known_at: datetime | None = None,
    start: Mapping[str, SourceState] | None = None,
) -> dict[str, SourceState]:
    """State of every source as of `as_of`, as known at `known_at`.

    `start` continues an earlier fold: folding the events up to t, then the
    rest with `start=` that result, equals folding everything at once.
    """
    states: dict[str, SourceState] = dict(start or {})
    for event in sorted(
        (e for e in events if visible(e, as_of, known_at)), key=lambda e: e.fold_key
    ):
        states[event.source_id] = apply_event(states.get(event.source_id), event)
    return states


def active_states(states: Mapping[str, SourceState]) -> list[SourceState]:
    return [s for s in states.values() if s.active]
