"""The import's array literals reach PostgreSQL exactly as the values they were built from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from capital_app.db.engine import get_engine
from capital_app.db.import_export_repository import array_literal

AWKWARD_TEXTS = [
    "plain",
    "",
    " padded ",
    "NULL",
    "null",
    'say "hi"',
    "back\\slash",
    "\\",
    '\\"',
    "a,b",
    "{braces}",
    "multi\nline\ttab",
    "Équité Bank — 利率 🏦",
    "'single'",
]


def round_trip(literal: str, sql_type: str) -> list:
    with get_engine().connect() as conn:
        rows = conn.execute(
            text(
                f"SELECT v FROM unnest(CAST(:a AS {sql_type}[])) WITH ORDINALITY AS u(v, n) ORDER BY n"
            ),
            {"a": literal},
        )
        return [row[0] for row in rows]


def test_awkward_texts_and_nulls_come_back_unchanged(database_url: str) -> None:
    values = [*AWKWARD_TEXTS, None]
    assert round_trip(array_literal(values), "text") == values


@given(
    st.lists(
        st.one_of(
            st.none(), st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
        ),
        max_size=20,
    )
)
def test_any_text_comes_back_unchanged(database_url: str, values: list[str | None]) -> None:
    assert round_trip(array_literal(values), "text") == values


def test_numbers_and_instants_keep_their_exact_values(database_url: str) -> None:
    rates = [Decimal("0.1007"), Decimal("0E-6"), Decimal("1"), Decimal("0.000001"), None]
    assert round_trip(array_literal(rates), "numeric") == [
        Decimal("0.1007"),
        Decimal("0.000000"),
        Decimal("1"),
        Decimal("0.000001"),
        None,
    ]
    cents = [1, 10**15, None]
    assert round_trip(array_literal(cents), "bigint") == cents
    nairobi = timezone(timedelta(hours=3))
    instants = [
        datetime(2024, 1, 22, 9, 0, 0, 123000, tzinfo=UTC),
        datetime(2026, 3, 1, 12, 30, tzinfo=nairobi),
    ]
    assert round_trip(array_literal(instants), "timestamptz") == instants


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError):
        array_literal([datetime(2024, 1, 1)])
