"""The import page's words for a report: counts, span, totals, problems, progress."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from capital_app.domain.prototype_format import ImportProblem
from capital_app.domain.values import Action
from capital_app.domain.wacc import WaccSummary
from capital_app.service.history_import import ImportPhase, ImportReport
from capital_app.ui.import_summary import (
    PROBLEMS_SHOWN,
    problems_csv,
    progress_percent,
    progress_text,
    report_view,
)


def _report(errors: list[ImportProblem], after: WaccSummary | None) -> ImportReport:
    return ImportReport(
        dry_run=True,
        file_name=None,
        content_sha256="0" * 64,
        entries_in_file=12_000,
        imported=11_990 if not errors else 0,
        skipped=10 if not errors else 0,
        errors=errors,
        imported_by_action={
            Action.ADDED: 0 if errors else 40,
            Action.AMOUNT_CHANGED: 0 if errors else 11_000,
            Action.RATE_CHANGED: 0 if errors else 950,
            Action.REMOVED: 0,
        },
        sources_in_file=41,
        new_sources=0 if errors else 40,
        first_effective_date=datetime(2024, 1, 22, 9, tzinfo=UTC),
        last_effective_date=datetime(2026, 3, 1, 23, 30, tzinfo=UTC),
        after=after,
    )


def test_a_clean_report_in_the_pages_words() -> None:
    view = report_view(_report([], WaccSummary(123_456_789, Decimal("0.1325"), 7)), "KES", UTC)
    assert view.entries_in_file == "12,000"
    assert view.imported == "11,990"
    assert view.imported_by_action == "40 added, 11,000 amount changed, 950 rate changed"
    assert view.skipped == "10"
    assert view.sources == "41 sources (40 new here)"
    assert view.date_span == "22 Jan 2024 – 1 Mar 2026"
    assert (view.total, view.wacc, view.active_sources) == ("KES 1,234,567.89", "13.25 %", "7")
    assert view.problem_count == 0 and view.problems == []


def test_problems_are_all_counted_the_first_ones_shown_and_all_downloadable() -> None:
    problems = [ImportProblem(None, None, 'The file is not valid JSON, says "x".')]
    problems += [
        ImportProblem(i, "annualRate", f"Rate {i}, too precise", f"hist_{i}") for i in range(300)
    ]
    view = report_view(_report(problems, None), "KES", UTC)
    assert view.problem_count == 301
    assert len(view.problems) == PROBLEMS_SHOWN
    assert (view.problems[0].where, view.problems[0].field) == ("The file", "")
    assert (view.problems[1].where, view.problems[1].entry_id) == ("Entry 0", "hist_0")
    assert (view.total, view.wacc, view.sources) == ("—", "—", "41 sources")
    assert (view.imported, view.skipped) == ("—", "—")  # nothing would be written
    rows = list(csv.reader(io.StringIO(problems_csv(problems))))
    assert rows[0] == ["entry", "entryId", "field", "message"]
    assert rows[1] == ["", "", "", 'The file is not valid JSON, says "x".']
    assert rows[-1] == ["299", "hist_299", "annualRate", "Rate 299, too precise"]
    assert len(rows) == 302


def test_progress_moves_forward_through_the_phases() -> None:
    assert progress_text(ImportPhase.READING, 1_200_000, 3_900_000) == (
        "Reading the data: 1.2 MB of 3.9 MB"
    )
    assert progress_text(ImportPhase.CHECKING, 12_000, 12_000) == (
        "Checking 12,000 entries against the ledger"
    )
    assert progress_text(ImportPhase.WRITING, 5_000, 12_000) == "Writing 5,000 of 12,000 entries"
    steps = [
        progress_percent(ImportPhase.READING, 0, 100),
        progress_percent(ImportPhase.READING, 100, 100),
        progress_percent(ImportPhase.CHECKING, 1, 1),
        progress_percent(ImportPhase.WRITING, 1, 2),
        progress_percent(ImportPhase.WRITING, 2, 2),
    ]
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == 99


def test_the_problems_csv_runs_no_formula_from_the_file() -> None:
    import csv
    import io

    from capital_app.domain.prototype_format import ImportProblem, Problems
    from capital_app.ui.import_summary import problems_csv

    problems = Problems(
        [ImportProblem(3, '=HYPERLINK("http://x")', "Unknown field.", "+cmd|calc")], keep=1
    )
    problems.append(ImportProblem(4, "@SUM(A1)", "Unknown field.", None))
    rows = list(csv.reader(io.StringIO(problems_csv(problems))))
    assert rows[1] == ["3", "'+cmd|calc", '\'=HYPERLINK("http://x")', "Unknown field."]
    assert rows[-1][:3] == ["", "", "'@SUM(A1)"]  # the counts by kind, escaped too
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)
