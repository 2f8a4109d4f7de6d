"""A spreadsheet's rows read as sources and changes: every cell checked, every problem named.

A CSV or workbook sheet arrives here as a `SheetTable` (its header and its rows of
cells; reading the file is `domain.spreadsheet_csv` or the service's workbook
reader). A `ColumnMapping` says which column holds which field; `guess_mapping`
proposes one from the header's names. `read_rows` turns every row into a `SheetRow`
or into problems, each with the row's number as the spreadsheet shows it (the
header is row 1, the first data row is row 2).

The fields (`Field`): the source's name, the action, the amount, the rate, the
effective date and notes. Without an action column every row adds a source, so a
list of today's sources imports as it is.

Rules (written down in docs/api-contract.md, "Spreadsheet import"):

- Actions: add (also "added", "new"), change amount ("amount", "amount change"),
  change rate ("rate", "rate change"), remove ("removed"); case, spaces, "-" and
  "_" do not matter, and the ledger's own names (ADDED, AMOUNT_CHANGED, …) work.
- An add needs the amount and the rate; a change of amount only the amount, a
  change of rate only the rate, a removal neither. A value in a column the action
  does not use is a problem (it would otherwise be silently dropped).
- Amounts are in the organization's currency, in major units as people write them:
  `1,234,567.89`, `KES 1,234,567.89`, `1 234 567.89`. Thousands separators must
  group by three (so `12,34` is refused, never read as 1,234), at most as many
  decimals as the currency has (2 for cents), no sign: a negative amount is a
  problem. They become whole minor units (cents).
- Workbook numbers are binary doubles. A numeric cell is read as the shortest
  decimal that reads back as the same double (Python's `repr`, the digits Excel
  itself writes in the file), and must then be exact: `1234.56` is 123456 cents,
  `1234.5600000000002` (a formula's result) is refused with a hint to round it in
  the sheet. Nothing is ever rounded silently.
- Rates: a text or plain number is a percentage (`13.25`, `13.25 %`), unless the
  mapping says the column holds fractions (`0.1325`); a workbook cell formatted as
  a percentage holds the fraction (it shows 13.25 %, it stores 0.1325). The rate
  must be 0–100 % with at most 4 decimals of a percent (6 of a fraction).
- Effective dates: a workbook date cell, or text `2025-03-31` (the start of that
  day, UTC, as everywhere in the API), an ISO date-time with an offset, or
  `31 Mar 2025` / `31 March 2025` / `31-Mar-2025`. Day/month orders like `03/04/2025`
  are refused: they mean different days in different countries. Not in the future,
  not before 1900.
- Empty rows are skipped. Names and notes follow the ledger's own rules.

Pure: no file handling, no database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from capital_app.domain.errors import FieldError, InvalidInput, LedgerError
from capital_app.domain.prototype_format import ImportProblem, Problems
from capital_app.domain.values import (
    MAX_CENTS,
    Action,
    check_cents,
    check_effective_date,
    check_name,
    check_notes,
    check_rate,
    parse_instant,
)

HEADER_ROW = 1  # the spreadsheet's row number of the header
MAX_COLUMNS = 64  # columns read from a sheet; any further ones are ignored
MAX_CELL_TEXT = 4000  # characters in one cell (notes are at most 2,000)


class Field(StrEnum):
    """What a column can hold (the names the API's mapping uses)."""

    SOURCE = "source"
    ACTION = "action"
    AMOUNT = "amount"
    RATE = "rate"
    EFFECTIVE_DATE = "effectiveDate"
    NOTES = "notes"


FIELD_LABELS = {
    Field.SOURCE: "Source name",
    Field.ACTION: "Action",
    Field.AMOUNT: "Amount",
    Field.RATE: "Rate",
    Field.EFFECTIVE_DATE: "Effective date",
    Field.NOTES: "Notes",
}
REQUIRED_FIELDS = (Field.SOURCE, Field.EFFECTIVE_DATE)


class RateUnit(StrEnum):
    PERCENT = "percent"  # 13.25 means 13.25 %
    FRACTION = "fraction"  # 0.1325 means 13.25 %


@dataclass(frozen=True, slots=True)
class SheetNumber:
    """A workbook's numeric cell as stored: a double (or an int), and whether its
    number format shows it as a percentage."""

    value: float | int
    percent: bool = False


Cell = str | SheetNumber | datetime | date | bool | None


@dataclass(frozen=True, slots=True)
class SheetTable:
    """What a file holds: the header's texts and the data rows (number, cells)."""

    header: tuple[str, ...]
    rows: Sequence[tuple[int, tuple[Cell, ...]]]
    problems: Sequence[ImportProblem] = ()  # about the file itself (index None)
    sheet_name: str | None = None
    # Rows that could not be split into the header's columns (not in `rows`).
    row_problems: Sequence[ImportProblem] = ()


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Field → column (0-based, into the header); `rate_unit` for plain rate numbers."""

    columns: Mapping[Field, int]
    rate_unit: RateUnit = RateUnit.PERCENT

    def as_json(self, header: Sequence[str]) -> dict[str, object]:
        return {
            "columns": {f.value: header[i] for f, i in self.columns.items() if i < len(header)},
            "rateUnit": self.rate_unit.value,
        }


@dataclass(frozen=True, slots=True)
class SheetRow:
    """One data row, checked: a command for the ledger, not yet against stored sources."""

    row: int  # the spreadsheet's row number
    name: str
    action: Action
    effective_date: datetime
    available_cents: int | None = None
    annual_rate: Decimal | None = None
    notes: str | None = None

    @property
    def key(self) -> tuple[object, ...]:
        """What makes two rows the same command (for finding repeated rows)."""
        return (
            self.name.lower(),
            self.action,
            self.effective_date,
            self.available_cents,
            self.annual_rate,
            self.notes,
        )


@dataclass(slots=True)
class SheetRows:
    """The rows that read cleanly and the problems of all of them."""

    rows: list[SheetRow] = field(default_factory=list)
    problems: Problems = field(default_factory=Problems)
    data_rows: int = 0  # non-empty rows
    # Names (lower case) of sources whose add row (or a row of unknown action) has a
    # problem: later rows naming them are checked for their own values only.
    unreadable_names: dict[str, int] = field(default_factory=dict)  # lower-case name → row


# --- the mapping ------------------------------------------------------------------------

_GUESSES: dict[Field, tuple[str, ...]] = {
    Field.SOURCE: ("source", "sourcename", "name", "lender", "facility", "instrument"),
    Field.ACTION: ("action", "type", "change", "event", "operation"),
    Field.AMOUNT: ("amount", "availableamount", "principal", "balance", "value", "capital"),
    Field.RATE: ("rate", "annualrate", "interestrate", "interest", "cost", "coupon"),
    Field.EFFECTIVE_DATE: ("effectivedate", "effective", "date", "asof", "valuedate", "from"),
    Field.NOTES: ("notes", "note", "comment", "comments", "description", "memo"),
}


def _squash(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.casefold())


def guess_mapping(header: Sequence[str]) -> ColumnMapping:
    """The mapping the header's names suggest: an exact name first, then a column whose
    name contains one (`Interest rate (%)` → rate). Each column serves one field."""
    squashed = [_squash(h) for h in header]
    taken: set[int] = set()
    columns: dict[Field, int] = {}
    for exact in (True, False):
        for fld, names in _GUESSES.items():
            if fld in columns:
                continue
            for name in names:
                found = next(
                    (
                        i
                        for i, h in enumerate(squashed)
                        if i not in taken and h and (h == name if exact else name in h)
                    ),
                    None,
                )
                if found is not None:
                    columns[fld] = found
                    taken.add(found)
                    break
    unit = RateUnit.PERCENT
    return ColumnMapping(columns, unit)


@dataclass(frozen=True, slots=True)
class MappingRequest:
    """A mapping as a caller names it: each field's column by its header text (or its
    0-based position), resolved against the file's header by `resolve_mapping`."""

    columns: Mapping[Field, str | int]
    rate_unit: RateUnit = RateUnit.PERCENT


