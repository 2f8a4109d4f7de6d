"""A CSV file read as a `SheetTable`: UTF-8 only, its delimiter found from the header.

Excel writes CSV with a comma, or a semicolon where the comma is the decimal mark,
and "CSV UTF-8" starts with a byte-order mark; all of those read here. A file that
is not UTF-8 is refused (a wrong guess at its encoding would change names), as is
one with more than `max_rows` data rows (the problem says so; nothing is cut off
silently).
"""

from __future__ import annotations

import csv
import io

from capital_app.domain.prototype_format import ImportProblem
from capital_app.domain.spreadsheet_rows import (
    MAX_CELL_TEXT,
    MAX_COLUMNS,
    Cell,
    SheetTable,
)

_DELIMITERS = (",", ";", "\t")


def _delimiter(first_line: str) -> str:
    """The delimiter the header uses most (a comma when it uses none: one column)."""
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def too_many_rows(max_rows: int) -> ImportProblem:
    return ImportProblem(
        None,
        "file",
        f"The file has more than {max_rows:,} rows, more than one import takes. "
        "Split it into several files and import them one after another.",
    )


def read_csv(content: bytes, max_rows: int) -> SheetTable:
    """The table a CSV file holds; problems with the file itself in `problems`."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return SheetTable(
            (),
            [],
            [
                ImportProblem(
                    None,
                    "file",
                    f"The file is not UTF-8 text (byte {error.start + 1:,} is not). In Excel, "
                    "save it as “CSV UTF-8 (Comma delimited)”, or upload the .xlsx itself.",
                )
            ],
        )
    if "\x00" in text:
        return SheetTable(
            (),
            [],
            [ImportProblem(None, "file", "This is not a CSV file (it holds binary data).")],
        )
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    header: tuple[str, ...] | None = None
    rows: list[tuple[int, tuple[Cell, ...]]] = []
    row_problems: list[ImportProblem] = []
    try:
        for number, record in enumerate(reader, start=1):  # a record is a sheet's row
            if header is None:
                if not any(cell.strip() for cell in record):
                    continue
                header = tuple(cell.strip() for cell in record[:MAX_COLUMNS])
                continue
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) + len(row_problems) >= max_rows:
                return SheetTable(header, [], [too_many_rows(max_rows)])
            extra = [c for c in record[len(header) :] if c.strip()]
            if extra:  # cells past the header: a comma in an unquoted number or text?
                row_problems.append(
                    ImportProblem(
                        number,
                        "row",
                        f"Row {number:,} has {len(record)} cells but the header has "
                        f"{len(header)} columns (the extra: “{extra[0][:40]}”). Is a comma "
                        'inside a number or text not in quotes? Write "1,250,000.00" with the '
                        "quotes, or remove the extra cells.",
                    )
                )
                continue
            cells = tuple(record[:MAX_COLUMNS])
            long = next((c for c in cells if len(c) > MAX_CELL_TEXT), None)
            if long is not None:
                return SheetTable(
                    header,
                    [],
                    [
                        ImportProblem(
                            None,
                            "file",
                            f"Row {number:,} has a cell of {len(long):,} characters, more than "
                            f'the {MAX_CELL_TEXT:,} a cell may hold. Is a quote (") left open?',
                        )
                    ],
                )
            rows.append((number, cells))
    except csv.Error as error:
        return SheetTable(
            header or (),
            [],
            [
                ImportProblem(
                    None, "file", f"The CSV cannot be read near line {reader.line_num:,}: {error}."
                )
            ],
        )
    if header is None:
        return SheetTable((), [], [ImportProblem(None, "file", "The file is empty.")])
    if not rows and not row_problems:
        return SheetTable(
            header, [], [ImportProblem(None, "file", "The file has a header but no rows.")]
        )
    return SheetTable(header, rows, row_problems=row_problems)
