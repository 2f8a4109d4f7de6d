"""Exact JSON: request numbers become Decimal/int, Decimals are written as plain numbers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capital_app.api import exact_json


def test_fractions_parse_as_decimal_and_integers_as_int():
    parsed = exact_json.loads(b'{"rate": 0.13250000000000001, "cents": 250000000, "x": 1.0}')
    assert parsed["rate"] == Decimal("0.13250000000000001")
    assert type(parsed["cents"]) is int
    assert parsed["x"] == Decimal("1.0") and isinstance(parsed["x"], Decimal)


@pytest.mark.parametrize(
    "body",
    [
        b"NaN",
        b"[Infinity]",
        b'{"a": -Infinity}',
        b"9" * 5000,
        b"[" * 100_000 + b"]" * 100_000,
        b"\xff\xfe{}",
        b'{"a": 1',
        b"",
        b'{"a": "\x00"}',
    ],
)
def test_non_json_is_refused_as_json_decode_error(body):
    with pytest.raises(json.JSONDecodeError):
        exact_json.loads(body)


def test_decimals_are_written_exactly_and_plainly():
    text = exact_json.dumps(
        {
            "a": Decimal("0.132500"),
            "b": Decimal("0.000001"),
            "c": Decimal("1.000000"),
            "d": Decimal("0E-6"),
            "e": Decimal("0.1234567891"),
            "n": None,
        }
    )
    assert text == b'{"a":0.1325,"b":0.000001,"c":1,"d":0,"e":0.1234567891,"n":null}'


def test_dates_uuids_and_wide_integers():
    text = exact_json.dumps(
        {
            "at": datetime(2026, 3, 2, 9, 14, 7, 123456, tzinfo=UTC),
            "day": date(2026, 3, 1),
            "id": UUID("12345678-1234-5678-1234-567812345678"),
            "total": 10**15 * 20_000,  # beyond 64 bits: still exact
        }
    )
    assert text == (
        b'{"at":"2026-03-02T09:14:07.123456Z","day":"2026-03-01",'
        b'"id":"12345678-1234-5678-1234-567812345678","total":20000000000000000000}'
    )


@given(st.decimals(min_value=0, max_value=1, places=6, allow_nan=False, allow_infinity=False))
def test_rates_round_trip_exactly(rate):
    assert exact_json.loads(exact_json.dumps({"r": rate}))["r"] == rate


def test_canonical_form_ignores_key_order():
    assert exact_json.canonical({"b": 1, "a": Decimal("0.10")}) == exact_json.canonical(
        {"a": Decimal("0.1"), "b": 1}
    )


def test_canonical_form_of_integers_beyond_64_bits():
    assert exact_json.canonical({"n": 2**70}) == b'{"n":1180591620717411303424}'