def mapping_request_from_json(value: object) -> MappingRequest:
    """`{"columns": {"source": "Lender", "amount": 2}, "rateUnit": "percent"}` → a request."""
    if not isinstance(value, dict):
        raise InvalidInput.one(
            "mapping", 'The mapping must be an object like {"columns": {"source": "Name"}}.'
        )
    errors: list[FieldError] = []
    unknown = sorted(set(value) - {"columns", "rateUnit"})
    errors += [FieldError(f"mapping.{k}", f"Unknown mapping field “{k}”.") for k in unknown]
    columns = value.get("columns", {})
    chosen: dict[Field, str | int] = {}
    if not isinstance(columns, dict):
        errors.append(FieldError("mapping.columns", "columns must be an object."))
        columns = {}
    for key, column in columns.items():
        try:
            fld = Field(key)
        except ValueError:
            known = ", ".join(f.value for f in Field)
            errors.append(
                FieldError(f"mapping.columns.{key}", f"Unknown field “{key}”; known: {known}.")
            )
            continue
        if column is None:
            continue
        if isinstance(column, bool) or not isinstance(column, str | int):
            errors.append(
                FieldError(
                    f"mapping.columns.{key}",
                    "A column is named by its header text or its position (from 0).",
                )
            )
            continue
        chosen[fld] = column
    unit = value.get("rateUnit", RateUnit.PERCENT.value)
    try:
        rate_unit = RateUnit(unit)
    except ValueError:
        errors.append(FieldError("mapping.rateUnit", "rateUnit is percent or fraction."))
        rate_unit = RateUnit.PERCENT
    if errors:
        raise InvalidInput(errors)
    return MappingRequest(chosen, rate_unit)


