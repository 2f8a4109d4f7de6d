"""Spreadsheet rows: cells read exactly, every problem with its row; CSV round trip."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capital_app.domain.spreadsheet_csv import read_csv
from capital_app.domain.spreadsheet_rows import (
    CellProblem,
    ColumnMapping,
    Field,
    RateUnit,
    SheetNumber,
    SheetTable,
    column_letter,
    guess_mapping,
    mapping_problems,
    parse_action,
    parse_amount,
    parse_effective_date,
    parse_rate,
    read_rows,
)
from capital_app.domain.values import Action

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
FULL = ColumnMapping(
    {
        Field.SOURCE: 0,
        Field.ACTION: 1,
        Field.AMOUNT: 2,
        Field.RATE: 3,
        Field.EFFECTIVE_DATE: 4,
        Field.NOTES: 5,
    }
)
HEADER = ("Source", "Action", "Amount", "Rate", "Effective date", "Notes")


def rows_of(*rows: tuple[object, ...], mapping: ColumnMapping = FULL):
    table = SheetTable(HEADER, [(i + 2, tuple(r)) for i, r in enumerate(rows)])
    return read_rows(table, mapping, NOW)


# --- amounts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1,234.56", 123456),
        ("1234.56", 123456),
        ("KES 1,250,000.00", 125000000),
        ("1,250,000 KES", 125000000),
        ("1 234 567.89", 123456789),
        ("1\u00a0234.5", 123450),
        ("0.01", 1),
        (".5", 50),
        ("10,000,000,000,000.00", 10**15),
    ],
)
def test_amount_texts_become_exact_cents(text: str, cents: int) -> None:
    assert parse_amount(text, "KES") == cents


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("12,34", "not an amount"),  # a European decimal comma, never read as 1,234
        ("1,2345.00", "not an amount"),
        ("1.234,56", "not an amount"),
        ("-500", "negative"),
        ("(500.00)", "negative"),
        ("1.234", "more than 2 decimal places"),
        ("0", "at least 0.01"),
        ("0.00", "at least 0.01"),
        ("10,000,000,000,000.01", "at most"),
        ("1e5", "not an amount"),
        ("NaN", "not an amount"),
        ("abc", "not an amount"),
        ("USD 100", "not an amount"),
    ],
)
def test_bad_amount_texts_are_refused_with_words(text: str, words: str) -> None:
    with pytest.raises(CellProblem) as caught:
        parse_amount(text, "KES")
    assert caught.value.field is Field.AMOUNT
    assert words in caught.value.message


def test_workbook_numbers_are_read_as_the_shortest_exact_decimal() -> None:
    assert parse_amount(SheetNumber(1234.56), "KES") == 123456
    assert parse_amount(SheetNumber(1250000), "KES") == 125000000
    # 0.1 + 0.2 is the double 0.30000000000000004: not a whole number of cents.
    with pytest.raises(CellProblem, match="more than 2 decimal places"):
        parse_amount(SheetNumber(0.1 + 0.2), "KES")
    with pytest.raises(CellProblem, match="ROUND"):
        parse_amount(SheetNumber(1234.5600000000002), "KES")
    with pytest.raises(CellProblem, match="negative"):
        parse_amount(SheetNumber(-5.0), "KES")


@given(st.integers(min_value=1, max_value=10**15))
def test_every_cent_amount_written_as_a_double_reads_back_exactly(cents: int) -> None:
    """Excel stores 1234.56 as the nearest double; repr gives back the digits typed."""
    as_double = float(Decimal(cents) / 100)
    if Decimal(repr(as_double)) == Decimal(cents) / 100:  # up to 15 significant digits
        assert parse_amount(SheetNumber(as_double), "KES") == cents


@given(st.integers(min_value=1, max_value=10**13))
def test_amounts_up_to_a_hundred_billion_survive_the_double(cents: int) -> None:
    # ≤ 15 significant digits always round-trip through a double and repr.
    assert parse_amount(SheetNumber(float(Decimal(cents) / 100)), "KES") == cents


def test_other_currencies_and_digits() -> None:
    assert parse_amount("USD 12.5", "USD") == 1250
    assert parse_amount("1,000", "JPY", digits=0) == 1000
    with pytest.raises(CellProblem, match="more than 0 decimal places"):
        parse_amount("1.5", "JPY", digits=0)
    assert parse_amount("1.234", "KWD", digits=3) == 1234


# --- rates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "unit", "rate"),
    [
        ("13.25", RateUnit.PERCENT, "0.1325"),
        ("13.25 %", RateUnit.PERCENT, "0.1325"),
        ("13.25%", RateUnit.FRACTION, "0.1325"),
        ("0.1325", RateUnit.FRACTION, "0.1325"),
        ("13.2575", RateUnit.PERCENT, "0.132575"),
        ("0", RateUnit.PERCENT, "0"),
        ("100", RateUnit.PERCENT, "1"),
        (SheetNumber(0.1325, percent=True), RateUnit.PERCENT, "0.1325"),
        (SheetNumber(13.25), RateUnit.PERCENT, "0.1325"),
        (SheetNumber(0.1325), RateUnit.FRACTION, "0.1325"),
        (SheetNumber(14), RateUnit.PERCENT, "0.14"),
        (SheetNumber(2.14), RateUnit.PERCENT, "0.0214"),
    ],
)
def test_rates(cell: object, unit: RateUnit, rate: str) -> None:
    assert parse_rate(cell, unit) == Decimal(rate)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        ("120", "out of range"),
        ("-1", "out of range"),
        ("13.25001", "more decimals"),
        (SheetNumber(1.5, percent=True), "out of range"),
        (SheetNumber(0.1 + 0.2, percent=True), "more decimals"),
        ("13,25", "not a rate"),
        ("abc", "not a rate"),
        ("1e1", "not a rate"),
        (True, "must be a number"),
    ],
)
def test_bad_rates(cell: object, words: str) -> None:
    with pytest.raises(CellProblem) as caught:
        parse_rate(cell)  # type: ignore[arg-type]
    assert caught.value.field is Field.RATE and words in caught.value.message


# --- dates and actions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "moment"),
    [
        ("2025-03-31", datetime(2025, 3, 31, tzinfo=UTC)),
        ("31 Mar 2025", datetime(2025, 3, 31, tzinfo=UTC)),
        ("31 March 2025", datetime(2025, 3, 31, tzinfo=UTC)),
        ("31-Mar-2025", datetime(2025, 3, 31, tzinfo=UTC)),
        ("2025-03-31T09:00:00+03:00", datetime(2025, 3, 31, 6, tzinfo=UTC)),
        (datetime(2025, 3, 31), datetime(2025, 3, 31, tzinfo=UTC)),
        (date(2025, 3, 31), datetime(2025, 3, 31, tzinfo=UTC)),
    ],
)
def test_dates(cell: object, moment: datetime) -> None:
    assert parse_effective_date(cell, NOW) == moment  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        ("03/04/2025", "could mean different days"),
        ("3.4.2025", "could mean different days"),
        ("31 Foo 2025", "not a date"),
        ("30 Feb 2025", "not a day"),
        ("2025-13-01", "not a date"),
        ("2027-01-01", "future"),
        ("1899-12-31", "1900"),
        (SheetNumber(45000), "a number, not a date"),
        ("yesterday", "not a date"),
    ],
)
def test_bad_dates(cell: object, words: str) -> None:
    with pytest.raises(CellProblem) as caught:
        parse_effective_date(cell, NOW)  # type: ignore[arg-type]
    assert caught.value.field is Field.EFFECTIVE_DATE and words in caught.value.message


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("add", Action.ADDED),
        ("ADDED", Action.ADDED),
        ("New", Action.ADDED),
        ("change amount", Action.AMOUNT_CHANGED),
        ("AMOUNT_CHANGED", Action.AMOUNT_CHANGED),
        ("Change-Rate", Action.RATE_CHANGED),
        ("rate", Action.RATE_CHANGED),
        (" remove ", Action.REMOVED),
    ],
)
def test_actions(text: str, action: Action) -> None:
    assert parse_action(text) is action


def test_an_unknown_action_lists_the_known_ones() -> None:
    with pytest.raises(CellProblem, match="add, change amount, change rate or remove"):
        parse_action("delete")


# --- mapping ------------------------------------------------------------------------------


def test_header_names_are_guessed() -> None:
    mapping = guess_mapping(
        ["Lender", "Type", "Principal (KES)", "Interest rate %", "Value date", "Comment", "x"]
    )
    assert dict(mapping.columns) == {
        Field.SOURCE: 0,
        Field.ACTION: 1,
        Field.AMOUNT: 2,
        Field.RATE: 3,
        Field.EFFECTIVE_DATE: 4,
        Field.NOTES: 5,
    }
    assert guess_mapping(["Name", "Rate", "Amount", "Date"]).columns == {
        Field.SOURCE: 0,
        Field.RATE: 1,
        Field.AMOUNT: 2,
        Field.EFFECTIVE_DATE: 3,
    }
    # An exact name wins over one that only contains it; a column serves one field.
    assert guess_mapping(["Rate date", "Rate", "Source"]).columns[Field.RATE] == 1


def test_mapping_problems() -> None:
    header = ("A", "B")
    problems = mapping_problems(ColumnMapping({Field.SOURCE: 0, Field.AMOUNT: 0}), header)
    messages = " | ".join(p.message for p in problems)
    assert "Effective date" in messages
    assert "both the Source name and the Amount" in messages
    assert "needs the Rate" in messages
    problems = mapping_problems(ColumnMapping({Field.SOURCE: 0, Field.EFFECTIVE_DATE: 5}), header)
    assert any("column 6, but the file has 2 columns" in p.message for p in problems)
    assert all(p.index is None for p in problems)


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AB",
        "ZZ",
        "AAA",
    ]


# --- rows ---------------------------------------------------------------------------------


def test_every_problem_of_every_row_is_listed_with_its_row_number() -> None:
    rows = rows_of(
        ("KCB loan", "add", "1,000.00", "13", "2025-01-01", ""),
        ("", "add", "-5", "120", "01/02/2025", ""),
        ("Equity", "change amount", "", "14", "2025-02-01", ""),
        ("Equity", "frobnicate", "10", "", "", ""),
        ("", "", "", "", "", ""),  # empty: skipped, not a problem
        ("Stanbic", "remove", "5", "", "2025-01-01", "closed"),
    )
    found = sorted((p.index, p.field) for p in rows.problems)
    assert found == [
        (3, "amount"),
        (3, "effectiveDate"),
        (3, "rate"),
        (3, "source"),
        (4, "amount"),
        (4, "rate"),
        (5, "action"),
        (5, "effectiveDate"),
        (7, "amount"),
    ]
    assert [r.row for r in rows.rows] == [2]
    assert rows.data_rows == 5
    assert rows.unreadable_names == {"equity": 5}  # not the failed changes of rows 4, 7


def test_a_file_of_current_sources_adds_each_one() -> None:
    mapping = ColumnMapping(
        {Field.SOURCE: 0, Field.AMOUNT: 1, Field.RATE: 2, Field.EFFECTIVE_DATE: 3}
    )
    table = SheetTable(
        ("Name", "Amount", "Rate", "Date"),
        [(2, ("KCB", "1,000", "13.5", "2025-01-01")), (3, ("NCBA", "2,000", "9", "2025-01-02"))],
    )
    rows = read_rows(table, mapping, NOW)
    assert not rows.problems
    assert [(r.name, r.action, r.available_cents, r.annual_rate) for r in rows.rows] == [
        ("KCB", Action.ADDED, 100000, Decimal("0.135")),
        ("NCBA", Action.ADDED, 200000, Decimal("0.09")),
    ]


def test_cells_beyond_a_short_row_are_empty() -> None:
    rows = rows_of(("KCB", "remove"))
    assert [(p.index, p.field) for p in rows.problems] == [(2, "effectiveDate")]


# --- CSV ----------------------------------------------------------------------------------


def test_csv_with_bom_semicolons_and_quotes() -> None:
    content = (
        "\ufeffSource;Action;Amount;Rate;Effective date;Notes\r\n"
        'KCB;add;"1,250,000.00";13.25;2025-01-01;"two\nlines"\r\n'
        "\r\n"
        "KCB;change rate;;14;2025-02-01;\r\n"
    ).encode()
    table = read_csv(content, 100)
    assert table.header == HEADER and not table.problems
    assert [n for n, _ in table.rows] == [2, 4]  # a record is a row; the blank row counts
    rows = read_rows(table, guess_mapping(table.header), NOW)
    assert not rows.problems
    assert rows.rows[0].notes == "two\nlines"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"Source,Amount\n", "no rows"),
        ("Source,Amount\nCaf\xe9,1\n".encode("cp1252"), "not UTF-8"),
        (b"a,b\x00c\n1,2\n", "binary"),
    ],
)
def test_csv_file_problems(content: bytes, words: str) -> None:
    table = read_csv(content, 100)
    assert [p.index for p in table.problems] == [None]
    assert words in table.problems[0].message


def test_csv_row_cap_is_a_problem_not_a_cut() -> None:
    content = b"Source\n" + b"x\n" * 11
    table = read_csv(content, 10)
    assert table.rows == [] and "more than 10 rows" in table.problems[0].message
    assert len(read_csv(b"Source\n" + b"x\n" * 10, 10).rows) == 10


def test_an_open_quote_is_reported() -> None:
    content = b'Source,Notes\nKCB,"' + b"x" * 5000 + b"\n"
    table = read_csv(content, 10)
    assert table.problems and "characters" in table.problems[0].message


# --- the round trip -----------------------------------------------------------------------

_names = (
    st.text(
        alphabet=st.characters(
            whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters=" &-.,'\""
        ),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)
_rates = st.integers(min_value=0, max_value=1_000_000).map(lambda n: Decimal(n).scaleb(-6))
_cents = st.integers(min_value=1, max_value=10**15)
_days = st.integers(min_value=0, max_value=40_000).map(
    lambda n: datetime(1901, 1, 1, tzinfo=UTC) + timedelta(days=n)
)
_row = st.tuples(_names, st.sampled_from(list(Action)), _cents, _rates, _days, st.text(max_size=20))


def _money(cents: int) -> str:
    return f"{cents // 100:,}.{cents % 100:02d}"


def _percent(rate: Decimal) -> str:
    return f"{rate * 100:f}"


@given(st.lists(_row, min_size=1, max_size=20), st.sampled_from([",", ";", "\t"]))
def test_write_csv_then_read_gives_the_same_rows(rows: list, delimiter: str) -> None:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(HEADER)
    expected = []
    for name, action, cents, rate, day, notes in rows:
        notes = "".join(c for c in notes if c.isprintable()).strip()
        uses_amount = action in (Action.ADDED, Action.AMOUNT_CHANGED)
        uses_rate = action in (Action.ADDED, Action.RATE_CHANGED)
        writer.writerow(
            [
                name,
                {Action.ADDED: "add", Action.AMOUNT_CHANGED: "change amount"}.get(
                    action, action.value
                ),
                _money(cents) if uses_amount else "",
                _percent(rate) if uses_rate else "",
                day.date().isoformat(),
                notes,
            ]
        )
        expected.append(
            (
                name,
                action,
                day,
                cents if uses_amount else None,
                rate if uses_rate else None,
                notes or None,
            )
        )
    table = read_csv(out.getvalue().encode(), 1000)
    read = read_rows(table, guess_mapping(table.header), NOW)
    assert not read.problems, list(read.problems)
    assert [
        (r.name, r.action, r.effective_date, r.available_cents, r.annual_rate, r.notes)
        for r in read.rows
    ] == expected


# --- mappings named by callers ------------------------------------------------------------


def test_a_mapping_request_resolves_by_header_text_or_position() -> None:
    from capital_app.domain.spreadsheet_rows import mapping_request_from_json, resolve_mapping

    request = mapping_request_from_json(
        {"columns": {"source": " lender ", "amount": 2, "notes": None}, "rateUnit": "fraction"}
    )
    mapping = resolve_mapping(request, ("Lender", "Rate", "Principal"))
    assert dict(mapping.columns) == {Field.SOURCE: 0, Field.AMOUNT: 2}
    assert mapping.rate_unit is RateUnit.FRACTION


def test_bad_mapping_requests_name_every_problem() -> None:
    from capital_app.domain.errors import InvalidInput
    from capital_app.domain.spreadsheet_rows import mapping_request_from_json, resolve_mapping

    with pytest.raises(InvalidInput) as caught:
        mapping_request_from_json(
            {"columns": {"sauce": "A", "amount": True}, "rateUnit": "basis", "x": 1}
        )
    assert {e.field for e in caught.value.field_errors} == {
        "mapping.x",
        "mapping.columns.sauce",
        "mapping.columns.amount",
        "mapping.rateUnit",
    }
    with pytest.raises(InvalidInput):
        mapping_request_from_json([])
    with pytest.raises(InvalidInput) as caught:
        resolve_mapping(
            mapping_request_from_json({"columns": {"source": "Nope", "rate": 9}}), ("A", "B")
        )
    assert [e.field for e in caught.value.field_errors] == [
        "mapping.columns.source",
        "mapping.columns.rate",
    ]
    assert "its columns: “A”, “B”" in caught.value.field_errors[0].message


def test_an_unquoted_comma_that_splits_a_row_is_a_problem_of_that_row() -> None:
    content = b"Source,Amount,Rate,Date\nKCB,1,250,000.00,13,2025-01-01\nNCBA,100,9,2025-01-02\n"
    table = read_csv(content, 100)
    rows = read_rows(table, guess_mapping(table.header), NOW)
    ((row, field, message),) = [(p.index, p.field, p.message) for p in rows.problems]
    assert (row, field) == (2, "row") and "6 cells but the header has 4 columns" in message
    assert [r.name for r in rows.rows] == ["NCBA"] and rows.data_rows == 2
