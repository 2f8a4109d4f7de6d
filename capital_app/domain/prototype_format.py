"""The browser prototype's export: read strictly, checked whole, every problem reported.

The prototype kept its history as a JSON list of entries in localStorage (see
DESIGN.md). Bringing it over must lose nothing and invent nothing, so this
module accepts exactly what the ledger itself could have recorded and reports
*every* problem at once, each with the entry's position in the file (`index`,
counted from 0 like the list itself), the field and a plain-words message.

Rules, in the order they are applied:

- The file is a JSON list of entries, or an object `{"entries": [...]}`.
  Numbers are read as exact decimals, never floats.
- Known fields are the prototype's (`id`, `sourceId`, `effectiveDate`, `name`,
  `annualRate`, `availableCents`, `action`, `previousRate`, `previousAmount`,
  `notes`, `createdAt`, `createdBy`) plus `sequence`, which this app's own
  export writes. Any other field is reported, not ignored: silently dropping a
  field (a currency, say) would lose data the user believes was imported.
- Optional fields (`previousRate`, `previousAmount`, `notes`, `createdBy`,
  `sequence`) may be absent or null.
- Dates are ISO 8601 with an offset (`2024-01-22T09:00:00.000Z`) or a bare
  date. Effective dates may not be in the future, nor `createdAt`.
- Rates are fractions (0.1325 is 13.25 %) with at most 6 decimal places. A rate
  within 1e-9 of a 6-place decimal is that decimal: JavaScript wrote 0.0214 as
  0.021400000000000002. Anything else more precise is an error.
- Amounts are whole numbers of cents.
- An identical entry repeated in the file is skipped; two different entries
  under one id are an error.
- Per source: exactly one ADDED, recorded first; nothing recorded after its
  REMOVED; nothing effective before the ADDED date; the removal not effective
  before any other change; every entry carries the source's name as added (the
  importer never renames). Entries may come in any order in the file.
- Sequences: when the entries carry `sequence` (this app's export), those are
  used and must run 1, 2, 3 … with ADDED first. Otherwise they are assigned in
  recording order: `createdAt`, then ADDED before changes before a removal
  recorded at the same instant, then `effectiveDate`, then position in the file.
- Previous values (`previousRate` of a rate change, `previousAmount` of an
  amount change) must equal the source's terms in effect on the entry's
  effective date as they stood when it was recorded (its earlier-sequence
  entries folded as of that date); absent ones are filled in from there. The
  term an entry carries along unchanged (the rate of an amount change, the
  amount of a rate change, both of a removal) must equal that state too. An
  entry that changes nothing is kept: it is history as it was recorded.
- Sources still active at the end must have different names (ignoring case).

Every problem is counted (by kind: the field, "entry" or "file"), but only the first
`MAX_PROBLEMS_KEPT` (in file order) are kept with their messages (`Problems`): a file
of a million empty entries has millions of problems, and one request must not hold
or answer them all.

The fold is the ledger's own (`domain.fold`); this module adds no second one.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from capital_app.domain.errors import InvalidInput
from capital_app.domain.events import HistoryEntry, SourceState
from capital_app.domain.fold import apply_event, fold
from capital_app.domain.json_stream import (
    JsonReader,
    JsonStreamError,
    NotANumber,
    expect_end,
    iter_list,
)
from capital_app.domain.money import format_money, format_rate
from capital_app.domain.values import (
    EARLIEST_DATE,
    MAX_ID_LENGTH,
    Action,
    check_cents,
    check_effective_date,
    check_name,
    check_notes,
    check_rate,
    check_source_id,
    parse_instant,
    rate_meant,
)

KNOWN_FIELDS = (
    "id",
    "sourceId",
    "sequence",
    "action",
    "effectiveDate",
    "name",
    "annualRate",
    "availableCents",
    "previousRate",
    "previousAmount",
    "notes",
    "createdAt",
    "createdBy",
)
_KNOWN = frozenset(KNOWN_FIELDS)
# Control characters, and lone surrogates (JSON can spell "\ud800"; PostgreSQL cannot store it).
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
MAX_CREATED_BY_LENGTH = 320
_NO_PROBLEMS: tuple[ImportProblem, ...] = ()
_ACTION_RANK = {
    Action.ADDED: 0,
    Action.AMOUNT_CHANGED: 1,
    Action.RATE_CHANGED: 1,
    Action.REMOVED: 2,
}


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """One thing wrong with the file. `index` is None for the file as a whole."""

    index: int | None
    field: str | None
    message: str
    entry_id: str | None = None

    @property
    def kind(self) -> str:
        """What it is about, for counting: the field, else the entry or the file."""
        if self.field is not None:
            return self.field
        return "file" if self.index is None else "entry"


MAX_PROBLEMS_KEPT = 200  # problems kept with their messages (the first ones, in file order)
MAX_PROBLEM_KINDS = 64  # distinct kinds counted; any further kind counts as "other"
_MAX_KIND_LENGTH = 100
_MAX_TEXT_LENGTH = 1000


def _clip(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


class Problems:
    """The problems of one file: every one counted, the first `keep` kept.

    Reads like the list of the kept ones, in file order (the file's own problems
    first), except that `len()` is the total count. Memory stays bounded however
    many problems a file has: `keep` problems (their texts clipped) and at most
    `MAX_PROBLEM_KINDS` counters.
    """

    __slots__ = ("_arrival", "_heap", "_keep", "_sorted", "counts", "total")

    def __init__(self, problems: Iterable[ImportProblem] = (), keep: int = MAX_PROBLEMS_KEPT):
        self._keep = keep
        self._heap: list[tuple[int, int, ImportProblem]] = []  # max-heap of (−position, −arrival)
        self._arrival = itertools.count()
        self._sorted: list[ImportProblem] | None = []
        self.total = 0
        self.counts: Counter[str] = Counter()
        self.extend(problems)

    def append(self, problem: ImportProblem) -> None:
        self.total += 1
        kind = _clip(problem.kind, _MAX_KIND_LENGTH) or ""
        if kind not in self.counts and len(self.counts) >= MAX_PROBLEM_KINDS:
            kind = "other"
        self.counts[kind] += 1
        key = (-(-1 if problem.index is None else problem.index), -next(self._arrival))
        if len(self._heap) >= self._keep:
            if key <= self._heap[0][:2]:
                return  # later in the file than every kept one
            heapq.heappop(self._heap)
        if len(problem.message) > _MAX_TEXT_LENGTH or len(problem.field or "") > _MAX_KIND_LENGTH:
            problem = ImportProblem(
                problem.index,
                _clip(problem.field, _MAX_KIND_LENGTH),
                _clip(problem.message, _MAX_TEXT_LENGTH) or "",
                problem.entry_id,
            )
        heapq.heappush(self._heap, (*key, problem))
        self._sorted = None

    def extend(self, problems: Iterable[ImportProblem]) -> None:
        for problem in problems:
            self.append(problem)

    def combined(self, other: Problems) -> Problems:
        """Both files' worth: the first `keep` of the two, and both counts."""
        both = Problems(itertools.chain(self.kept, other.kept), keep=self._keep)
        both.total = self.total + other.total
        both.counts = self.counts + other.counts
        return both

    @property
    def kept(self) -> list[ImportProblem]:
        if self._sorted is None:
            self._sorted = [p for *_, p in sorted(self._heap, reverse=True)]
        return self._sorted

    @property
    def truncated(self) -> bool:
        return self.total > len(self._heap)

    def __len__(self) -> int:
        return self.total

    def __bool__(self) -> bool:
        return self.total > 0

    def __iter__(self) -> Iterator[ImportProblem]:
        return iter(self.kept)

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        return self.kept[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Problems):
            return self.total == other.total and self.kept == other.kept
        if isinstance(other, list):
            return self.total == len(other) and self.kept == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Problems(total={self.total}, kept={self.kept!r})"


