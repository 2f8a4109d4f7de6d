"""Hypothesis strategies: valid capital histories, with backdating and removals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from capital_app.domain.events import HistoryEntry
from capital_app.domain.values import MAX_CENTS, Action

EPOCH = datetime(2024, 1, 1, 9, tzinfo=UTC)

rates = st.integers(min_value=0, max_value=1_000_000).map(lambda n: Decimal(n).scaleb(-6))
cents = st.integers(min_value=1, max_value=MAX_CENTS // 1000)


@st.composite
def source_events(draw, index: int) -> list[dict]:
    """One source's events in recording order (ADDED first, REMOVED last if any)."""
    added_day = draw(st.integers(0, 400))
    events = [
        {
            "action": Action.ADDED,
            "day": added_day,
            "cents": draw(cents),
            "rate": draw(rates),
        }
    ]
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from([Action.AMOUNT_CHANGED, Action.RATE_CHANGED]))
        events.append(
            {
                "action": kind,
                "day": added_day + draw(st.integers(0, 300)),  # any order: backdating
                "cents": draw(cents),
                "rate": draw(rates),
            }
        )
    if draw(st.booleans()):
        last = max(e["day"] for e in events)
        events.append(
            {
                "action": Action.REMOVED,
                "day": last + draw(st.integers(0, 30)),
                "cents": 1,
                "rate": Decimal(0),
            }
        )
    return events


@st.composite
def histories(draw, max_sources: int = 5) -> list[HistoryEntry]:
    """A valid history of several sources, interleaved in recording order."""
    count = draw(st.integers(1, max_sources))
    per_source = [draw(source_events(i)) for i in range(count)]
    cursors = [0] * count
    entries: list[HistoryEntry] = []
    recorded = 0
    while any(c < len(per_source[i]) for i, c in enumerate(cursors)):
        open_sources = [i for i, c in enumerate(cursors) if c < len(per_source[i])]
        i = draw(st.sampled_from(open_sources))
        raw = per_source[i][cursors[i]]
        cursors[i] += 1
        recorded += 1
        entries.append(
            HistoryEntry(
                id=f"e{recorded}",
                source_id=f"s{i}",
                sequence=cursors[i],
                action=raw["action"],
                effective_date=EPOCH + timedelta(days=raw["day"]),
                name=f"Source {i}",
                annual_rate=raw["rate"],
                available_cents=raw["cents"],
                created_at=EPOCH + timedelta(days=800, seconds=recorded),
            )
        )
    return entries


def moments(entries: list[HistoryEntry]):
    """Instants worth asking about: each effective date and around it."""
    points = sorted({e.effective_date for e in entries})
    return st.sampled_from(points).flatmap(
        lambda p: st.sampled_from([p - timedelta(seconds=1), p, p + timedelta(days=1)])
    )
