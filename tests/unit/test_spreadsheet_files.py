"""Workbooks and CSVs read as tables: exact cells, bounded sizes, refused bombs."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime
from decimal import Decimal

import openpyxl

from capital_app.domain.spreadsheet_rows import SheetNumber, guess_mapping, read_rows
from capital_app.service.spreadsheet_files import (
    MAX_SPREADSHEET_BYTES,
    SpreadsheetKind,
    kind_of,
    read_spreadsheet,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def workbook(rows: list[list[object]], percent_column: int | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sources"
    for row in rows:
        sheet.append(row)
    if percent_column is not None:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=percent_column, max_col=percent_column):
            cell.number_format = "0.00%"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_workbook_reads_with_exact_numbers_percent_cells_and_dates() -> None:
    content = workbook(
        [
            ["Source", "Action", "Amount", "Rate", "Effective date"],
            ["KCB", "add", 1250000.5, 0.1325, datetime(2025, 1, 31)],
            ["KCB", "change amount", 1234.56, None, datetime(2025, 2, 1)],
            [None, None, None, None, None],
            ["KCB", "change rate", None, 0.14, "2025-03-01"],
        ],
        percent_column=4,
    )
    assert kind_of(content) is SpreadsheetKind.XLSX
    table = read_spreadsheet(content)
    assert not table.problems and table.sheet_name == "Sources"
    assert [n for n, _ in table.rows] == [2, 3, 5]
    assert table.rows[0][1][3] == SheetNumber(0.1325, percent=True)
    rows = read_rows(table, guess_mapping(table.header), NOW)
    assert not rows.problems
    assert [(r.available_cents, r.annual_rate) for r in rows.rows] == [
        (125000050, Decimal("0.1325")),
        (123456, None),
        (None, Decimal("0.14")),
    ]
    assert rows.rows[0].effective_date == datetime(2025, 1, 31, tzinfo=UTC)


def with_sheet_xml(content: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    """The workbook with its sheet's XML changed (as Excel, not openpyxl, would write it)."""
    parts = {}
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            parts[name] = archive.read(name)
    name = "xl/worksheets/sheet1.xml"
    parts[name] = change(parts[name].decode()).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, data in parts.items():
            archive.writestr(part, data)
    return out.getvalue()


def test_a_formula_result_that_is_not_whole_cents_is_refused() -> None:
    """Excel writes a formula's double in full (17 digits); openpyxl writes 15."""
    content = workbook([["Source", "Amount", "Rate", "Date"], ["KCB", 0.3, 13, "2025-01-01"]])
    content = with_sheet_xml(
        content, lambda x: x.replace("<v>0.3</v>", "<v>0.30000000000000004</v>")
    )
    table = read_spreadsheet(content)
    rows = read_rows(table, guess_mapping(table.header), NOW)
    ((row, field, message),) = [(p.index, p.field, p.message) for p in rows.problems]
    assert (row, field) == (2, "amount")
    assert "0.30000000000000004" in message and "ROUND" in message


def test_a_stale_sheet_dimension_does_not_drop_rows() -> None:
    """openpyxl stops at the declared last row; the reader ignores the declaration."""
    content = workbook(
        [["Source", "Amount", "Rate", "Date"]]
        + [[f"S{i}", 100 + i, 10, "2025-01-01"] for i in range(5)]
    )
    stale = with_sheet_xml(
        content, lambda x: re.sub(r'<dimension ref="[^"]+"', '<dimension ref="A1:D2"', x)
    )
    with zipfile.ZipFile(io.BytesIO(stale)) as archive:
        assert b'<dimension ref="A1:D2"' in archive.read("xl/worksheets/sheet1.xml")
    table = read_spreadsheet(stale)
    assert len(table.rows) == 5


def test_a_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    content = out.getvalue()
    assert len(content) < 200_000
    table = read_spreadsheet(content)
    assert table.rows == [] and "zip bomb" in table.problems[0].message


def test_a_huge_sheet_is_refused_by_its_row_count() -> None:
    content = workbook([["Source", "Amount", "Rate", "Date"]] + [["S", 1, 1, "2025-01-01"]] * 30)
    table = read_spreadsheet(content, max_rows=20)
    assert table.rows == [] and "more than 20 rows" in table.problems[0].message


def test_old_xls_damaged_and_oversized_files_get_clear_words() -> None:
    assert ".xls" in read_spreadsheet(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest").problems[0].message
    assert "damaged" in read_spreadsheet(b"PK\x03\x04not really").problems[0].message
    big = b"a" * (MAX_SPREADSHEET_BYTES + 1)
    assert "more than the" in read_spreadsheet(big).problems[0].message
    assert "empty" in read_spreadsheet(b"").problems[0].message


def test_an_entity_expansion_attack_is_not_expanded() -> None:
    """defusedxml is installed, so openpyxl refuses a DTD with entities."""
    content = workbook([["Source", "Amount", "Rate", "Date"], ["S", 1, 1, "2025-01-01"]])
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    )

    def attack(sheet: str) -> str:
        sheet = re.sub(r"^<\?xml[^>]*\?>", "", sheet)
        return bomb + sheet.replace("<t>S</t>", "<t>&b;</t>")

    table = read_spreadsheet(with_sheet_xml(content, attack))
    assert table.rows == [] and table.problems
    assert "cannot be read" in table.problems[0].message
