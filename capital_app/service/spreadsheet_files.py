"""An uploaded spreadsheet read as a `SheetTable`: CSV, or the first sheet of an .xlsx.

The kind is told by the bytes, not the name: an .xlsx is a ZIP archive, an old
.xls an OLE file (refused with a hint), anything else is read as CSV text.

Bounds, so one upload cannot hold the server: the file itself (`MAX_SPREADSHEET_BYTES`),
the data rows (`MAX_SHEET_ROWS`), the columns read (`MAX_COLUMNS`), and for an .xlsx
what its archive unpacks to (`MAX_UNPACKED_BYTES` in all, `MAX_PACKING_RATIO` for
any large member) — checked from the archive's directory before anything is
unpacked; reading never unpacks more than a member declares. openpyxl reads in
read-only mode (streaming the sheet) and, with defusedxml installed, refuses XML
entity tricks. The sheet's declared size is ignored (`reset_dimensions`): a stale
one would otherwise make openpyxl stop early and silently drop rows.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from capital_app.domain.prototype_format import ImportProblem
from capital_app.domain.spreadsheet_csv import read_csv, too_many_rows
from capital_app.domain.spreadsheet_rows import (
    MAX_CELL_TEXT,
    MAX_COLUMNS,
    Cell,
    SheetNumber,
    SheetTable,
)

MAX_SPREADSHEET_BYTES = 16 * 1024 * 1024  # the uploaded file
MAX_SHEET_ROWS = 50_000  # data rows (not counting the header and empty rows)
MAX_UNPACKED_BYTES = 256 * 1024 * 1024  # an .xlsx's members, unpacked, in all
MAX_PACKING_RATIO = 200  # unpacked / packed, for a member over 1 MiB unpacked
MAX_MEMBERS = 10_000
_LARGE_MEMBER = 1024 * 1024

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class SpreadsheetKind(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


def kind_of(content: bytes) -> SpreadsheetKind:
    return SpreadsheetKind.XLSX if content.startswith(_ZIP) else SpreadsheetKind.CSV


def _file_problem(message: str) -> SheetTable:
    return SheetTable((), [], [ImportProblem(None, "file", message)])


def read_spreadsheet(content: bytes, max_rows: int = MAX_SHEET_ROWS) -> SheetTable:
    """The table in `content` (CSV or .xlsx); file-level problems in its `problems`."""
    if len(content) > MAX_SPREADSHEET_BYTES:
        return _file_problem(
            f"The file is {len(content):,} bytes, more than the {MAX_SPREADSHEET_BYTES:,} a "
            "spreadsheet import takes. Split it into several files."
        )
    if not content:
        return _file_problem("The file is empty.")
    if content.startswith(_OLE):
        return _file_problem(
            "This is an old Excel .xls file, which the importer does not read. In Excel, "
            "save it as .xlsx (Excel Workbook) or as CSV UTF-8, and upload that."
        )
    if kind_of(content) is SpreadsheetKind.XLSX:
        return read_xlsx(content, max_rows)
    return read_csv(content, max_rows)


def _archive_problem(archive: zipfile.ZipFile) -> str | None:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        return f"The workbook holds {len(members):,} parts; this is not a spreadsheet."
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED_BYTES:
        return (
            f"The workbook unpacks to {unpacked:,} bytes, more than the "
            f"{MAX_UNPACKED_BYTES:,} the importer reads. Split it, or save the sheet as CSV."
        )
    for m in members:
        if m.file_size > _LARGE_MEMBER and m.file_size > MAX_PACKING_RATIO * max(
            m.compress_size, 1
        ):
            return (
                f"The workbook's part {m.filename} unpacks to {m.file_size:,} bytes from "
                f"{m.compress_size:,}: packed far more tightly than any real sheet (a "
                "“zip bomb”?). It was not read."
            )
    return None


def read_xlsx(content: bytes, max_rows: int = MAX_SHEET_ROWS) -> SheetTable:
    """The first worksheet of an .xlsx (values as Excel last computed them)."""
    import openpyxl  # only when a workbook comes: it is slow to import

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            problem = _archive_problem(archive)
    except zipfile.BadZipFile:
        return _file_problem("The file looks like a workbook but is damaged (not a valid .xlsx).")
    if problem:
        return _file_problem(problem)
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(content), read_only=True, data_only=True, keep_links=False
        )
    except Exception as error:  # openpyxl raises many kinds for a damaged or foreign file
        return _file_problem(
            "The workbook cannot be read as .xlsx "
            f"({type(error).__name__}). Save it again from Excel as .xlsx, or as CSV UTF-8."
        )
    try:
        return _first_sheet(workbook, max_rows)
    except Exception as error:
        return _file_problem(
            f"The workbook's sheet cannot be read ({type(error).__name__}: {error})."[:300]
        )
    finally:
        workbook.close()


def _first_sheet(workbook: Any, max_rows: int) -> SheetTable:
    sheets = workbook.worksheets
    sheet = next((s for s in sheets if hasattr(s, "reset_dimensions")), None)
    if sheet is None:
        return _file_problem("The workbook has no worksheet.")
    sheet.reset_dimensions()
    header: tuple[str, ...] | None = None
    rows: list[tuple[int, tuple[Cell, ...]]] = []
    for number, raw in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS), start=1):
        cells = tuple(_cell(c) for c in raw)
        if not any(_filled(c) for c in cells):
            continue
        if header is None:
            texts = [_header_text(c) for c in cells]
            while texts and not texts[-1]:
                texts.pop()  # openpyxl pads every row to max_col
            header = tuple(texts)
            continue
        cells = cells[: len(header)]
        if len(rows) >= max_rows:
            return SheetTable(header, [], [too_many_rows(max_rows)], sheet.title)
        long = next((c for c in cells if isinstance(c, str) and len(c) > MAX_CELL_TEXT), None)
        if long is not None:
            return SheetTable(
                header,
                [],
                [
                    ImportProblem(
                        None,
                        "file",
                        f"Row {number:,} has a cell of {len(long):,} characters, more than "
                        f"the {MAX_CELL_TEXT:,} a cell may hold.",
                    )
                ],
                sheet.title,
            )
        rows.append((number, cells))
    if header is None:
        return SheetTable((), [], [ImportProblem(None, "file", "The sheet is empty.")], sheet.title)
    if not rows:
        return SheetTable(
            header,
            [],
            [ImportProblem(None, "file", "The sheet has a header but no rows.")],
            sheet.title,
        )
    return SheetTable(header, rows, (), sheet.title)


def _filled(cell: Cell) -> bool:
    return cell is not None and not (isinstance(cell, str) and not cell.strip())


def _header_text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, SheetNumber):
        return str(cell.value)
    return str(cell).strip()


def _cell(cell: Any) -> Cell:
    """openpyxl's value as the domain's cell: numbers keep their double and % format."""
    value = getattr(cell, "value", None)
    if value is None or isinstance(value, str | bool | datetime | date):
        return value
    if isinstance(value, int | float):
        number_format = getattr(cell, "number_format", "") or ""
        return SheetNumber(value, "%" in number_format)
    if isinstance(value, time):
        return value.isoformat()  # a time of day alone is not a date; the rows say so
    return str(value)
