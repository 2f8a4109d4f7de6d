"""The spreadsheet import page's words: column choices round trip, problems, the report."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from capital_app.domain.prototype_format import ImportProblem, Problems
from capital_app.domain.spreadsheet_rows import ColumnMapping, Field, RateUnit, guess_mapping
from capital_app.domain.values import Action
from capital_app.domain.wacc import WaccSummary
from capital_app.service.history_import import ImportReport
from capital_app.ui.pages.spreadsheet_import.presenters import (
    choices_from_mapping,
    column_options,
    field_choices,
    mapping_from_choices,
    problem_rows,
    problems_heading,
    summary,
)

HEADER = ("Lender", "Rate", "Rate", "")


def test_columns_are_unique_even_with_repeated_headers() -> None:
    assert column_options(HEADER) == ["A · Lender", "B · Rate", "C · Rate", "D · (no header)"]


def test_choices_and_mapping_round_trip() -> None:
    options = column_options(HEADER)
    mapping = ColumnMapping({Field.SOURCE: 0, Field.RATE: 2}, RateUnit.FRACTION)
    choices = choices_from_mapping(mapping, options)
    assert choices["rate"] == "C · Rate" and choices["amount"] == ""
    assert mapping_from_choices(choices, options, "fraction") == mapping
    # Unknown fields, columns and units are left out rather than guessed.
    odd = mapping_from_choices({"rate": "Z · Nope", "sauce": "A · Lender"}, options, "bp")
    assert odd == ColumnMapping({}, RateUnit.PERCENT)
    assert [c.field for c in field_choices() if c.required] == ["source", "effectiveDate"]
    assert guess_mapping(HEADER).columns[Field.RATE] == 1


def test_problem_rows_name_row_column_and_field() -> None:
    mapping = ColumnMapping({Field.SOURCE: 0, Field.RATE: 1})
    rows = problem_rows(
        [
            ImportProblem(None, "file", "The file is empty."),
            ImportProblem(4, "rate", "bad"),
            ImportProblem(5, None, "Row 5 repeats row 4 exactly"),
            ImportProblem(6, "amount", "needs the amount"),
        ],
        mapping,
        HEADER,
    )
    assert [(r.where, r.column, r.field) for r in rows] == [
        ("The file", "", ""),
        ("Row 4", "B · Rate", "Rate"),
        ("Row 5", "", ""),
        ("Row 6", "", "Amount"),
    ]


def test_the_report_in_words() -> None:
    report = ImportReport(
        dry_run=True,
        file_name="f.csv",
        content_sha256="x",
        entries_in_file=3,
        imported=3,
        skipped=0,
        errors=Problems(),
        imported_by_action={a: (2 if a is Action.ADDED else 0) for a in Action}
        | {Action.RATE_CHANGED: 1},
        sources_in_file=2,
        new_sources=2,
        first_effective_date=datetime(2025, 1, 15, tzinfo=UTC),
        last_effective_date=datetime(2025, 7, 1, tzinfo=UTC),
        after=WaccSummary(300000000, Decimal("0.1362500"), 2),
    )
    words = summary(report, "KES")
    assert words["entries"] == "3 entries" and words["sources"] == "2 new sources"
    assert words["by_action"] == "2 added, 1 rate changed"
    assert words["span"] == "15 Jan 2025 – 1 Jul 2025"
    assert (words["total"], words["wacc"], words["active"]) == ("KES 3,000,000.00", "13.625 %", "2")
    assert words["verb"] == "would import"
    assert problems_heading(3, 200) == "3 problems"
    assert problems_heading(1, 200) == "1 problem"
    assert problems_heading(250, 200) == "250 problems (the first 200 are listed)"
