"""Read models: what queries answer with (pure data, no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from capital_app.domain.currencies import Kind
from capital_app.domain.events import HistoryEntry


@dataclass(frozen=True, slots=True)
class ActiveSource:
    source_id: str
    name: str
    annual_rate: Decimal
    available_cents: int
    sequence: int  # the latest sequence known: what `expectedSequence` should send
    added_date: datetime
    last_changed_date: datetime
    # Fixed when the source was added (migration 0013); None: the organization's currency.
    currency: str | None = None
    kind: Kind = Kind.DEBT


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    date: date
    total_cents: int
    wacc: Decimal | None
    source_count: int
    after_tax_wacc: Decimal | None = None
    after_tax_note: str | None = None  # why there is no after-tax WACC
    missing_rates: tuple[str, ...] = ()  # then total and WACC are unknown, not zero
    reporting_currency: str = ""


@dataclass(frozen=True, slots=True)
class HistoryPage:
    entries: list[HistoryEntry]
    next_cursor: str | None