def resolve_mapping(request: MappingRequest, header: Sequence[str]) -> ColumnMapping:
    """The request's columns found in `header` (by text, ignoring case and spaces)."""
    errors: list[FieldError] = []
    columns: dict[Field, int] = {}
    names = [h.strip().lower() for h in header]
    for fld, column in request.columns.items():
        if isinstance(column, int):
            index: int | None = column if 0 <= column < len(header) else None
        else:
            wanted = column.strip().lower()
            index = names.index(wanted) if wanted in names else None
        if index is None:
            shown = ", ".join(f"“{h}”" for h in header if h) or "none"
            errors.append(
                FieldError(
                    f"mapping.columns.{fld.value}",
                    f"The file has no column “{column}” for the {FIELD_LABELS[fld]} "
                    f"(its columns: {shown}).",
                )
            )
            continue
        columns[fld] = index
    if errors:
        raise InvalidInput(errors)
    return ColumnMapping(columns, request.rate_unit)


def mapping_problems(mapping: ColumnMapping, header: Sequence[str]) -> list[ImportProblem]:
    """What is wrong with a mapping itself: a required field without a column, a column
    that does not exist or serves two fields."""
    problems: list[ImportProblem] = []
    for fld in REQUIRED_FIELDS:
        if fld not in mapping.columns:
            problems.append(
                ImportProblem(
                    None, fld.value, f"Choose the column that holds the {FIELD_LABELS[fld]}."
                )
            )
    seen: dict[int, Field] = {}
    for fld, column in mapping.columns.items():
        if not 0 <= column < len(header):
            problems.append(
                ImportProblem(
                    None,
                    fld.value,
                    f"The {FIELD_LABELS[fld]} is mapped to column {column + 1}, but the file "
                    f"has {len(header)} column{'s' if len(header) != 1 else ''}.",
                )
            )
        elif column in seen:
            problems.append(
                ImportProblem(
                    None,
                    fld.value,
                    f"Column “{header[column]}” is chosen for both the "
                    f"{FIELD_LABELS[seen[column]]} and the {FIELD_LABELS[fld]}; each column "
                    "can hold one field.",
                )
            )
        else:
            seen[column] = fld
    if Field.ACTION not in mapping.columns:
        for fld in (Field.AMOUNT, Field.RATE):
            if fld not in mapping.columns:
                problems.append(
                    ImportProblem(
                        None,
                        fld.value,
                        "Without an Action column every row adds a source, which needs the "
                        f"{FIELD_LABELS[fld]}: choose its column.",
                    )
                )
    return problems


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: how a spreadsheet names a column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --- actions ----------------------------------------------------------------------------

_ACTIONS = {
    "add": Action.ADDED,
    "added": Action.ADDED,
    "new": Action.ADDED,
    "addsource": Action.ADDED,
    "changeamount": Action.AMOUNT_CHANGED,
    "amountchange": Action.AMOUNT_CHANGED,
    "amountchanged": Action.AMOUNT_CHANGED,
    "amount": Action.AMOUNT_CHANGED,
    "changerate": Action.RATE_CHANGED,
    "ratechange": Action.RATE_CHANGED,
    "ratechanged": Action.RATE_CHANGED,
    "rate": Action.RATE_CHANGED,
    "remove": Action.REMOVED,
    "removed": Action.REMOVED,
    "removesource": Action.REMOVED,
}
ACTION_WORDS = "add, change amount, change rate or remove"


