"""Currencies: minor units, conversion, the one rounding, rates in force, after-tax WACC.

The properties compare the domain with an independent computation in exact fractions
(`fractions.Fraction`, Python's own half-to-even `round`), on random portfolios of
currencies with 0, 2 and 3 decimals, both kinds, and random rate books with corrections.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capital_app.domain.currencies import (
    FxRate,
    Holding,
    Kind,
    RateBook,
    TaxRate,
    buckets_of,
    check_fx_rate,
    check_iso_currency,
    check_kind,
    check_tax_rate,
    convert_minor,
    minor_units,
    missing_rate_message,
    reporting_summary,
)
from capital_app.domain.errors import InvalidInput
from capital_app.domain.rate_csv import parse_fx_csv
from capital_app.domain.wacc import wacc_of

DAY = date(2025, 3, 3)
T0 = datetime(2025, 3, 4, 9, tzinfo=UTC)
LATER = datetime(2025, 6, 1, tzinfo=UTC)


def fx(currency: str, rate: str, day: date, recorded: datetime = T0, to: str = "KES") -> FxRate:
    return FxRate(currency, to, Decimal(rate), day, recorded)


def holding(currency: str, cents: int, rate: str, kind: Kind = Kind.DEBT) -> Holding:
    return Holding(currency, kind, cents, Decimal(rate))


def summary_of(holdings, book, day=DAY, known_at=LATER):
    return reporting_summary(buckets_of(holdings), book, day, known_at)


@pytest.mark.parametrize(
    ("code", "places"),
    [("KES", 2), ("USD", 2), ("EUR", 2), ("JPY", 0), ("KWD", 3), ("BHD", 3), ("CLF", 4)],
)
def test_minor_units(code, places):
    assert minor_units(code) == places
    assert check_iso_currency(code) == code


def test_unknown_and_malformed_codes_are_refused():
    for bad in ("XYZ", "usd", "US", "", 12, None):
        with pytest.raises(InvalidInput):
            check_iso_currency(bad)


def test_conversion_is_exact_across_minor_units():
    # 1.00 USD at 129.5 KES = 129.50 KES
    assert convert_minor(100, "USD", "KES", Decimal("129.5")) == Decimal("12950.0")
    # 1,000 JPY (no decimals) at 0.86 KES = 860.00 KES
    assert convert_minor(1000, "JPY", "KES", Decimal("0.86")) == 86000
    # 1.234 KWD at 3.25 USD = 4.0105 USD: 401.05 cents, not rounded yet
    assert convert_minor(1234, "KWD", "USD", Decimal("3.25")) == Decimal("401.05")


def test_the_total_is_rounded_once_not_per_source():
    book = RateBook("KES", [fx("USD", "1.5", DAY)])
    # Each 0.01 USD is 1.5 KES cents: rounding per source would give 2 + 2 = 4.
    found = summary_of([holding("USD", 1, "0.1"), holding("USD", 1, "0.1")], book)
    assert found.summary.total_cents == 3


@pytest.mark.parametrize(("rate", "total"), [("2.5", 2), ("3.5", 4), ("2.51", 3)])
def test_the_one_rounding_is_half_to_even(rate, total):
    book = RateBook("KES", [fx("USD", rate, DAY)])
    assert summary_of([holding("USD", 1, "0.1")], book).summary.total_cents == total


def test_a_missing_rate_is_named_and_leaves_no_total():
    book = RateBook("KES", [fx("USD", "130", DAY + timedelta(days=1))])
    found = summary_of([holding("KES", 100, "0.1"), holding("USD", 100, "0.05")], book)
    assert found.missing_rates == ("no USD→KES rate on or before 3 Mar 2025",)
    assert found.summary.wacc is None and found.after_tax_wacc is None
    assert not found.complete
    assert missing_rate_message("EUR", "KES", date(2025, 12, 1)) == (
        "no EUR→KES rate on or before 1 Dec 2025"
    )


def test_rate_in_force_latest_date_then_latest_recording_as_known():
    corrected = T0 + timedelta(days=10)
    book = RateBook(
        "KES",
        [
            fx("USD", "120", DAY - timedelta(days=5)),
            fx("USD", "125", DAY),
            fx("USD", "126", DAY, recorded=corrected),  # a correction of the same day
            fx("USD", "140", DAY + timedelta(days=1)),  # not yet in force on DAY
            fx("USD", "1", DAY, to="EUR"),  # another pair: never used for KES
        ],
    )
    assert book.fx_rate("USD", DAY, LATER) == Decimal("126")
    assert book.fx_rate("USD", DAY, corrected - timedelta(seconds=1)) == Decimal("125")
    assert book.fx_rate("USD", DAY - timedelta(days=1), LATER) == Decimal("120")
    assert book.fx_rate("USD", DAY, T0 - timedelta(seconds=1)) is None  # nothing known yet
    assert book.fx_rate("KES", DAY, LATER) == 1
    assert book.fx_rate("EUR", DAY, LATER) is None


def test_after_tax_wacc():
    book = RateBook("KES", [], [TaxRate(Decimal("0.3"), DAY, T0)])
    found = summary_of(
        [holding("KES", 100, "0.10", Kind.EQUITY), holding("KES", 100, "0.08", Kind.DEBT)], book
    )
    assert found.summary.wacc == Decimal("0.0900000000")
    assert found.after_tax_wacc == Decimal("0.0780000000")  # (10 + 8 × 0.7) / 200


def test_no_tax_rate_means_no_after_tax_wacc_with_the_reason():
    book = RateBook("KES", [], [TaxRate(Decimal("0.3"), DAY + timedelta(days=1), T0)])
    found = summary_of([holding("KES", 100, "0.10")], book)
    assert found.summary.wacc == Decimal("0.1000000000")
    assert found.after_tax_wacc is None
    assert found.after_tax_note == "no corporate tax rate on or before 3 Mar 2025"


def test_nothing_active_is_no_wacc_and_no_problem():
    found = summary_of([], RateBook("KES"))
    assert found.summary.total_cents == 0 and found.summary.wacc is None
    assert found.complete


def test_value_checks():
    assert check_fx_rate("129.500000000001") == Decimal("129.500000000001")
    assert check_tax_rate("0.3") == Decimal("0.3")
    assert check_kind("Equity") is Kind.EQUITY
    for bad in ("0", "-1", "1e13", "1.0000000000001", 1.5, "abc", "NaN"):
        with pytest.raises(InvalidInput):
            check_fx_rate(bad)
    for bad in ("1", "-0.1", "0.1234567", 0.3):
        with pytest.raises(InvalidInput):
            check_tax_rate(bad)
    with pytest.raises(InvalidInput):
        check_kind("loan")


# --- properties --------------------------------------------------------------

CURRENCIES = ["KES", "USD", "JPY", "KWD"]
rates = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("1"), places=6)
amounts = st.integers(1, 10**15)
fx_values = st.decimals(min_value=Decimal("0.000000000001"), max_value=Decimal("100000"), places=12)
holdings = st.lists(
    st.builds(Holding, st.sampled_from(CURRENCIES), st.sampled_from(list(Kind)), amounts, rates),
    max_size=12,
)


def _exact_quantized(value: Fraction) -> Decimal:
    return Decimal(round(value * 10**10)).scaleb(-10)


def _independent(portfolio: list[Holding], factors: dict[str, Fraction], tax: Fraction):
    total = weighted = after = Fraction(0)
    for h in portfolio:
        scale = Fraction(10) ** (minor_units("KES") - minor_units(h.currency))
        converted = h.amount_minor * factors[h.currency] * scale
        total += converted
        weighted += converted * Fraction(h.rate)
        after += converted * Fraction(h.rate) * (1 - tax if h.kind is Kind.DEBT else 1)
    return total, weighted, after


@given(
    portfolio=holdings,
    factors=st.fixed_dictionaries({c: fx_values for c in CURRENCIES if c != "KES"}),
    tax=st.decimals(min_value=Decimal(0), max_value=Decimal("0.999999"), places=6),
)
def test_conversion_and_after_tax_equal_an_exact_fraction_computation(portfolio, factors, tax):
    book = RateBook(
        "KES",
        [fx(c, str(r), DAY) for c, r in factors.items()],
        [TaxRate(tax, DAY, T0)],
    )
    found = summary_of(portfolio, book)
    exact = {c: Fraction(r) for c, r in factors.items()} | {"KES": Fraction(1)}
    total, weighted, after = _independent(portfolio, exact, Fraction(tax))
    if total == 0:
        assert found.summary.wacc is None and found.summary.total_cents == 0
        return
    assert found.summary.total_cents == round(total)
    assert found.summary.wacc == _exact_quantized(weighted / total)
    assert found.after_tax_wacc == _exact_quantized(after / total)
    assert found.summary.source_count == len(portfolio)


@given(st.lists(st.tuples(amounts, rates, st.sampled_from(list(Kind))), max_size=12))
def test_a_single_currency_is_the_plain_wacc_to_the_digit(terms):
    found = summary_of([Holding("KES", k, c, r) for c, r, k in terms], RateBook("KES"))
    assert found.summary == wacc_of((c, r) for c, r, _ in terms)


def _expected_rate(facts: list[FxRate], currency: str, day: date, known: datetime):
    """Independently: the latest (effective date, recording) on or before `day`, as known."""
    usable = sorted(
        (f.effective_date, f.recorded_at, f.rate)
        for f in facts
        if f.from_currency == currency and f.effective_date <= day and f.recorded_at <= known
    )
    return usable[-1][2] if usable else None


@given(
    portfolio=holdings,
    history=st.lists(
        st.tuples(st.sampled_from(["USD", "JPY", "KWD"]), fx_values, st.integers(0, 40)),
        max_size=8,
    ),
    correction=st.tuples(st.sampled_from(["USD", "JPY", "KWD"]), fx_values, st.integers(0, 40)),
)
def test_a_backdated_correction_changes_exactly_the_points_it_should(
    portfolio, history, correction
):
    start = date(2025, 1, 1)
    facts = [fx(c, "1", start) for c in ("USD", "JPY", "KWD")] + [
        fx(c, str(r), start + timedelta(days=d), T0 + timedelta(seconds=i + 1))
        for i, (c, r, d) in enumerate(history)
    ]
    recorded = T0 + timedelta(days=400)
    currency, value, offset = correction
    fixed = fx(currency, str(value), start + timedelta(days=offset), recorded)
    book, corrected = RateBook("KES", facts), RateBook("KES", [*facts, fixed])
    for d in range(0, 45):
        day = start + timedelta(days=d)
        before = summary_of(portfolio, book, day, LATER)
        # As known before the correction was recorded: no point changes.
        assert summary_of(portfolio, corrected, day, recorded - timedelta(seconds=1)) == before
        after = summary_of(portfolio, corrected, day, LATER)
        if day < fixed.effective_date:
            assert after == before  # points before its effective date stay
        # Every point is what the rates in force (chosen independently) give.
        in_force = [
            fx(c, str(_expected_rate([*facts, fixed], c, day, LATER)), day)
            for c in ("USD", "JPY", "KWD")
        ]
        assert after == summary_of(portfolio, RateBook("KES", in_force), day, LATER)


def test_csv_lists_every_problem_and_reads_a_clean_file():
    good = parse_fx_csv(
        "from_currency,rate,effective_date\nUSD,129.5,2025-03-03\nEUR,140.25,2025-03-03\n",
        "KES",
        DAY,
    )
    assert [(r.row, r.from_currency, r.to_currency, r.rate) for r in good] == [
        (2, "USD", "KES", Decimal("129.5")),
        (3, "EUR", "KES", Decimal("140.25")),
    ]
    bad = (
        "From,To,Rate,Date\n"
        "USD,KES,abc,2025-03-03\n"  # bad rate
        "XXX,KES,1,2025-03-03\n"  # unknown currency
        "USD,EUR,1,2025-03-03\n"  # not into the reporting currency
        "EUR,KES,1,2030-01-01\n"  # future
        "JPY,KES,0.86,2025-03-01\n"
        "JPY,KES,0.87,2025-03-01\n"  # twice
    )
    with pytest.raises(InvalidInput) as raised:
        parse_fx_csv(bad, "KES", DAY)
    fields = [e.field for e in raised.value.errors]
    assert fields == [
        "row 2: rate",
        "row 3: from_currency",
        "row 4: to_currency",
        "row 5: effective_date",
        "row 7: effective_date",
    ]
    assert raised.value.errors[4].message == (
        "Row 7: the file already has a JPY→KES rate for 2025-03-01 (row 6)."
    )
    with pytest.raises(InvalidInput, match="header must name"):
        parse_fx_csv("currency,value\nUSD,1\n", "KES", DAY)


def test_a_currency_changes_the_fingerprint_and_its_absence_does_not():
    from datetime import UTC, datetime

    from capital_app.domain.commands import AddSource, SourceTerms, fingerprint, wire_body

    when = datetime(2026, 3, 1, tzinfo=UTC)
    plain = AddSource(SourceTerms("KCB", Decimal("0.1"), 100), when)
    usd = AddSource(SourceTerms("KCB", Decimal("0.1"), 100, "USD"), when)
    equity = AddSource(SourceTerms("KCB", Decimal("0.1"), 100, None, "equity"), when)
    assert len({fingerprint(plain), fingerprint(usd), fingerprint(equity)}) == 3
    # The plain command's body is the one of before currencies (stored keys replay).
    assert set(wire_body(plain)["source"]) == {"name", "annualRate", "availableCents"}
    assert wire_body(usd)["source"]["currency"] == "USD"
