"""How `capital-app import` and `export` talk to a terminal: a progress bar and a summary."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from capital_app.domain.money import format_money, format_rate
from capital_app.domain.values import Action
from capital_app.service.history_import import ImportPhase, ImportReport

_WIDTH = 30


def _amount(done: int, phase: ImportPhase) -> str:
    if phase is ImportPhase.READING:
        return f"{done / 1_000_000:.1f} MB"
    return f"{done:,} entries"


class ProgressBar:
    """A bar redrawn in place on a terminal; one line per finished phase otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.phase: ImportPhase | None = None
        self.done = 0
        self.total = 0
        self.drawn_at = 0.0

    def __call__(self, phase: ImportPhase, done: int, total: int) -> None:
        if phase is not self.phase:
            self.finish()
            self.phase = phase
        self.done, self.total = done, total
        if self.tty and (time.monotonic() - self.drawn_at > 0.1 or done >= total):
            self.drawn_at = time.monotonic()
            share = done / total if total else 0.0
            filled = int(share * _WIDTH)
            bar = "#" * filled + "-" * (_WIDTH - filled)
            self.stream.write(
                f"\r{phase.value:<9} [{bar}] {share:4.0%}  {_amount(done, phase):<20}"
            )
            self.stream.flush()

    def finish(self) -> None:
        """End the current phase's line."""
        if self.phase is None:
            return
        if self.tty:
            self.stream.write("\n")
        else:
            self.stream.write(f"{self.phase.value}: {_amount(self.done, self.phase)}\n")
        self.stream.flush()
        self.phase = None


def _day(moment: object) -> str:
    return moment.strftime("%d %b %Y").lstrip("0") if moment else "—"  # type: ignore[attr-defined]


def summary_lines(report: ImportReport, currency: str) -> list[str]:
    """The report for people: what moved, what was skipped, what the ledger now says."""
    counts = ", ".join(
        f"{action.value} {report.imported_by_action.get(action, 0):,}" for action in Action
    )
    lines = []
    if report.dry_run:
        lines.append("Dry run: nothing was written.")
    verb = "Would import" if report.dry_run else "Imported"
    lines += [
        f"File:              {report.file_name or '—'} (sha256 {report.content_sha256[:12]}…)",
        f"Entries in file:   {report.entries_in_file:,}",
        f"{verb + ':':<19}{report.imported:,} ({counts})",
        f"Already here:      {report.skipped:,} (skipped)",
        f"Sources in file:   {report.sources_in_file:,} ({report.new_sources:,} new)",
        f"Effective dates:   {_day(report.first_effective_date)} – "
        f"{_day(report.last_effective_date)}",
    ]
    if report.after is not None:
        after = "After the import" if not report.dry_run else "After an import"
        lines.append(
            f"{after}: {format_money(report.after.total_cents, currency)} in "
            f"{report.after.source_count:,} active sources, WACC {format_rate(report.after.wacc)}"
        )
    if report.import_id:
        lines.append(f"Import id:         {report.import_id}")
    if report.errors:
        outcome = "an import would be refused" if report.dry_run else "nothing was imported"
        lines.append(f"Problems ({len(report.errors):,}) — {outcome}:")
        for problem in report.errors:
            where = "file" if problem.index is None else f"entry {problem.index}"
            if problem.entry_id:
                where += f" ({problem.entry_id})"
            field = f" {problem.field}:" if problem.field else ""
            lines.append(f"  {where}{field} {problem.message}")
    return lines
