"""What the spreadsheet import page shows: column choices, the report's words, problems.

Pure (no Reflex): the service's preview and report in, display texts out, so the page
and its unit tests read the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

from capital_app.domain.dates import format_date
from capital_app.domain.money import format_money, format_rate
from capital_app.domain.prototype_format import ImportProblem
from capital_app.domain.spreadsheet_rows import (
    FIELD_LABELS,
    REQUIRED_FIELDS,
    ColumnMapping,
    Field,
    RateUnit,
    column_letter,
)
from capital_app.service.history_import import ImportReport
from capital_app.ui.pages.prototype_import.presenters import ACTION_LABELS, plural

NOT_IN_FILE = ""  # the choice "this field is not in the file"

FIELD_HINTS = {
    Field.SOURCE: "Required. Changes name the source they change.",
    Field.ACTION: "add, change amount, change rate or remove. Without it every row adds a source.",
    Field.AMOUNT: "In the organization's currency, like 1,250,000.00.",
    Field.RATE: "The annual rate.",
    Field.EFFECTIVE_DATE: "Required. Like 2025-03-31 or 31 Mar 2025, or a date cell.",
    Field.NOTES: "Optional.",
}


@dataclass
class FieldChoice:
    """One field of the mapping step: its label, hint and whether it is required."""

    field: str = ""
    label: str = ""
    hint: str = ""
    required: bool = False


@dataclass
class SheetProblemRow:
    """One problem: the row ("Row 12" or "The file"), the column, the field, the words."""

    where: str = ""
    column: str = ""
    field: str = ""
    message: str = ""


def field_choices() -> list[FieldChoice]:
    return [
        FieldChoice(f.value, FIELD_LABELS[f], FIELD_HINTS[f], f in REQUIRED_FIELDS) for f in Field
    ]


def column_options(header: tuple[str, ...] | list[str]) -> list[str]:
    """Each column as the select shows it: "C · Principal (KES)" (unique even when two
    headers are the same text)."""
    return [f"{column_letter(i)} · {h or '(no header)'}" for i, h in enumerate(header)]


def choices_from_mapping(mapping: ColumnMapping, options: list[str]) -> dict[str, str]:
    """The selects' values for a mapping ("" for a field not in the file)."""
    chosen = {f.value: NOT_IN_FILE for f in Field}
    for field, index in mapping.columns.items():
        if 0 <= index < len(options):
            chosen[field.value] = options[index]
    return chosen


def mapping_from_choices(
    choices: dict[str, str], options: list[str], rate_unit: str
) -> ColumnMapping:
    """The mapping the selects describe (unknown choices are left out)."""
    columns = {
        Field(field): options.index(choice)
        for field, choice in choices.items()
        if field in {f.value for f in Field} and choice in options
    }
    unit = RateUnit(rate_unit) if rate_unit in {u.value for u in RateUnit} else RateUnit.PERCENT
    return ColumnMapping(columns, unit)


_FIELDS = {f.value: f for f in Field}


def problem_rows(
    problems: list[ImportProblem], mapping: ColumnMapping, header: tuple[str, ...]
) -> list[SheetProblemRow]:
    """Each problem with its row, and the column and field it is about (when it is)."""
    rows = []
    for p in problems:
        field = _FIELDS.get(p.field or "")
        column = ""
        index = mapping.columns.get(field) if field is not None else None
        if index is not None and index < len(header):
            column = f"{column_letter(index)} · {header[index]}"
        rows.append(
            SheetProblemRow(
                where="The file" if p.index is None else f"Row {p.index}",
                column=column,
                field=FIELD_LABELS[field] if field is not None else "",
                message=p.message,
            )
        )
    return rows


def summary(report: ImportReport, currency: str) -> dict[str, str]:
    """The report's figures, in words (the organization after the import). Effective
    dates are shown as the UTC days the file wrote."""
    by_action = ", ".join(
        f"{count:,} {ACTION_LABELS[action]}"
        for action, count in report.imported_by_action.items()
        if count
    )
    first, last = report.first_effective_date, report.last_effective_date
    span = (
        f"{format_date(first)} – {format_date(last)}"
        if first is not None and last is not None
        else "—"
    )
    after = report.after
    return {
        "rows": f"{report.entries_in_file:,}",
        "entries": plural(report.imported, "entry", "entries") if report.ok else "—",
        "by_action": by_action,
        "sources": plural(report.new_sources, "new source") if report.ok else "—",
        "span": span,
        "total": format_money(after.total_cents, currency) if after else "—",
        "wacc": format_rate(after.wacc) if after else "—",
        "active": f"{after.source_count:,}" if after else "—",
        "verb": "would import" if report.dry_run else "imported",
    }


def problems_heading(total: int, shown: int) -> str:
    text = plural(total, "problem")
    return text if total <= shown else f"{text} (the first {shown:,} are listed)"
