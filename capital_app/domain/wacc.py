"""Weighted average cost of capital, in exact decimals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

# WACC is a quotient and rarely terminates; ten places are far below anything a
# person reads (rates themselves carry six) and keep sums reproducible.
WACC_PLACES = 10
WACC_QUANTUM = Decimal(1).scaleb(-WACC_PLACES)


@dataclass(frozen=True, slots=True)
class WaccSummary:
    total_cents: int
    wacc: Decimal | None  # None when no source is active: there is no cost of nothing
    source_count: int


def wacc_from_sums(total_cents: int, weighted_cents: Decimal, source_count: int) -> WaccSummary:
    """WACC from Σ amount and Σ amount × rate (as SQL can sum them exactly)."""
    if total_cents <= 0:
        return WaccSummary(total_cents=0, wacc=None, source_count=0)
    with localcontext() as ctx:
        ctx.prec = 60
        wacc = (Decimal(weighted_cents) / Decimal(total_cents)).quantize(
            WACC_QUANTUM, rounding=ROUND_HALF_EVEN
        )
    return WaccSummary(total_cents=total_cents, wacc=wacc, source_count=source_count)


def wacc_of(terms: Iterable[tuple[int, Decimal]]) -> WaccSummary:
    """WACC of (available cents, annual rate) pairs of the active sources."""
    total = 0
    weighted = Decimal(0)
    count = 0
    with localcontext() as ctx:
        ctx.prec = 60
        for cents, rate in terms:
            total += cents
            weighted += Decimal(cents) * rate
            count += 1
    return wacc_from_sums(total, weighted, count)
