"""How numbers are written for people: exact, never via floats."""

from __future__ import annotations

from decimal import Decimal

from capital_app.domain.money import (
    decimal_text,
    format_basis_points,
    format_money,
    format_money_short,
    format_rate,
)


def test_money_is_exact_with_thousands_separators():
    assert format_money(123456789) == "KES 1,234,567.89"
    assert format_money(1) == "KES 0.01"
    assert format_money(10**15) == "KES 10,000,000,000,000.00"


def test_short_money_for_kpi_cards():
    assert format_money_short(123_456_789_00) == "KES 123.46 M"
    assert format_money_short(1_234_567_890_00) == "KES 1.23 B"
    assert format_money_short(999_99) == "KES 999.99"


def test_rates_as_percent_with_up_to_four_decimals():
    assert format_rate(Decimal("0.1325")) == "13.25 %"
    assert format_rate(Decimal("0.132575")) == "13.2575 %"
    assert format_rate(Decimal("0.14")) == "14.00 %"
    assert format_rate(Decimal("0")) == "0.00 %"
    assert format_rate(Decimal("1")) == "100.00 %"
    assert format_rate(None) == "—"


def test_basis_points():
    assert format_basis_points(Decimal("0.00125")) == "▲ 12.5 bp"
    assert format_basis_points(Decimal("-0.0075")) == "▼ 75 bp"
    assert format_basis_points(Decimal("0")) == "0 bp"
    # Under one basis point: two decimals, never a bare "0 bp" for a real move.
    assert format_basis_points(Decimal("0.000004")) == "▲ 0.04 bp"
    assert format_basis_points(Decimal("-0.00000004")) == "▼ < 0.01 bp"
    assert format_basis_points(Decimal("0.0001")) == "▲ 1 bp"
    assert format_basis_points(Decimal("0.00100")) == "▲ 10 bp"


def test_decimal_text_is_plain_and_exact():
    assert decimal_text(Decimal("0.132500")) == "0.1325"
    assert decimal_text(Decimal("0.000000")) == "0"
    assert decimal_text(Decimal("1.000000")) == "1"
    assert decimal_text(Decimal("0.0000001")) == "0.0000001"
    assert decimal_text(Decimal("250000000")) == "250000000"
