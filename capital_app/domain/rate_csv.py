"""FX rates from a CSV file: every row checked, every problem reported, nothing half-read.

Columns (a header row, names case-insensitive, in any order): `from_currency` (or
`from`), `to_currency` (or `to`; optional, default the reporting currency), `rate`
(a decimal string: 1 FROM = rate TO) and `effective_date` (or `date`; YYYY-MM-DD).
Rows are numbered as a spreadsheet shows them (the header is row 1).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

from capital_app.domain.currencies import check_fx_rate, check_iso_currency
from capital_app.domain.errors import FieldError, InvalidInput

MAX_ROWS = 10_000
T = TypeVar("T")
_ALIASES = {
    "from_currency": "from",
    "fromcurrency": "from",
    "from": "from",
    "to_currency": "to",
    "tocurrency": "to",
    "to": "to",
    "rate": "rate",
    "effective_date": "date",
    "effectivedate": "date",
    "date": "date",
}


@dataclass(frozen=True, slots=True)
class FxRow:
    row: int
    from_currency: str
    to_currency: str
    rate: Decimal
    effective_date: date


def check_fx_pair(from_currency: str, to_currency: str, reporting: str, field: str) -> None:
    """Only FROM→reporting rates are used: refuse others rather than store unused facts."""
    if to_currency != reporting:
        raise InvalidInput.one(
            field,
            f"Rates are recorded into the reporting currency {reporting}:"
            f" give {from_currency}→{reporting}, not {from_currency}→{to_currency}.",
        )
    if from_currency == to_currency:
        raise InvalidInput.one(field, f"A rate from {from_currency} to itself is always 1.")


def check_fact_date(value: object, today: date, field: str) -> date:
    if isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value).strip())
        except ValueError:
            raise InvalidInput.one(field, "The date must be written YYYY-MM-DD.") from None
    if day > today:
        raise InvalidInput.one(field, "The date may not be in the future.")
    if day.year < 1900:
        raise InvalidInput.one(field, "The date must be in 1900 or later.")
    return day


def parse_fx_csv(content: str, reporting: str, today: date) -> list[FxRow]:
    """The file's rows, or InvalidInput listing every problem (field `row N: column`)."""
    problems: list[FieldError] = []
    reader = csv.reader(io.StringIO(content.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput.one("file", "The file is empty: it needs a header row.") from None
    except csv.Error as error:
        raise InvalidInput.one("file", f"The file is not valid CSV: {error}.") from None
    columns = {
        _ALIASES.get(name.strip().lower().replace(" ", "_")): i for i, name in enumerate(header)
    }
    columns.pop(None, None)
    missing = [name for name in ("from", "rate", "date") if name not in columns]
    if missing:
        raise InvalidInput.one(
            "file",
            "The header must name from_currency, rate and effective_date"
            f" (missing: {', '.join(missing)}).",
        )
    rows: list[FxRow] = []
    seen: dict[tuple[str, str, date], int] = {}
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) + len(problems) >= MAX_ROWS:
                raise InvalidInput.one("file", f"At most {MAX_ROWS:,} rows per file.")
            row, found = _parse_row(number, cells, columns, reporting, today)
            if row is not None:
                key = (row.from_currency, row.to_currency, row.effective_date)
                if key in seen:
                    found.append(
                        FieldError(
                            f"row {number}: effective_date",
                            f"Row {number}: the file already has a {key[0]}→{key[1]}"
                            f" rate for {key[2].isoformat()} (row {seen[key]}).",
                        )
                    )
                else:
                    seen[key] = number
                    rows.append(row)
            problems.extend(found)
    except csv.Error as error:
        problems.append(FieldError("file", f"The file is not valid CSV: {error}."))
    if problems:
        raise InvalidInput(problems)
    if not rows:
        raise InvalidInput.one("file", "The file has a header but no rates.")
    return rows


def _parse_row(
    number: int, cells: list[str], columns: dict[str | None, int], reporting: str, today: date
) -> tuple[FxRow | None, list[FieldError]]:
    found: list[FieldError] = []

    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index] if index is not None and index < len(cells) else ""

    def check(what: str, fn: Callable[..., T], *args: object) -> T | None:
        try:
            return fn(*args)
        except InvalidInput as error:
            found.extend(
                FieldError(f"row {number}: {what}", f"Row {number}: {e.message}")
                for e in error.errors
            )
            return None

    from_currency = check("from_currency", check_iso_currency, cell("from"), "from")
    to_currency = check("to_currency", check_iso_currency, cell("to") or reporting, "to")
    rate = check("rate", check_fx_rate, cell("rate"), "rate")
    day = check("effective_date", check_fact_date, cell("date"), today, "date")
    if from_currency and to_currency:
        check("to_currency", check_fx_pair, from_currency, to_currency, reporting, "to")
    if found or not (from_currency and to_currency and rate is not None and day):
        return None, found
    return FxRow(number, from_currency, to_currency, rate, day), found
