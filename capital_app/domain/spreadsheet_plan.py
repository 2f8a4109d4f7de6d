"""A spreadsheet's rows, checked together and against the stored sources, as history entries.

The rows (`domain.spreadsheet_rows`) are commands in file order, naming sources by
name. This module resolves each name (ignoring case) to the source that is active
under it at that row — one the organization already has, or one an earlier row
adds — and asks the ledger's own rules (`domain.rules`: the same ones a single
change in the app or the API goes through) for the entry each row appends. The
result is a `PrototypeHistory`, exactly what the prototype import checks, writes
all or nothing and verifies (`service.history_import`): the spreadsheet adds no
second writer.

Problems, each with the row's number:
- a row that repeats an earlier row exactly (it would be applied twice);
- adding a name that is already active (stored, or added by an earlier row);
- a change or removal of a name no source is active under (unknown, removed, or
  added only by a later row);
- whatever the ledger's rules refuse: a change before the source was added, a
  change to the value it already has on that date, a removal before a recorded
  change.

Rows of a source whose own add row has a problem are checked for their own
values only: their starting point is unknown, and guessing it would report
problems that are not there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from capital_app.domain.errors import LedgerError
from capital_app.domain.events import HistoryEntry, SourceState
from capital_app.domain.fold import apply_event, fold
from capital_app.domain.money import format_money
from capital_app.domain.prototype_format import ImportProblem, Problems, PrototypeHistory
from capital_app.domain.rules import (
    NewSource,
    PlannedEntry,
    plan_addition,
    plan_amount_change,
    plan_rate_change,
    plan_removal,
)
from capital_app.domain.spreadsheet_rows import Field, SheetRow, SheetRows
from capital_app.domain.values import Action

# The rules' field names → the spreadsheet's.
_FIELDS = {
    "availableCents": Field.AMOUNT.value,
    "source.availableCents": Field.AMOUNT.value,
    "annualRate": Field.RATE.value,
    "source.annualRate": Field.RATE.value,
    "effectiveDate": Field.EFFECTIVE_DATE.value,
    "notes": Field.NOTES.value,
    "name": Field.SOURCE.value,
    "source.name": Field.SOURCE.value,
}


History = Callable[[str], Sequence[HistoryEntry]]  # a stored source's entries, by its id


@dataclass(slots=True)
class _Track:
    """One source as the rows go: its entries so far (stored and new) and its state."""

    source_id: str
    state: SourceState
    stored: bool
    added_row: int | None = None  # the row that adds it (None: stored)
    removed_row: int | None = None  # the row that removes it
    new: list[HistoryEntry] = field(default_factory=list)
    stored_entries: Sequence[HistoryEntry] | None = None  # read when first needed

    def entries(self, history: History) -> list[HistoryEntry]:
        """Every entry so far: the stored ones (read once, only for a backdated row)."""
        if self.stored and self.stored_entries is None:
            self.stored_entries = history(self.source_id)
        return [*(self.stored_entries or ()), *self.new]


def _day(moment: datetime) -> str:
    return moment.strftime("%d %b %Y").lstrip("0")


def _entry(planned: PlannedEntry, entry_id: str) -> HistoryEntry:
    return HistoryEntry(
        id=entry_id,
        source_id=planned.source_id,
        sequence=planned.sequence,
        action=planned.action,
        effective_date=planned.effective_date,
        name=planned.name,
        annual_rate=planned.annual_rate,
        available_cents=planned.available_cents,
        previous_rate=planned.previous_rate,
        previous_amount=planned.previous_amount,
        notes=planned.notes,
    )


class _Planner:
    def __init__(
        self, stored: Iterable[SourceState], history: History, new_id: Callable[[], str]
    ) -> None:
        self.new_id = new_id
        self.history = history
        self.problems = Problems()
        self.tracks: dict[str, _Track] = {}
        self.active: dict[str, _Track] = {}  # lower-case name → the source active under it
        self.removed: dict[str, _Track] = {}  # lower-case name → the last removed under it
        for state in sorted(stored, key=lambda s: s.removed_date or s.added_date):
            track = _Track(state.source_id, state, stored=True)
            folded = state.name.lower()
            if state.active:
                self.active[folded] = track
            else:
                self.removed[folded] = track  # the one removed last wins

    def problem(self, row: SheetRow, field_name: str | None, message: str) -> None:
        self.problems.append(ImportProblem(row.row, field_name, message))

    def refused(self, row: SheetRow, error: LedgerError) -> None:
        fields = error.field_errors
        if not fields:
            self.problem(row, None, error.message)
        for fe in fields:
            self.problem(row, _FIELDS.get(fe.field, fe.field), fe.message)

    def add(self, row: SheetRow) -> HistoryEntry | None:
        folded = row.name.lower()
        other = self.active.get(folded)
        if other is not None:
            where = (
                f"row {other.added_row} already adds it"
                if other.added_row is not None
                else f"this organization already has it (added {_day(other.state.added_date)}, "
                f"{format_money(other.state.available_cents)})"
            )
            self.problem(
                row,
                Field.SOURCE.value,
                f"A source called “{other.state.name}” is already active: {where}. Change it "
                "with change amount / change rate rows, or remove it first.",
            )
            return None
        assert row.available_cents is not None and row.annual_rate is not None
        source_id = self.new_id()
        planned = plan_addition(
            source_id,
            NewSource(
                row.name, row.annual_rate, row.available_cents, row.effective_date, row.notes
            ),
        )
        entry = _entry(planned, self.new_id())
        track = _Track(source_id, apply_event(None, entry), stored=False, added_row=row.row)
        track.new.append(entry)
        self.tracks[source_id] = track
        self.active[folded] = track
        return entry

    def change(self, row: SheetRow, later_add: int | None) -> HistoryEntry | None:
        folded = row.name.lower()
        track = self.active.get(folded)
        if track is None:
            self.problem(row, Field.SOURCE.value, self._unknown(row, later_add))
            return None
        current = track.state
        effective = row.effective_date
        if effective < current.added_date:
            at_effective = current  # the rule refuses the date before it compares values
        elif effective >= current.last_effective_date:
            at_effective = current
        else:
            at_effective = fold(track.entries(self.history), as_of=effective)[track.source_id]
        try:
            if row.action is Action.AMOUNT_CHANGED:
                planned = plan_amount_change(
                    current, at_effective, row.available_cents, effective, row.notes, None
                )
            elif row.action is Action.RATE_CHANGED:
                planned = plan_rate_change(
                    current, at_effective, row.annual_rate, effective, row.notes, None
                )
            else:
                planned = plan_removal(current, effective, row.notes, None)
        except LedgerError as error:
            self.refused(row, error)
            return None
        entry = _entry(planned, self.new_id())
        track.new.append(entry)
        self.tracks[track.source_id] = track
        if effective >= current.last_effective_date:
            track.state = apply_event(current, entry)
        else:  # backdated: later changes of the other term still win
            track.state = fold(track.entries(self.history))[track.source_id]
        if row.action is Action.REMOVED:
            del self.active[folded]
            self.removed[folded] = track
            track.removed_row = row.row
        return entry

    def _unknown(self, row: SheetRow, later_add: int | None) -> str:
        removed = self.removed.get(row.name.lower())
        if removed is not None:
            when = _day(removed.state.removed_date) if removed.state.removed_date else "earlier"
            by = f" by row {removed.removed_row}" if removed.removed_row else ""
            return (
                f"“{removed.state.name}” was removed on {when}{by}; a removed source cannot "
                "change. Add it again first if it is back."
            )
        if later_add is not None:
            return (
                f"No source called “{row.name}” exists yet: row {later_add} adds it, after "
                "this row. Rows apply from top to bottom; move the add above its changes."
            )
        return (
            f"No source called “{row.name}”: this organization has none, and no earlier row "
            "adds it. Check the spelling, or add it first."
        )


def plan_sheet(
    rows: SheetRows,
    stored: Iterable[SourceState],
    history: History,
    new_id: Callable[[], str],
) -> PrototypeHistory:
    """The entries the rows append, and every problem. Write nothing unless it has none.

    `stored` is each stored source (active or removed) a row names; `history` reads
    one's stored entries (only a backdated change needs them); `new_id` makes the ids
    of new sources and entries."""
    planner = _Planner(stored, history, new_id)
    positions: dict[str, int] = {}
    first_add: dict[str, list[int]] = {}
    for row in rows.rows:
        if row.action is Action.ADDED:
            first_add.setdefault(row.name.lower(), []).append(row.row)
    seen: dict[tuple[object, ...], int] = {}
    for row in rows.rows:
        earlier = seen.setdefault(row.key, row.row)
        if earlier != row.row:
            planner.problem(
                row,
                None,
                f"Row {row.row} repeats row {earlier} exactly; it would be applied twice. "
                "Delete one of them.",
            )
            continue
        folded = row.name.lower()
        unreadable = rows.unreadable_names.get(folded)
        if unreadable is not None and unreadable < row.row and folded not in planner.active:
            continue  # its add (or an earlier row) has a problem: the start is unknown
        if row.action is Action.ADDED:
            entry = planner.add(row)
        else:
            later = next((r for r in first_add.get(folded, []) if r > row.row), None)
            entry = planner.change(row, later)
        if entry is not None:
            positions[entry.id] = row.row
    problems = rows.problems.combined(planner.problems)
    sources = {sid: t.new for sid, t in planner.tracks.items() if t.new}
    final = {sid: planner.tracks[sid].state for sid in sources}
    dates = [r.effective_date for r in rows.rows]
    return PrototypeHistory(
        sources=sources,
        final=final,
        positions=positions,
        entries_in_file=rows.data_rows,
        repeated=0,
        problems=problems,
        sources_in_file=len({r.name.lower() for r in rows.rows}),
        first_effective=min(dates, default=None),
        last_effective=max(dates, default=None),
    )