def parse_action(text: str) -> Action:
    action = _ACTIONS.get(re.sub(r"[\s_\-]", "", text.casefold()))
    if action is None:
        raise _problem(Field.ACTION, f"“{_shown(text)}” is not an action; write {ACTION_WORDS}.")
    return action


# --- amounts ----------------------------------------------------------------------------

_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$|^\d+(\.\d*)?$|^\.\d+$")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")


class CellProblem(LedgerError):
    """One cell's problem: the field and the words."""

    def __init__(self, fld: Field, message: str) -> None:
        super().__init__(message)
        self.field = fld


def _problem(fld: Field, message: str) -> CellProblem:
    return CellProblem(fld, message)


def _shown(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def exact_decimal(number: SheetNumber) -> Decimal:
    """A workbook number as the shortest decimal that reads back as the same double."""
    value = number.value
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(repr(value))


def _to_minor_units(amount: Decimal, shown: str, digits: int, currency: str) -> int:
    if not amount.is_finite():
        raise _problem(Field.AMOUNT, f"“{shown}” is not an amount.")
    if amount < 0:
        raise _problem(
            Field.AMOUNT,
            f"The amount {shown} is negative; amounts are what a source makes available, "
            "at least 0.01. To reduce a source, change its amount to the new, lower figure.",
        )
    if amount and amount.adjusted() > 20:
        return check_cents(MAX_CENTS + 1, Field.AMOUNT.value)
    minor = amount.scaleb(digits)
    if minor != minor.to_integral_value():
        raise _problem(
            Field.AMOUNT,
            f"The amount {shown} has more than {digits} decimal places, which {currency} does "
            "not have. Round it in the sheet (for a formula: =ROUND(…, "
            f"{digits})); the importer never rounds.",
        )
    try:
        return check_cents(int(minor), Field.AMOUNT.value)
    except LedgerError as error:
        raise _problem(Field.AMOUNT, error.message) from None


def parse_amount(cell: Cell, currency: str, digits: int = 2) -> int:
    """An amount cell → whole minor units (see the module's rules)."""
    if isinstance(cell, SheetNumber):
        amount = exact_decimal(cell)
        return _to_minor_units(amount, _plain(amount), digits, currency)
    if not isinstance(cell, str):
        raise _problem(Field.AMOUNT, f"The amount must be a number, not {_kind(cell)}.")
    text = _SPACES.sub(" ", cell).strip()
    raw = text.upper().removeprefix(currency.upper()).removesuffix(currency.upper())
    raw = _SPACES.sub("", raw)
    negative = raw.startswith("-") or (raw.startswith("(") and raw.endswith(")"))
    raw = raw.strip("()").removeprefix("-").removeprefix("+")
    if not _GROUPED.match(raw):
        raise _problem(
            Field.AMOUNT,
            f"“{_shown(text)}” is not an amount; write it like 1,250,000.00 "
            "(commas only between groups of three digits, a point for decimals).",
        )
    amount = Decimal(raw.replace(",", ""))
    return _to_minor_units(
        -amount if negative and amount else amount, _shown(text), digits, currency
    )


def _plain(value: Decimal) -> str:
    return f"{value:f}"


def _kind(cell: Cell) -> str:
    if isinstance(cell, bool):
        return "TRUE/FALSE"
    if isinstance(cell, datetime | date):
        return "a date"
    return "this"


# --- rates ------------------------------------------------------------------------------


def parse_rate(cell: Cell, unit: RateUnit = RateUnit.PERCENT) -> Decimal:
    """A rate cell → the fraction (Decimal('0.1325') for 13.25 %)."""
    if isinstance(cell, SheetNumber):
        value = exact_decimal(cell)
        fraction = value if cell.percent or unit is RateUnit.FRACTION else value.scaleb(-2)
        shown = (
            f"{_plain(value.scaleb(2))} %"
            if cell.percent
            else _plain(value) + (" %" if unit is RateUnit.PERCENT else "")
        )
        return _checked_rate(fraction, shown)
    if not isinstance(cell, str):
        raise _problem(Field.RATE, f"The rate must be a number, not {_kind(cell)}.")
    text = _SPACES.sub(" ", cell).strip()
    percent_sign = text.endswith("%")
    raw = text.removesuffix("%").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise _problem(
            Field.RATE, f"“{_shown(text)}” is not a rate; write it like 13.25 (per cent)."
        ) from None
    if not value.is_finite() or not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", raw):
        raise _problem(
            Field.RATE, f"“{_shown(text)}” is not a rate; write it like 13.25 (per cent)."
        )
    as_percent = percent_sign or unit is RateUnit.PERCENT
    return _checked_rate(value.scaleb(-2) if as_percent else value, _shown(text))


def _checked_rate(fraction: Decimal, shown: str) -> Decimal:
    if fraction < 0 or fraction > 1:
        raise _problem(
            Field.RATE, f"The rate {shown} is out of range: a rate is between 0 % and 100 %."
        )
    try:
        return check_rate(fraction, Field.RATE.value)
    except LedgerError:
        raise _problem(
            Field.RATE,
            f"The rate {shown} has more decimals than the ledger keeps (at most 4 decimals "
            "of a per cent, like 13.2575 %). Round it in the sheet; the importer never rounds.",
        ) from None


# --- dates ------------------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for m in names
}
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})[\s\-/.]+([a-z]+)\.?[\s\-/.,]+(\d{4})$")
_NUMERIC_DATE = re.compile(r"^\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}$")


