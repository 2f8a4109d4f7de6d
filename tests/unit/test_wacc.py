"""WACC: exact decimals, sensible bounds, and the invariants finance people rely on."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from capital_app.domain.wacc import wacc_of
from tests.unit.strategies import cents, rates

terms = st.lists(st.tuples(cents, rates), min_size=1, max_size=30)


def test_a_worked_example():
    # 250M @ 13.25 % and 80M @ 15.5 %: (33.125 + 12.4) / 330 = 0.1379545454…
    summary = wacc_of([(250_000_000_00, Decimal("0.1325")), (80_000_000_00, Decimal("0.155"))])
    assert summary.total_cents == 330_000_000_00
    assert summary.wacc == Decimal("0.1379545455")
    assert summary.source_count == 2


def test_no_sources_means_no_wacc_not_zero():
    summary = wacc_of([])
    assert summary.wacc is None and summary.total_cents == 0 and summary.source_count == 0


@given(terms)
def test_wacc_lies_between_the_lowest_and_highest_rate(pairs):
    summary = wacc_of(pairs)
    assert min(r for _, r in pairs) <= summary.wacc <= max(r for _, r in pairs)
    assert summary.total_cents == sum(c for c, _ in pairs)


@given(terms, st.integers(2, 1000))
def test_scaling_every_amount_leaves_wacc_unchanged(pairs, factor):
    assume(all(c * factor <= 10**15 for c, _ in pairs))
    assert wacc_of((c * factor, r) for c, r in pairs).wacc == wacc_of(pairs).wacc


@given(
    st.integers(100_000, 900_000).map(lambda n: Decimal(n).scaleb(-6)),
    st.lists(st.tuples(cents, st.integers(0, 100_000)), min_size=0, max_size=10),
    cents,
)
def test_adding_a_source_at_the_current_wacc_leaves_it_unchanged(center, spreads, new_cents):
    # Pairs of equal amounts spread symmetrically around `center` have WACC == center exactly.
    pairs = [(new_cents, center)]
    for amount, spread in spreads:
        delta = Decimal(spread).scaleb(-6)
        pairs += [(amount, center + delta), (amount, center - delta)]
    before = wacc_of(pairs).wacc
    assert before == center
    after = wacc_of([*pairs, (new_cents, before)]).wacc
    assert after == before


@given(terms, cents, rates)
def test_adding_a_source_moves_wacc_toward_its_rate(pairs, new_cents, new_rate):
    before = wacc_of(pairs).wacc
    after = wacc_of([*pairs, (new_cents, new_rate)]).wacc
    assert abs(after - new_rate) <= abs(before - new_rate) + Decimal("1e-10")