@dataclass(frozen=True, slots=True)
class PrototypeHistory:
    """What the file holds, checked. Write nothing unless `problems` is empty."""

    sources: dict[str, list[HistoryEntry]]  # source id → its entries in sequence order
    final: dict[str, SourceState]  # source id → its terms after all of its entries
    positions: dict[str, int]  # entry id → index in the file (its first occurrence)
    entries_in_file: int
    repeated: int  # identical copies of an entry already in the file (skipped)
    problems: Problems
    sources_in_file: int = 0  # distinct readable source ids, whether or not they passed
    # Earliest and latest readable effective date in the file (None when there is none).
    first_effective: datetime | None = None
    last_effective: datetime | None = None

    @property
    def entry_count(self) -> int:
        return sum(len(entries) for entries in self.sources.values())

    def entries(self) -> Iterator[HistoryEntry]:
        for entries in self.sources.values():
            yield from entries

    def action_counts(self) -> dict[Action, int]:
        counts = Counter(e.action for e in self.entries())
        return {action: counts.get(action, 0) for action in Action}


@dataclass(slots=True)
class Candidate:
    """One entry of the file as far as it could be read; None marks a field with a problem."""

    index: int
    raw: Mapping[str, object]
    id: str | None = None
    source_id: str | None = None
    sequence: int | None = None
    action: Action | None = None
    effective_date: datetime | None = None
    created_at: datetime | None = None
    name: str | None = None
    annual_rate: Decimal | None = None
    available_cents: int | None = None
    previous_rate: Decimal | None = None
    previous_amount: int | None = None
    notes: str | None = None
    created_by: str | None = None
    # A list while the entry is read; the shared empty tuple once it was read cleanly.
    problems: list[ImportProblem] | tuple[ImportProblem, ...] = field(default_factory=list)
    values_ok: bool = True  # rate, amount and previous values were readable
    sequence_ok: bool = True  # no sequence, or a readable one

    def problem(self, field_name: str | None, message: str) -> None:
        assert isinstance(self.problems, list), "problems are found while reading"
        self.problems.append(ImportProblem(self.index, field_name, message, self.id))

    @property
    def orderable(self) -> bool:
        return self.sequence_ok and None not in (self.action, self.effective_date, self.created_at)

    def recording_key(self) -> tuple[datetime | None, int, datetime | None, int]:
        assert self.action is not None
        return (self.created_at, _ACTION_RANK[self.action], self.effective_date, self.index)

    def to_entry(self, sequence: int) -> HistoryEntry:
        assert self.id and self.source_id and self.action and self.effective_date
        assert self.name is not None and self.annual_rate is not None
        assert self.available_cents is not None
        return HistoryEntry(
            id=self.id,
            source_id=self.source_id,
            sequence=sequence,
            action=self.action,
            effective_date=self.effective_date,
            name=self.name,
            annual_rate=self.annual_rate,
            available_cents=self.available_cents,
            previous_rate=self.previous_rate,
            previous_amount=self.previous_amount,
            notes=self.notes,
            # The file's claims: this ledger stamps its own recording time and author.
            original_created_at=self.created_at,
            original_created_by=self.created_by,
        )