def parse_effective_date(cell: Cell, now: datetime) -> datetime:
    """An effective-date cell → an aware UTC instant (a day means its start, UTC)."""
    moment = _moment(cell)
    try:
        return check_effective_date(moment, now, Field.EFFECTIVE_DATE.value)
    except LedgerError as error:
        raise _problem(Field.EFFECTIVE_DATE, error.message) from None


def _moment(cell: Cell) -> datetime:
    if isinstance(cell, datetime):
        return cell if cell.tzinfo else cell.replace(tzinfo=UTC)
    if isinstance(cell, date):
        return datetime.combine(cell, time.min, tzinfo=UTC)
    if isinstance(cell, SheetNumber):
        raise _problem(
            Field.EFFECTIVE_DATE,
            f"{_plain(exact_decimal(cell))} is a number, not a date: format the column as a "
            "date in the sheet, or write dates like 2025-03-31.",
        )
    if not isinstance(cell, str):
        raise _problem(
            Field.EFFECTIVE_DATE, f"The effective date must be a date, not {_kind(cell)}."
        )
    text = cell.strip()
    words = _DAY_MONTH_YEAR.match(text.casefold())
    if words and words.group(2) in _MONTHS:
        try:
            day = date(int(words.group(3)), _MONTHS[words.group(2)], int(words.group(1)))
        except ValueError:
            raise _problem(
                Field.EFFECTIVE_DATE, f"“{_shown(text)}” is not a day of the calendar."
            ) from None
        return datetime.combine(day, time.min, tzinfo=UTC)
    if _NUMERIC_DATE.match(text) and not re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        raise _problem(
            Field.EFFECTIVE_DATE,
            f"“{_shown(text)}” could mean different days (day/month or month/day); write "
            "dates like 2025-03-31 or 31 Mar 2025.",
        )
    try:
        return parse_instant(text, Field.EFFECTIVE_DATE.value)
    except LedgerError:
        raise _problem(
            Field.EFFECTIVE_DATE,
            f"“{_shown(text)}” is not a date; write it like 2025-03-31 or 31 Mar 2025.",
        ) from None


# --- rows -------------------------------------------------------------------------------

_USES = {
    Action.ADDED: (Field.AMOUNT, Field.RATE),
    Action.AMOUNT_CHANGED: (Field.AMOUNT,),
    Action.RATE_CHANGED: (Field.RATE,),
    Action.REMOVED: (),
}
_ACTION_WORDING = {
    Action.ADDED: "An add",
    Action.AMOUNT_CHANGED: "A change of amount",
    Action.RATE_CHANGED: "A change of rate",
    Action.REMOVED: "A removal",
}


def _blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _text_of(cell: Cell, fld: Field) -> str:
    if isinstance(cell, str):
        return cell
    if isinstance(cell, SheetNumber):
        return _plain(exact_decimal(cell))
    raise _problem(fld, f"The {FIELD_LABELS[fld].lower()} must be text, not {_kind(cell)}.")


def _checked_text(cell: Cell, fld: Field, check: object) -> str:
    text = _text_of(cell, fld)
    try:
        return check(text.strip(), fld.value)  # type: ignore[operator,no-any-return]
    except LedgerError as error:
        raise _problem(fld, error.message) from None


