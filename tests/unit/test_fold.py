"""The fold is the definition of 'state as of': checked by example and by property."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from capital_app.domain.events import HistoryEntry
from capital_app.domain.fold import fold
from capital_app.domain.values import Action
from tests.unit.strategies import histories, moments


def _entry(seq, action, day, cents=0, rate="0", created_day=None, source="s"):
    return HistoryEntry(
        id=f"{source}-{seq}",
        source_id=source,
        sequence=seq,
        action=action,
        effective_date=datetime(2026, 1, day, tzinfo=UTC),
        name="KCB term loan",
        annual_rate=Decimal(rate),
        available_cents=cents,
        created_at=datetime(2026, 2, created_day or seq, tzinfo=UTC),
    )


# Added 1 Jan (100 @ 10%), rate 12% from 20 Jan, then — recorded later — a
# correction: the amount was 150 from 10 Jan. The rate change must survive it.
HISTORY = [
    _entry(1, Action.ADDED, 1, 100, "0.10"),
    _entry(2, Action.RATE_CHANGED, 20, 100, "0.12"),
    _entry(3, Action.AMOUNT_CHANGED, 10, 150, "0.10"),
    _entry(4, Action.REMOVED, 25, 150, "0.12"),
]


def _at(day: int) -> datetime:
    return datetime(2026, 1, day, 23, tzinfo=UTC)


def test_backdated_correction_changes_the_past_without_overwriting_later_changes():
    before_correction = fold(HISTORY, as_of=_at(9))["s"]
    assert (before_correction.available_cents, before_correction.annual_rate) == (
        100,
        Decimal("0.10"),
    )
    corrected = fold(HISTORY, as_of=_at(15))["s"]
    assert (corrected.available_cents, corrected.annual_rate) == (150, Decimal("0.10"))
    after_rate = fold(HISTORY, as_of=_at(21))["s"]
    assert (after_rate.available_cents, after_rate.annual_rate) == (150, Decimal("0.12"))
    assert after_rate.active
    assert not fold(HISTORY)["s"].active
    assert fold(HISTORY)["s"].removed_date == datetime(2026, 1, 25, tzinfo=UTC)


def test_known_at_shows_what_was_believed_then():
    # On 2 Feb (before the correction was recorded on 3 Feb) we believed 100 on 15 Jan.
    believed = fold(HISTORY, as_of=_at(15), known_at=datetime(2026, 2, 2, 12, tzinfo=UTC))["s"]
    assert believed.available_cents == 100
    assert believed.sequence == 1  # only the ADDED is both effective and known
    known_now = fold(HISTORY, as_of=_at(15))["s"]
    assert known_now.available_cents == 150


def test_nothing_exists_before_it_was_added():
    assert fold(HISTORY, as_of=datetime(2025, 12, 31, tzinfo=UTC)) == {}


def test_latest_sequence_and_entry_follow_recording_order_not_effective_order():
    state = fold(HISTORY[:3])["s"]
    assert state.sequence == 3 and state.latest_entry_id == "s-3"
    assert state.last_effective_date == datetime(2026, 1, 20, tzinfo=UTC)


@settings(max_examples=200)
@given(st.data())
def test_splitting_by_an_as_of_date_gives_the_same_state(data):
    entries = data.draw(histories())
    cut = data.draw(moments(entries))
    early = fold(entries, as_of=cut)
    later = [e for e in entries if e.effective_date > cut]
    assert fold(later, start=early) == fold(entries)


@settings(max_examples=200)
@given(st.data())
def test_fold_matches_a_per_term_reference(data):
    """As of t: amount/rate = the latest (effective, sequence) event setting them."""
    entries = data.draw(histories())
    t = data.draw(moments(entries))
    states = fold(entries, as_of=t)
    for source in {e.source_id for e in entries}:
        mine = sorted(
            (e for e in entries if e.source_id == source and e.effective_date <= t),
            key=lambda e: (e.effective_date, e.sequence),
        )
        if not mine:
            assert source not in states
            continue
        amount = [e for e in mine if e.action in (Action.ADDED, Action.AMOUNT_CHANGED)][-1]
        rate = [e for e in mine if e.action in (Action.ADDED, Action.RATE_CHANGED)][-1]
        state = states[source]
        assert state.available_cents == amount.available_cents
        assert state.annual_rate == rate.annual_rate
        assert state.active == (mine[-1].action is not Action.REMOVED)
        assert state.sequence == max(e.sequence for e in mine)


@settings(max_examples=100)
@given(st.data())
def test_known_at_equals_folding_only_what_was_recorded(data):
    entries = data.draw(histories())
    cutoff = data.draw(st.sampled_from([e.created_at for e in entries]))
    recorded = [e for e in entries if e.created_at <= cutoff]
    assert fold(entries, known_at=cutoff) == fold(recorded)


@settings(max_examples=100)
@given(histories(), st.randoms(use_true_random=False))
def test_the_order_events_arrive_in_does_not_matter(entries, rng: random.Random):
    shuffled = list(entries)
    rng.shuffle(shuffled)
    assert fold(shuffled) == fold(entries)


def test_far_future_as_of_equals_now():
    assert fold(HISTORY, as_of=datetime(2100, 1, 1, tzinfo=UTC)) == fold(HISTORY)
    assert fold(HISTORY, as_of=_at(31) + timedelta(days=1)) == fold(HISTORY)
