"""Value rules: every input a caller can send gets the clean value or a clear refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from capital_app.domain.errors import InvalidInput
from capital_app.domain.values import (
    MAX_CENTS,
    check_cents,
    check_effective_date,
    check_name,
    check_notes,
    check_rate,
    parse_instant,
    parse_money,
    parse_percent,
    rate_meant,
)


@pytest.mark.parametrize("value", [Decimal("0"), Decimal("1"), Decimal("0.1325"), 0, 1])
def test_rates_in_range_are_accepted(value):
    assert check_rate(value) == Decimal(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (Decimal("-0.000001"), "between 0% and 100%"),
        (Decimal("1.000001"), "between 0% and 100%"),
        (Decimal("0.1234567"), "at most 6 decimal places"),
        (0.1325, "must be a number"),  # a float: never trusted with money or rates
        (True, "must be a number"),
        ("0.1", "must be a number"),
        (Decimal("NaN"), "must be a number"),
        (Decimal("Infinity"), "must be a number"),
    ],
)
def test_bad_rates_are_refused_with_a_reason(value, message):
    with pytest.raises(InvalidInput) as caught:
        check_rate(value)
    assert message in caught.value.message
    assert caught.value.errors[0].field == "annualRate"


def test_rate_with_trailing_zeros_is_the_same_rate():
    assert check_rate(Decimal("0.132500000")) == Decimal("0.1325")


@pytest.mark.parametrize("value", [1, 250_000_000, MAX_CENTS])
def test_cents_in_range_are_accepted(value):
    assert check_cents(value) == value


@pytest.mark.parametrize(
    "value", [0, -1, MAX_CENTS + 1, 100.0, Decimal("100"), Decimal("100.5"), "100", True, None]
)
def test_cents_must_be_a_whole_number_in_range(value):
    with pytest.raises(InvalidInput):
        check_cents(value)


def test_names_are_trimmed_and_bounded():
    assert check_name("  KCB term loan \t") == "KCB term loan"
    assert check_name("x" * 200) == "x" * 200
    assert check_name("Überbrückung — ok ✓ 🚀") == "Überbrückung — ok ✓ 🚀"
    for bad in ["", "   ", "x" * 201, "a\x00b", "line\nbreak", None, 12]:
        with pytest.raises(InvalidInput):
            check_name(bad)


def test_notes_are_optional_and_bounded():
    assert check_notes(None) is None
    assert check_notes("   ") is None
    assert check_notes(" two\nlines ") == "two\nlines"
    for bad in ["x" * 2001, "nul\x00", 5]:
        with pytest.raises(InvalidInput):
            check_notes(bad)


def test_effective_date_not_in_future_and_needs_an_offset():
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert check_effective_date(now, now) == now
    nairobi = timezone(timedelta(hours=3))
    assert check_effective_date(datetime(2026, 3, 1, 14, tzinfo=nairobi), now) == datetime(
        2026, 3, 1, 11, tzinfo=UTC
    )
    with pytest.raises(InvalidInput, match="future"):
        check_effective_date(now + timedelta(microseconds=1), now)
    with pytest.raises(InvalidInput, match="time zone"):
        check_effective_date(datetime(2026, 1, 1), now)
    with pytest.raises(InvalidInput, match="1900"):
        check_effective_date(datetime(1899, 12, 31, tzinfo=UTC), now)


def test_parse_instant_dates_and_date_times():
    assert parse_instant("2026-03-01", "d") == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_instant("2026-03-01", "d", end_of_day=True) == datetime(
        2026, 3, 1, 23, 59, 59, 999999, tzinfo=UTC
    )
    assert parse_instant("2024-01-22T09:00:00.000Z", "d") == datetime(2024, 1, 22, 9, tzinfo=UTC)
    assert parse_instant("2026-03-01T03:00:00+03:00", "d") == datetime(2026, 3, 1, tzinfo=UTC)
    for bad in ["", "yesterday", "2026-02-30", "2026-03-01T09:00:00", "01/03/2026"]:
        with pytest.raises(InvalidInput):
            parse_instant(bad, "d")


def test_percent_input_as_people_type_it():
    assert parse_percent("13.25") == Decimal("0.1325")
    assert parse_percent(" 13.2575 % ") == Decimal("0.132575")
    assert parse_percent("0") == Decimal("0")
    assert parse_percent("100") == Decimal("1")
    with pytest.raises(InvalidInput, match="between 0% and 100%"):
        parse_percent("101")
    with pytest.raises(InvalidInput, match="6 decimal places"):
        parse_percent("13.25751")
    with pytest.raises(InvalidInput, match="like 13.25"):
        parse_percent("thirteen")
    with pytest.raises(InvalidInput, match="required"):
        parse_percent("")


def test_money_input_as_people_type_it():
    assert parse_money("1,234,567.89") == 123456789
    assert parse_money("KES 2,500,000") == 250000000
    assert parse_money("0.01") == 1
    with pytest.raises(InvalidInput, match="2 decimal places"):
        parse_money("1.005")
    with pytest.raises(InvalidInput, match="at least"):
        parse_money("0")
    with pytest.raises(InvalidInput, match="like 1,250,000.00"):
        parse_money("lots")


@pytest.mark.parametrize(
    ("value", "meant"),
    [
        ("0.021400000000000002", "0.0214"),  # 2.14 / 100 in JavaScript
        ("0.13249999999999998", "0.1325"),
        ("0.1325", "0.1325"),
        ("0.0000000005", "0"),  # noise around zero means zero
        ("0.1234567", None),  # a real seventh place, not noise
        ("0.100000002", None),  # 2e-9 away: more than noise
    ],
)
def test_float_noise_is_read_as_the_rate_it_stands_for(value, meant):
    got = rate_meant(Decimal(value))
    assert got == (None if meant is None else Decimal(meant))


@pytest.mark.parametrize("text", ["1e999999", "-1e999999", "9" * 40])
def test_huge_amounts_get_a_clear_message_not_an_overflow(text: str) -> None:
    """Issue 17: `parse_money("1e999999")` raised decimal.Overflow in the dialog."""
    with pytest.raises(InvalidInput, match="at most 10,000,000,000,000.00"):
        parse_money(text)


def test_role_policy_comes_from_the_role():
    from capital_app.domain.values import Role

    assert Role.named("ADMIN") is Role.ADMIN and Role.named("EDITOR") is Role.EDITOR
    assert Role.named("") is None and Role.named("admin") is None
    assert [r.can_write_history for r in Role] == [True, True, False]
    assert [r.can_administer for r in Role] == [True, False, False]