def read_rows(
    table: SheetTable,
    mapping: ColumnMapping,
    now: datetime,
    *,
    currency: str = "KES",
    digits: int = 2,
) -> SheetRows:
    """Every row checked on its own (`domain.spreadsheet_plan` checks them together)."""
    result = SheetRows()
    result.problems.extend(table.problems)
    result.problems.extend(mapping_problems(mapping, table.header))
    if result.problems:
        return result
    result.problems.extend(table.row_problems)
    result.data_rows = len(table.row_problems)
    for number, cells in table.rows:
        row = _read_row(number, cells, mapping, now, currency, digits, result)
        if row is not None:
            result.rows.append(row)
    return result


def _read_row(
    number: int,
    cells: tuple[Cell, ...],
    mapping: ColumnMapping,
    now: datetime,
    currency: str,
    digits: int,
    result: SheetRows,
) -> SheetRow | None:
    def cell(fld: Field) -> Cell:
        column = mapping.columns.get(fld)
        return cells[column] if column is not None and column < len(cells) else None

    if all(_blank(cell(f)) for f in mapping.columns):
        return None
    result.data_rows += 1
    problems: list[ImportProblem] = []

    def read(fld: Field, parse: object, *args: object) -> object:
        value = cell(fld)
        if _blank(value):
            return None
        try:
            return parse(value, *args)  # type: ignore[operator]
        except CellProblem as error:
            problems.append(ImportProblem(number, error.field.value, error.message))
            return _FAILED

    name = read(Field.SOURCE, _checked_text, Field.SOURCE, check_name)
    if name is None:
        problems.append(ImportProblem(number, Field.SOURCE.value, "The source name is empty."))
    if Field.ACTION in mapping.columns:
        action = read(Field.ACTION, lambda c: parse_action(_text_of(c, Field.ACTION)))
        if action is None:
            problems.append(
                ImportProblem(
                    number, Field.ACTION.value, f"The action is empty; write {ACTION_WORDS}."
                )
            )
    else:
        action = Action.ADDED
    effective = read(Field.EFFECTIVE_DATE, parse_effective_date, now)
    if effective is None:
        problems.append(
            ImportProblem(number, Field.EFFECTIVE_DATE.value, "The effective date is empty.")
        )
    cents = read(Field.AMOUNT, parse_amount, currency, digits)
    rate = read(Field.RATE, parse_rate, mapping.rate_unit)
    notes = read(Field.NOTES, _checked_text, Field.NOTES, check_notes)
    if isinstance(action, Action):
        for fld, value in ((Field.AMOUNT, cents), (Field.RATE, rate)):
            used = fld in _USES[action]
            if used and value is None:
                problems.append(
                    ImportProblem(
                        number,
                        fld.value,
                        f"{_ACTION_WORDING[action]} needs the {FIELD_LABELS[fld].lower()}; "
                        "the cell is empty.",
                    )
                )
            elif not used and value is not None:
                problems.append(
                    ImportProblem(
                        number,
                        fld.value,
                        f"{_ACTION_WORDING[action]} takes no {FIELD_LABELS[fld].lower()}; "
                        "leave the cell empty (it would not be imported). Use a separate "
                        f"row to change the {FIELD_LABELS[fld].lower()}.",
                    )
                )
    if problems:
        result.problems.extend(problems)
        # A failed add (or a row whose action is unknown) leaves its source's start
        # unknown; a failed change leaves the source as it was.
        if isinstance(name, str) and (action is Action.ADDED or not isinstance(action, Action)):
            result.unreadable_names.setdefault(name.lower(), number)
        return None
    assert isinstance(name, str) and isinstance(action, Action)
    assert isinstance(effective, datetime)
    return SheetRow(
        row=number,
        name=name,
        action=action,
        effective_date=effective,
        available_cents=cents if isinstance(cents, int) else None,
        annual_rate=rate if isinstance(rate, Decimal) else None,
        notes=notes if isinstance(notes, str) else None,
    )


_FAILED = object()


def data_rows(
    rows: Iterable[tuple[int, tuple[Cell, ...]]],
) -> Iterator[tuple[int, tuple[Cell, ...]]]:
    """The rows that hold anything (a sheet's formatted but empty rows dropped)."""
    for number, cells in rows:
        if not all(_blank(c) for c in cells):
            yield number, cells
