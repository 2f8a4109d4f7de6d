"""The streaming JSON reader: same values as json.loads with Decimals, however the text is cut."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capital_app.domain.json_stream import (
    JsonReader,
    JsonStreamError,
    NotANumber,
    expect_end,
    iter_list,
)


def read_all(chunks) -> list[object]:
    reader = JsonReader(chunks)
    items = list(iter_list(reader))
    expect_end(reader)
    return items


def cut(text: str, size: int) -> list[bytes]:
    data = text.encode()
    return [data[i : i + size] for i in range(0, len(data), size)]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.decimals(allow_nan=False, allow_infinity=False, places=8).map(lambda d: d.normalize())
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value) if "E" in str(value) or "." in str(value) else f"{value}.0"
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_text(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)


@settings(max_examples=150, deadline=None)
@given(items=st.lists(json_values, max_size=8), size=st.integers(min_value=1, max_value=40))
def test_any_cut_reads_what_json_loads_reads(items: list[object], size: int) -> None:
    text = " [ " + " ,\n".join(_text(i) for i in items) + " ]\n"
    expected = json.loads(text, parse_float=Decimal)
    assert read_all(cut(text, size)) == expected


def test_numbers_are_decimals_or_ints_never_floats() -> None:
    [entry] = read_all(cut('[{"a": 0.021400000000000002, "b": 33686064600, "c": 1e2}]', 3))
    assert entry == {"a": Decimal("0.021400000000000002"), "b": 33686064600, "c": Decimal("1E+2")}
    assert isinstance(entry["b"], int)
    assert not any(isinstance(v, float) for v in entry.values())


def test_a_number_cut_at_the_end_of_a_chunk_is_read_whole() -> None:
    assert read_all(["[12", "34, 5", "6]"]) == [1234, 56]


def test_nan_and_infinity_are_marked_not_converted() -> None:
    assert read_all(["[NaN, Infinity, -Infinity]"]) == [
        NotANumber("NaN"),
        NotANumber("Infinity"),
        NotANumber("-Infinity"),
    ]


def test_keys_written_twice_are_remembered() -> None:
    [entry] = read_all(['[{"a": 1, "b": 2, "a": 3}]'])
    assert entry == {"a": 3, "b": 2}
    assert entry.repeated_keys == ("a",)


def test_a_byte_order_mark_and_multibyte_characters_across_chunks() -> None:
    text = '\ufeff[{"notes": "Überbrückung — ok ✓ 季度"}]'
    assert read_all(cut(text, 1)) == [{"notes": "Überbrückung — ok ✓ 季度"}]


@pytest.mark.parametrize(
    ("chunks", "message"),
    [
        ([b'[{"a": 1}'], "ends before the list"),
        ([b'[{"a": 1} {"b": 2}]'], "Expected a comma"),
        ([b'[{"a": 1}] trailing'], "Unexpected text after the end"),
        ([b'{"a": 1}'], "Expected a list"),
        ([b'[{"a": }]'], "not valid JSON"),
        ([b'["\xff\xfe"]'], "not UTF-8"),
        ([b'["caf\xc3'], "ends in the middle of a character"),
    ],
)
def test_broken_text_is_reported_in_plain_words(chunks: list[bytes], message: str) -> None:
    with pytest.raises(JsonStreamError) as error:
        read_all(chunks)
    assert message in error.value.message


def test_errors_say_where_even_after_the_window_moved_on() -> None:
    pad = "x" * 100
    good = ",\n".join(f'{{"n": {i}, "pad": "{pad}"}}' for i in range(2000))
    text = "[" + good + ',\n{"n": oops}]'
    with pytest.raises(JsonStreamError) as error:
        read_all(cut(text, 4096))
    assert "line 2001" in error.value.message
