"""Writing the history out: exact numbers, UTC instants, RFC 4180 CSV, stable columns."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from capital_app.domain.events import HistoryEntry
from capital_app.domain.export_format import (
    CSV_BOM,
    EXPORT_FIELDS,
    ExportFormat,
    entry_json,
    exact_json,
    export_chunks,
    format_instant,
)
from capital_app.domain.values import Action


def entry(**overrides: object) -> HistoryEntry:
    values: dict = {
        "id": "hist_1",
        "source_id": "src_1",
        "sequence": 2,
        "action": Action.RATE_CHANGED,
        "effective_date": datetime(2024, 1, 22, 9, tzinfo=UTC),
        "name": "KCB term loan",
        "annual_rate": Decimal("0.132500"),
        "available_cents": 250_000_000,
        "previous_rate": Decimal("0.140000"),
        "previous_amount": None,
        "notes": None,
        "created_at": datetime(2024, 1, 22, 9, 4, 13, 123000, tzinfo=UTC),
        "created_by": "cfo@example.co.ke",
    }
    values.update(overrides)
    return HistoryEntry(**values)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2024, 1, 22, 9, tzinfo=UTC), "2024-01-22T09:00:00Z"),
        (datetime(2024, 1, 22, 9, 0, 0, 123000, tzinfo=UTC), "2024-01-22T09:00:00.123Z"),
        (datetime(2024, 1, 22, 9, 0, 0, 123456, tzinfo=UTC), "2024-01-22T09:00:00.123456Z"),
        (
            datetime(2024, 1, 22, 12, tzinfo=timezone(timedelta(hours=3))),
            "2024-01-22T09:00:00Z",
        ),
    ],
)
def test_instants_are_utc_with_z(moment: datetime, text: str) -> None:
    assert format_instant(moment) == text


def test_an_entry_is_one_json_line_with_exact_numbers_and_every_key() -> None:
    line = entry_json(entry())
    assert "\n" not in line
    assert '"annualRate": 0.1325,' in line and '"previousRate": 0.14,' in line
    parsed = json.loads(line, parse_float=Decimal)
    assert list(parsed) == list(EXPORT_FIELDS)
    assert parsed["previousAmount"] is None and parsed["notes"] is None
    assert parsed["createdAt"] == "2024-01-22T09:04:13.123Z"


def test_unicode_is_written_as_is_and_escaped_where_json_needs_it() -> None:
    line = entry_json(entry(notes='Überbrückung — "ok" ✓\n季度'))
    assert 'Überbrückung — \\"ok\\" ✓\\n季度' in line
    assert json.loads(line)["notes"] == 'Überbrückung — "ok" ✓\n季度'


def test_the_json_export_is_a_list_one_entry_per_line() -> None:
    text = "".join(export_chunks([entry(id="a"), entry(id="b")], ExportFormat.JSON))
    assert text.startswith("[\n{") and text.endswith("}\n]\n")
    assert [e["id"] for e in json.loads(text)] == ["a", "b"]
    assert "".join(export_chunks([], ExportFormat.JSON)) == "[\n]\n"
    assert json.loads("".join(export_chunks([], ExportFormat.JSON))) == []


def test_csv_is_rfc4180_with_a_header_and_exact_values() -> None:
    rows = [
        entry(notes='repriced, "again"\nsee memo'),
        entry(id="hist_2", action=Action.ADDED, previous_rate=None, created_by=None),
    ]
    text = "".join(export_chunks(rows, ExportFormat.CSV))
    assert text.startswith(CSV_BOM + "id,sourceId,sequence,action,")
    body = text.removeprefix(CSV_BOM)
    assert body.endswith("\r\n")
    assert '"repriced, ""again""\nsee memo"' in body
    parsed = list(csv.reader(io.StringIO(body, newline="")))
    assert parsed[0] == list(EXPORT_FIELDS)
    first = dict(zip(parsed[0], parsed[1], strict=True))
    assert first["annualRate"] == "0.1325" and first["previousRate"] == "0.14"
    assert first["availableCents"] == "250000000" and first["previousAmount"] == ""
    assert first["notes"] == 'repriced, "again"\nsee memo'
    second = dict(zip(parsed[0], parsed[2], strict=True))
    assert second["createdBy"] == "" and second["previousRate"] == ""


def test_csv_keeps_spreadsheets_from_running_text_as_formulas() -> None:
    text = "".join(export_chunks([entry(name="=HYPERLINK(1)", notes="+1")], ExportFormat.CSV))
    row = list(csv.reader(io.StringIO(text.removeprefix(CSV_BOM), newline="")))[1]
    assert row[EXPORT_FIELDS.index("name")] == "'=HYPERLINK(1)"
    assert row[EXPORT_FIELDS.index("notes")] == "'+1"
    assert row[EXPORT_FIELDS.index("annualRate")] == "0.1325"


def test_large_csv_exports_come_in_several_chunks() -> None:
    chunks = list(export_chunks([entry(id=str(i)) for i in range(1200)], ExportFormat.CSV))
    assert len(chunks) > 3
    assert "".join(chunks).count("\r\n") == 1201


def test_exact_json_never_goes_through_floats() -> None:
    value = {
        "wacc": Decimal("0.1417751619"),
        "n": 3,
        "ok": True,
        "none": None,
        "l": [Decimal("1E-7")],
    }
    assert (
        exact_json(value)
        == '{"wacc": 0.1417751619, "n": 3, "ok": true, "none": null, "l": [0.0000001]}'
    )
    with pytest.raises(TypeError):
        exact_json({"x": 0.1})


def test_csv_escapes_formulas_in_ids_and_source_ids_too() -> None:
    """Issue 17: `id` and `sourceId` came out raw (`=HYPERLINK(…)`)."""
    hostile = entry(id='=HYPERLINK("http://x","y")', source_id="+cmd|' /C calc'!A0")
    text = "".join(export_chunks([hostile], ExportFormat.CSV))
    assert "'=HYPERLINK" in text and "'+cmd" in text
    assert ",=HYPERLINK" not in text and '"=HYPERLINK' not in text
