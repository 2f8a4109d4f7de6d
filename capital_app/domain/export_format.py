"""How the history is written out: JSON that re-imports as the same history, and CSV.

Both list the same fields in the same order (`EXPORT_FIELDS`). Numbers are
written exactly (0.1325, never 0.13250000000000001), instants in UTC with a `Z`.
The JSON form is what `domain.prototype_format` reads back, so export → import → export
gives the same bytes. Pure functions: the service streams their output.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from json.encoder import encode_basestring

from capital_app.domain.events import HistoryEntry
from capital_app.domain.money import decimal_text
from capital_app.domain.prototype_format import KNOWN_FIELDS

EXPORT_FIELDS = KNOWN_FIELDS  # one order for JSON keys and CSV columns
CSV_BOM = "\ufeff"  # lets spreadsheet programs recognise UTF-8 (accents in notes)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"

    @property
    def media_type(self) -> str:
        return "application/json" if self is ExportFormat.JSON else "text/csv"


def format_instant(moment: datetime) -> str:
    """UTC with Z; fractions only when present, in milliseconds when they are whole."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond % 1000 == 0 and moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    elif moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"


def _values(entry: HistoryEntry) -> tuple[object, ...]:
    """The entry's values in EXPORT_FIELDS order (None where a field is empty)."""
    assert entry.first_recorded_at is not None
    return (
        entry.id,
        entry.source_id,
        entry.sequence,
        entry.action.value,
        format_instant(entry.effective_date),
        entry.name,
        entry.annual_rate,
        entry.available_cents,
        entry.previous_rate,
        entry.previous_amount,
        entry.notes,
        format_instant(entry.first_recorded_at),  # the prototype's own, when imported
        entry.first_recorded_by,
    )


def exact_json(value: object) -> str:
    """JSON text with Decimals written exactly as numbers (json.dumps would need floats)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return encode_basestring(value)  # json.dumps(value, ensure_ascii=False), faster
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return f'"{format_instant(value)}"'
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{exact_json(str(k))}: {exact_json(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ", ".join(exact_json(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def entry_json(entry: HistoryEntry) -> str:
    """One entry as a JSON object on one line, numbers exact."""
    pairs = (
        f'"{key}": {exact_json(value)}'
        for key, value in zip(EXPORT_FIELDS, _values(entry), strict=True)
    )
    return "{" + ", ".join(pairs) + "}"


def json_chunks(entries: Iterable[HistoryEntry], entries_per_chunk: int = 500) -> Iterator[str]:
    """A JSON list of entries, one per line, as text chunks."""
    lines: list[str] = []
    first = True
    for entry in entries:
        lines.append(entry_json(entry))
        if len(lines) >= entries_per_chunk:
            yield ("[\n" if first else ",\n") + ",\n".join(lines)
            lines, first = [], False
    if lines:
        yield ("[\n" if first else ",\n") + ",\n".join(lines)
    yield "[\n]\n" if first and not lines else "\n]\n"


def _csv_text(value: str) -> str:
    """Keep spreadsheets from running text as a formula (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_row(entry: HistoryEntry) -> list[str]:
    row: list[str] = []
    for value in _values(entry):
        if value is None:
            row.append("")
        elif isinstance(value, str):  # every text, ids included: a file may bring any
            row.append(_csv_text(value))
        elif isinstance(value, int):
            row.append(str(value))
        else:
            row.append(decimal_text(value))  # type: ignore[arg-type]
    return row


def csv_chunks(entries: Iterable[HistoryEntry], rows_per_chunk: int = 500) -> Iterator[str]:
    """RFC 4180 CSV (CRLF line ends, quotes only where needed) with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(EXPORT_FIELDS)
    pending = 0
    for entry in entries:
        writer.writerow(_csv_row(entry))
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


def export_chunks(entries: Iterable[HistoryEntry], fmt: ExportFormat) -> Iterator[str]:
    if fmt is ExportFormat.CSV:
        yield CSV_BOM
        yield from csv_chunks(entries)
    else:
        yield from json_chunks(entries)