NOT_KEPT: Mapping[str, object] = MappingProxyType({})  # the raw object of a clean candidate
# The problems of a candidate read back from where an import keeps them: they were
# reported when it was read; only that it had any still matters (`same_entry`).
READ_WITH_PROBLEMS: tuple[ImportProblem, ...] = (
    ImportProblem(None, None, "Reported when the entry was read."),
)


# --- reading the file ------------------------------------------------------------


def _raw_entries(chunks: Iterable[bytes | str], problems: Problems) -> Iterator[object]:
    """The file's entries; structural problems are added to `problems` and end the reading."""
    reader = JsonReader(chunks)
    try:
        first = reader.peek()
        if first == "[":
            yield from iter_list(reader)
        elif first == "{":
            yield from _entries_of_object(reader, problems)
        elif first == "":
            problems.append(ImportProblem(None, None, "The file is empty."))
            return
        else:
            problems.append(
                ImportProblem(
                    None,
                    None,
                    "This is not a prototype export: it should be a list of entries "
                    '([ … ]) or {"entries": [ … ]}.',
                )
            )
            return
        expect_end(reader)
    except JsonStreamError as error:
        problems.append(ImportProblem(None, None, error.message))


def _entries_of_object(reader: JsonReader, problems: Problems) -> Iterator[object]:
    reader.take("{")
    found = False
    if reader.take("}"):
        problems.append(ImportProblem(None, "entries", 'The file has no "entries" list.'))
        return
    while True:
        key = reader.value()
        if not isinstance(key, str) or not reader.take(":"):
            raise JsonStreamError(f"Expected a field name at {reader.where()}.")
        if key == "entries" and not found:
            found = True
            yield from iter_list(reader)
        else:
            reader.value()
            message = (
                'The file has a second "entries" list; only one is allowed.'
                if key == "entries"
                else f"Unknown field “{key}” around the entries: the importer does not know "
                "what it means, so it would be lost. Remove it if it is not needed."
            )
            problems.append(ImportProblem(None, key, message))
        if reader.take(","):
            continue
        if reader.take("}"):
            break
        raise JsonStreamError(f"Expected a comma or }} at {reader.where()}.")
    if not found:
        problems.append(ImportProblem(None, "entries", 'The file has no "entries" list.'))


