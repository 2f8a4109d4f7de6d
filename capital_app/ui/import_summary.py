"""An import report (service/history_import) as the Bring-your-data-over page shows it.

Pure: report in, display texts out, in the domain's one format per kind (money,
rate, date), so the page and its tests read the same words.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import tzinfo

from capital_app.domain.dates import format_date
from capital_app.domain.money import format_money, format_rate
from capital_app.domain.prototype_format import MAX_PROBLEMS_KEPT, ImportProblem, Problems
from capital_app.domain.values import Action
from capital_app.service.history_import import ImportPhase, ImportReport

# Problems rendered on the page and listed in the download: the first ones the report
# keeps (every problem is counted, by kind; the download ends with those counts).
PROBLEMS_SHOWN = MAX_PROBLEMS_KEPT

ACTION_LABELS = {
    Action.ADDED: "added",
    Action.AMOUNT_CHANGED: "amount changed",
    Action.RATE_CHANGED: "rate changed",
    Action.REMOVED: "removed",
}


@dataclass
class ProblemRow:
    """One problem: where (entry position, its id), which field, what is wrong."""

    where: str = ""  # "Entry 12" or "The file"
    entry_id: str = ""
    field: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class ReportView:
    entries_in_file: str
    imported: str
    imported_by_action: str
    skipped: str
    sources: str
    date_span: str
    total: str
    wacc: str
    active_sources: str
    problem_count: int
    problems: list[ProblemRow]


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def problem_row(problem: ImportProblem) -> ProblemRow:
    return ProblemRow(
        where="The file" if problem.index is None else f"Entry {problem.index}",
        entry_id=problem.entry_id or "",
        field=problem.field or "",
        message=problem.message,
    )


def report_view(report: ImportReport, currency: str, tz: tzinfo) -> ReportView:
    by_action = ", ".join(
        f"{count:,} {ACTION_LABELS[action]}"
        for action, count in report.imported_by_action.items()
        if count
    )
    first, last = report.first_effective_date, report.last_effective_date
    span = f"{format_date(first, tz)} – {format_date(last, tz)}" if first and last else "—"
    after = report.after
    sources = plural(report.sources_in_file, "source")
    if report.ok:
        sources += f" ({report.new_sources:,} new here)"
    # With problems nothing would be written, so there is nothing to count yet.
    pending = "—" if not report.ok else None
    return ReportView(
        entries_in_file=f"{report.entries_in_file:,}",
        imported=pending or f"{report.imported:,}",
        imported_by_action="once the problems are fixed" if pending else by_action or "nothing new",
        skipped=pending or f"{report.skipped:,}",
        sources=sources,
        date_span=span,
        total=format_money(after.total_cents, currency) if after else "—",
        wacc=format_rate(after.wacc) if after else "—",
        active_sources=f"{after.source_count:,}" if after else "—",
        problem_count=len(report.errors),
        problems=[problem_row(p) for p in report.errors[:PROBLEMS_SHOWN]],
    )


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """A file's own text (an id, an unknown field's name) never runs as a spreadsheet
    formula: one starting like a formula is written after an apostrophe."""
    return f"'{text}" if text[:1] in _FORMULA_START else text


def problems_csv(problems: Problems | list[ImportProblem]) -> str:
    """The problems, for a spreadsheet: entry (position in the file), id, field, message;
    when the report kept only the first ones, a row per kind then counts them all."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["entry", "entryId", "field", "message"])
    for p in problems:
        writer.writerow(
            [
                "" if p.index is None else p.index,
                _cell(p.entry_id or ""),
                _cell(p.field or ""),
                _cell(p.message),
            ]
        )
    if isinstance(problems, Problems) and problems.truncated:
        for kind, count in problems.counts.most_common():
            writer.writerow(
                [
                    "",
                    "",
                    _cell(kind),
                    f"{count:,} problems of this kind in all (the first "
                    f"{len(problems.kept):,} of {problems.total:,} are listed above)",
                ]
            )
    return out.getvalue()


def progress_text(phase: ImportPhase, done: int, total: int) -> str:
    """'Reading 1.2 MB of 3.9 MB', 'Checking 12,000 entries', 'Writing 5,000 of 12,000 entries'."""
    if phase is ImportPhase.READING:
        size = f"{done / 1e6:.1f} MB" + (f" of {total / 1e6:.1f} MB" if total else "")
        return f"Reading the data: {size}"
    if phase is ImportPhase.CHECKING:
        return f"Checking {plural(total, 'entry', 'entries')} against the ledger"
    return f"Writing {done:,} of {plural(total, 'entry', 'entries')}"


def progress_percent(phase: ImportPhase, done: int, total: int) -> int:
    """Reading is the first third, checking the second, writing the last."""
    base = {ImportPhase.READING: 0, ImportPhase.CHECKING: 33, ImportPhase.WRITING: 66}[phase]
    share = done / total if total else 0
    return min(100, base + int(33 * share))
