"""The WACC snapshot's definition: per-day changes of the active sources' sums.

The sums at the end of UTC day D (as known now) are Σ amount, Σ amount × rate and
the count of the sources active then; `day_deltas` gives, per day, how much they
change from the day before, so that the running sums of the deltas up to D are the
sums at the end of D. The database keeps the same deltas (migration 0010); this is
what `capital-app verify` and the tests compare them with.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal, localcontext

from capital_app.domain.events import HistoryEntry, SourceState
from capital_app.domain.fold import apply_event
from capital_app.domain.wacc import WaccSummary, wacc_from_sums


@dataclass(frozen=True, slots=True)
class DaySums:
    total_cents: int
    weighted_cents: Decimal
    source_count: int

    def __add__(self, other: DaySums) -> DaySums:
        with localcontext() as ctx:
            ctx.prec = 60
            weighted = self.weighted_cents + other.weighted_cents
        return DaySums(
            self.total_cents + other.total_cents, weighted, self.source_count + other.source_count
        )

    def __sub__(self, other: DaySums) -> DaySums:
        return self + DaySums(-other.total_cents, -other.weighted_cents, -other.source_count)

    @property
    def zero(self) -> bool:
        return self.total_cents == 0 and self.weighted_cents == 0 and self.source_count == 0

    def summary(self) -> WaccSummary:
        return wacc_from_sums(self.total_cents, self.weighted_cents, self.source_count)


NOTHING = DaySums(0, Decimal(0), 0)


def utc_day(entry: HistoryEntry) -> date:
    return entry.effective_date.astimezone(UTC).date()


def _contribution(state: SourceState | None) -> DaySums:
    if state is None or not state.active:
        return NOTHING
    with localcontext() as ctx:
        ctx.prec = 60
        weighted = Decimal(state.available_cents) * state.annual_rate
    return DaySums(state.available_cents, weighted, 1)


def day_deltas(entries: Iterable[HistoryEntry]) -> dict[date, DaySums]:
    """Non-zero per-day changes of the end-of-day sums, folding every entry (as known now)."""
    by_source: dict[str, list[HistoryEntry]] = defaultdict(list)
    for entry in entries:
        by_source[entry.source_id].append(entry)
    deltas: dict[date, DaySums] = defaultdict(lambda: NOTHING)
    for events in by_source.values():
        events.sort(key=lambda e: e.fold_key)
        state: SourceState | None = None
        before = NOTHING
        for i, event in enumerate(events):
            state = apply_event(state, event)
            day = utc_day(event)
            if i + 1 == len(events) or utc_day(events[i + 1]) != day:
                now = _contribution(state)
                deltas[day] = deltas[day] + (now - before)
                before = now
    return {day: sums for day, sums in sorted(deltas.items()) if not sums.zero}


def sums_at(deltas: Mapping[date, DaySums], day: date) -> DaySums:
    """The end-of-day sums of `day`: the running sum of the deltas up to it."""
    total = NOTHING
    for delta_day, delta in deltas.items():
        if delta_day <= day:
            total = total + delta
    return total