# --- one entry -------------------------------------------------------------------


def _rate(value: object, field_name: str) -> Decimal:
    """A rate, with JavaScript's float noise (within 1e-9 of 6 places) removed."""
    if isinstance(value, NotANumber):
        raise InvalidInput.one(field_name, f"Rate must be a number, not {value.text}.")
    if isinstance(value, Decimal) and value.is_finite() and 1 < value <= 100:
        raise InvalidInput.one(
            field_name,
            f"Rate {value} is above 100 %. Rates are fractions: 0.1325 means 13.25 %.",
        )
    if isinstance(value, Decimal) and value.is_finite() and 0 <= value <= 1:
        meant = rate_meant(value)
        if meant is None:
            raise InvalidInput.one(
                field_name,
                f"Rate {value} has more than 6 decimal places; the ledger keeps rates "
                "to 6 places (4 in percent).",
            )
        value = meant
    rate = check_rate(value, field_name)
    return rate.copy_abs() if rate == 0 else rate  # no "-0"


def _cents(value: object, field_name: str) -> int:
    """Whole cents; 1250.0 is accepted as 1250 (same number), 1250.5 is not."""
    if isinstance(value, Decimal) and value.is_finite():
        try:
            whole = value == value.to_integral_value()
        except InvalidOperation:
            whole = False
        if not whole:
            raise InvalidInput.one(
                field_name, f"Amount must be a whole number of cents, not {value}."
            )
        value = int(value)
    return check_cents(value, field_name)


def _entry_id(value: object, field_name: str = "id") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput.one(field_name, "Every entry needs an id (text).")
    if len(value) > MAX_ID_LENGTH or _CONTROL.search(value):
        raise InvalidInput.one(
            field_name, f"The id must be at most {MAX_ID_LENGTH} characters of plain text."
        )
    return value


def _action(value: object, field_name: str = "action") -> Action:
    if isinstance(value, str):
        try:
            return Action(value)
        except ValueError:
            pass
    names = ", ".join(a.value for a in Action)
    raise InvalidInput.one(field_name, f"Action must be one of {names}.")


def _instant(value: object, field_name: str, now: datetime, what: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidInput.one(field_name, f"{what} must be a date such as 2024-01-22T09:00:00Z.")
    moment = parse_instant(value, field_name)
    if moment > now:
        raise InvalidInput.one(
            field_name,
            f"{what} {value} is in the future. If the computer that recorded it had its "
            "clock wrong, correct the date in the file.",
        )
    if moment < EARLIEST_DATE:
        raise InvalidInput.one(field_name, f"{what} cannot be before 1900.")
    return moment


def _created_by(value: object, field_name: str = "createdBy") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput.one(field_name, "createdBy must be text (a name or an email).")
    if len(value) > MAX_CREATED_BY_LENGTH or _CONTROL.search(value):
        raise InvalidInput.one(
            field_name, f"createdBy must be at most {MAX_CREATED_BY_LENGTH} characters of text."
        )
    return value.strip() or None


def _sequence(value: object, field_name: str = "sequence") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput.one(field_name, "sequence must be a whole number, 1 or more.")
    return value


def _read(candidate: Candidate, field_name: str, check: Callable[..., Any], *args: Any) -> Any:
    """Run one value check; a failure becomes a problem of this entry and None."""
    try:
        return check(candidate.raw.get(field_name), field_name, *args)
    except InvalidInput as error:
        for failure in error.errors:
            candidate.problem(failure.field, failure.message)
        return None


def _required(candidate: Candidate, field_name: str, label: str) -> bool:
    if candidate.raw.get(field_name) is None:
        candidate.problem(field_name, f"{label} is missing.")
        return False
    return True


def _read_entry(index: int, raw: object, now: datetime) -> Candidate:
    if not isinstance(raw, dict):
        candidate = Candidate(index, {})
        candidate.problem(None, "This entry is not an object ({ … }); it cannot be read.")
        candidate.values_ok = False
        return candidate
    c = Candidate(index, raw)
    c.id = _read(c, "id", _entry_id)
    for key in getattr(raw, "repeated_keys", ()):
        c.problem(key, f"The field “{key}” is written twice in this entry.")
    for key in raw:
        if key not in _KNOWN:
            c.problem(
                key,
                f"Unknown field “{key}”: the importer does not know what it means, so it "
                "would be lost. Remove it from the file if it is not needed.",
            )
    if _required(c, "sourceId", "The source id"):
        c.source_id = _read(c, "sourceId", check_source_id)
    c.sequence = _read(c, "sequence", _sequence)
    c.sequence_ok = c.sequence is not None or raw.get("sequence") is None
    if _required(c, "action", "The action"):
        c.action = _read(c, "action", _action)
    if _required(c, "effectiveDate", "The effective date"):
        c.effective_date = _read(c, "effectiveDate", _effective, now)
    if _required(c, "createdAt", "The recording date (createdAt)"):
        c.created_at = _read(c, "createdAt", _instant, now, "The recording date")
    if _required(c, "name", "The name"):
        c.name = _read(c, "name", check_name)
    c.notes = _read(c, "notes", check_notes)
    c.created_by = _read(c, "createdBy", _created_by)
    before = len(c.problems)
    if _required(c, "annualRate", "The rate"):
        c.annual_rate = _read(c, "annualRate", _rate)
    if _required(c, "availableCents", "The amount"):
        c.available_cents = _read(c, "availableCents", _cents)
    _read_previous(c)
    c.values_ok = len(c.problems) == before
    return c


def _effective(value: object, field_name: str, now: datetime) -> datetime:
    moment = _instant(value, field_name, now, "The effective date")
    return check_effective_date(moment, now, field_name)


def _read_previous(c: Candidate) -> None:
    """previousRate only on rate changes, previousAmount only on amount changes."""
    for field_name, action, check in (
        ("previousRate", Action.RATE_CHANGED, _rate),
        ("previousAmount", Action.AMOUNT_CHANGED, _cents),
    ):
        if c.raw.get(field_name) is None:
            continue
        if c.action is not None and c.action is not action:
            what = "rate" if action is Action.RATE_CHANGED else "amount"
            c.problem(
                field_name,
                f"Only a {action.value} entry has a previous {what}; this is {c.action.value}.",
            )
            continue
        value = _read(c, field_name, check)
        if field_name == "previousRate":
            c.previous_rate = value
        else:
            c.previous_amount = value


# --- one source's history ---------------------------------------------------------


def _day(moment: datetime) -> str:
    return moment.strftime("%d %b %Y").lstrip("0")


def same_entry(a: Candidate, b: Candidate) -> bool:
    """Two readings of the same id describe the same event (a cleanly read candidate's
    `raw` is empty, so it never equals one with problems)."""
    if a.problems or b.problems:
        return a.raw == b.raw
    return a.to_entry(0) == b.to_entry(0) and a.sequence == b.sequence


def _ordered(source: list[Candidate], problems: Problems) -> list[Candidate] | None:
    """The source's entries in sequence order, or None when no order can be given."""
    given = [c for c in source if c.sequence is not None]
    if not given:
        return sorted(source, key=Candidate.recording_key)
    if len(given) != len(source):
        missing = next(c for c in source if c.sequence is None)
        problems.append(
            ImportProblem(
                missing.index,
                "sequence",
                "Some entries of this source have a sequence and this one does not; "
                "give every entry of a source a sequence, or none.",
                missing.id,
            )
        )
        return None
    by_sequence = sorted(source, key=lambda c: (c.sequence, c.index))
    ok = True
    for expected, c in enumerate(by_sequence, start=1):
        if c.sequence != expected:
            ok = False
            problems.append(
                ImportProblem(
                    c.index,
                    "sequence",
                    f"Sequence {c.sequence} does not follow on: this source's sequences must "
                    f"run 1, 2, 3 … without gaps or repeats (expected {expected}).",
                    c.id,
                )
            )
            break
    return by_sequence if ok else None


def _check_order(ordered: list[Candidate], problems: Problems) -> bool:
    """ADDED first and once, nothing after REMOVED, dates and name consistent."""
    added = [c for c in ordered if c.action is Action.ADDED]
    if not added:
        first = min(ordered, key=lambda c: c.index)
        problems.append(
            ImportProblem(
                first.index,
                "action",
                f"Source {first.source_id} has no ADDED entry, so its {len(ordered)} "
                "entr" + ("y has" if len(ordered) == 1 else "ies have") + " no starting point. "
                "The file may be incomplete.",
                first.id,
            )
        )
        return False
    ok = True
    for extra in added[1:]:
        ok = False
        problems.append(
            ImportProblem(
                extra.index,
                "action",
                f"This source was already added (entry {added[0].index}); "
                "a source is added only once.",
                extra.id,
            )
        )
    start = added[0]
    assert start.effective_date is not None
    if ordered[0] is not start:
        ok = False
        for early in ordered[: ordered.index(start)]:
            problems.append(
                ImportProblem(
                    early.index,
                    "createdAt" if early.sequence is None else "sequence",
                    "This entry was recorded before its source was added "
                    f"(entry {start.index}); the ADDED entry must come first.",
                    early.id,
                )
            )
    removal: Candidate | None = None
    latest = start.effective_date
    for c in ordered:
        assert c.effective_date is not None
        if c is not start and c.action is not Action.ADDED:
            if removal is not None:
                ok = False
                problems.append(
                    ImportProblem(
                        c.index,
                        "action",
                        f"This entry was recorded after the source was removed (entry "
                        f"{removal.index}); nothing can change a removed source.",
                        c.id,
                    )
                )
                continue
            if c.effective_date < start.effective_date:
                ok = False
                problems.append(
                    ImportProblem(
                        c.index,
                        "effectiveDate",
                        f"Effective {_day(c.effective_date)}, before the source was added on "
                        f"{_day(start.effective_date)}.",
                        c.id,
                    )
                )
            if c.action is Action.REMOVED:
                removal = c
                if c.effective_date < latest:
                    ok = False
                    problems.append(
                        ImportProblem(
                            c.index,
                            "effectiveDate",
                            f"The removal takes effect {_day(c.effective_date)}, before a "
                            f"change already recorded for {_day(latest)}; nothing may take "
                            "effect after a source is removed.",
                            c.id,
                        )
                    )
        if c.name is not None and start.name is not None and c.name != start.name:
            ok = False
            problems.append(
                ImportProblem(
                    c.index,
                    "name",
                    f"This entry calls the source “{c.name}”, but it was added as "
                    f"“{start.name}”. Every entry of a source must carry the same name.",
                    c.id,
                )
            )
        latest = max(latest, c.effective_date)
    return ok


def _check_values(
    ordered: list[Candidate], problems: Problems
) -> tuple[list[HistoryEntry], SourceState | None]:
    """Fold the source in recording order, checking each entry against what it followed.

    Returns the entries and the source's final state, or ([], None) at the first problem.
    """
    entries: list[HistoryEntry] = []
    state: SourceState | None = None
    latest: datetime | None = None
    for sequence, c in enumerate(ordered, start=1):
        if not c.values_ok or c.name is None or c.id is None:
            return [], None
        assert c.effective_date is not None and c.action is not None
        if state is not None and latest is not None:
            # The terms in effect on this entry's date, as they stood when it was recorded.
            before = state if c.effective_date >= latest else _as_of(entries, c.effective_date)
            if not _matches(c, before, problems):
                return [], None
        entry = c.to_entry(sequence)
        entries.append(entry)
        if state is None or latest is None or c.effective_date >= latest:
            state = apply_event(state, entry)
        else:  # backdated: later changes of the other term still win
            state = fold(entries)[entry.source_id]
        latest = c.effective_date if latest is None else max(latest, c.effective_date)
    return entries, state


def _as_of(entries: list[HistoryEntry], moment: datetime) -> SourceState:
    return fold(entries, as_of=moment)[entries[0].source_id]


def _matches(c: Candidate, before: SourceState, problems: Problems) -> bool:
    """Previous and carried-along values equal `before`; fill absent previous values."""
    found: list[ImportProblem] = []

    def differs(field_name: str, label: str, written: str, actual: str) -> None:
        when = _day(c.effective_date) if c.effective_date else "that date"
        found.append(
            ImportProblem(
                c.index,
                field_name,
                f"{label} is {written} here, but the source's was {actual} on {when} "
                "according to the entries recorded before this one. An entry may be "
                "missing, duplicated or edited.",
                c.id,
            )
        )

    rate_field = "previousRate" if c.action is Action.RATE_CHANGED else "annualRate"
    cents_field = "previousAmount" if c.action is Action.AMOUNT_CHANGED else "availableCents"
    if c.action is Action.RATE_CHANGED and c.previous_rate is None:
        c.previous_rate = before.annual_rate
    if c.action is Action.AMOUNT_CHANGED and c.previous_amount is None:
        c.previous_amount = before.available_cents
    rate = c.previous_rate if c.action is Action.RATE_CHANGED else c.annual_rate
    cents = c.previous_amount if c.action is Action.AMOUNT_CHANGED else c.available_cents
    assert rate is not None and cents is not None
    if rate != before.annual_rate:
        label = "The previous rate" if rate_field == "previousRate" else "The rate"
        differs(rate_field, label, format_rate(rate), format_rate(before.annual_rate))
    if cents != before.available_cents:
        label = "The previous amount" if cents_field == "previousAmount" else "The amount"
        differs(cents_field, label, format_money(cents), format_money(before.available_cents))
    problems.extend(found)
    return not found


# --- the whole file -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckedSource:
    """A source whose entries passed every check: what the rest of an import needs of it."""

    source_id: str
    added_id: str  # its ADDED entry (sequence 1)
    added_position: int  # that entry's index in the file
    added_name: str  # the name it was added under
    entry_count: int
    final: SourceState  # its terms after all of its entries


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """What a checked file holds, without its entries (they are kept elsewhere).

    `sources` is in file order (of each source's first entry). Write nothing unless
    `problems` is empty.
    """

    sources: dict[str, CheckedSource]
    entries_in_file: int
    repeated: int  # identical copies of an entry already in the file (skipped)
    problems: Problems
    sources_in_file: int = 0  # distinct readable source ids, whether or not they passed
    first_effective: datetime | None = None
    last_effective: datetime | None = None


def read_candidates(
    chunks: Iterable[bytes | str], now: datetime, problems: Problems
) -> Iterator[Candidate]:
    """The file's entries, each read and field-checked; their problems go to `problems`.

    A cleanly read candidate no longer holds its raw object (`raw` is empty).
    """
    for index, raw in enumerate(_raw_entries(chunks, problems)):
        candidate = _read_entry(index, raw, now)
        problems.extend(candidate.problems)
        yield candidate


def duplicate_problem(first_index: int, later: Candidate) -> ImportProblem:
    return ImportProblem(
        later.index,
        "id",
        f"Entry {first_index} has the same id but different content; each entry needs its own id.",
        later.id,
    )


def check_source(
    candidates: list[Candidate], problems: Problems
) -> tuple[list[Candidate], list[HistoryEntry], SourceState] | None:
    """One source's candidates (any order) checked together: in sequence order, with
    their entries (absent previous values filled in) and the final state; None (its
    problems added to `problems`) when the source does not pass."""
    if not all(c.orderable for c in candidates):
        return None  # its unreadable dates or actions are reported already
    ordered = _ordered(candidates, problems)
    if ordered is None or not _check_order(ordered, problems):
        return None
    entries, state = _check_values(ordered, problems)
    if not entries or state is None:
        return None
    return ordered, entries, state


def check_active_names(checked: Iterable[CheckedSource], problems: Problems) -> None:
    """Sources still active at the end must have different names (ignoring case)."""
    seen: dict[str, CheckedSource] = {}
    for source in sorted(checked, key=lambda s: s.added_position):
        state = source.final
        if not state.active:
            continue
        other = seen.setdefault(state.name.lower(), source)
        if other is not source:
            problems.append(
                ImportProblem(
                    source.added_position,
                    "name",
                    f"Two sources that are both still active are called “{state.name}” (the "
                    f"other is added at entry {other.added_position}). Active sources need "
                    "different names (ignoring case); rename one in the file.",
                    source.added_id,
                )
            )


def checked_sources(
    sources: Mapping[str, list[HistoryEntry]],
    final: Mapping[str, SourceState],
    positions: Mapping[str, int],
) -> dict[str, CheckedSource]:
    return {
        source_id: CheckedSource(
            source_id,
            entries[0].id,
            positions[entries[0].id],
            entries[0].name,
            len(entries),
            final[source_id],
        )
        for source_id, entries in sources.items()
    }


def parse_export(chunks: Iterable[bytes | str], now: datetime) -> PrototypeHistory:
    """Read and check a prototype export (the file's bytes or text, in chunks), in memory.

    An import keeps the entries out of Python instead (service/history_import.py, through
    `read_candidates` and `check_source`); this is the same checking, every entry held.
    """
    problems = Problems()
    by_id: dict[str, Candidate] = {}
    by_source: dict[str, list[Candidate]] = {}
    shared: dict[object, Any] = {}
    repeated = 0
    count = 0
    first_effective: datetime | None = None
    last_effective: datetime | None = None
    for candidate in read_candidates(chunks, now, problems):
        count = candidate.index + 1
        if candidate.id is not None:
            first = by_id.setdefault(candidate.id, candidate)
            if first is not candidate:
                if same_entry(first, candidate):
                    repeated += 1
                else:
                    problems.append(duplicate_problem(first.index, candidate))
                continue
        if candidate.source_id is not None:
            by_source.setdefault(candidate.source_id, []).append(candidate)
            moment = candidate.effective_date
            if moment is not None:
                first_effective = (
                    moment if first_effective is None else min(first_effective, moment)
                )
                last_effective = moment if last_effective is None else max(last_effective, moment)
        if not candidate.problems:
            share_values(candidate, shared)  # no longer needed once read cleanly

    positions = {c_id: c.index for c_id, c in by_id.items()}
    del by_id
    sources_in_file = len(by_source)
    sources: dict[str, list[HistoryEntry]] = {}
    final: dict[str, SourceState] = {}
    for source_id, candidates in by_source.items():  # file order
        passed = check_source(candidates, problems)
        if passed is not None:
            sources[source_id] = passed[1]
            final[source_id] = passed[2]
    if not problems:
        check_active_names(checked_sources(sources, final, positions).values(), problems)
    return PrototypeHistory(
        sources=sources,
        final=final,
        positions=positions,
        entries_in_file=count,
        repeated=repeated,
        problems=problems,
        sources_in_file=sources_in_file,
        first_effective=first_effective,
        last_effective=last_effective,
    )


def share_values(c: Candidate, shared: dict[object, Any]) -> None:
    """Drop what a cleanly read candidate no longer needs; keep repeated values once.

    Rates are shared by their exact text (0.1 and 0.10 stay apart), so nothing read
    changes, only how many copies of it are held.
    """
    c.raw = NOT_KEPT
    c.problems = _NO_PROBLEMS
    c.source_id = shared.setdefault(c.source_id, c.source_id)
    c.name = shared.setdefault(c.name, c.name)
    c.created_by = shared.setdefault(c.created_by, c.created_by)
    c.notes = shared.setdefault(c.notes, c.notes)
    for attribute in ("annual_rate", "previous_rate"):
        rate = getattr(c, attribute)
        if rate is not None:
            setattr(c, attribute, shared.setdefault(("rate", str(rate)), rate))
