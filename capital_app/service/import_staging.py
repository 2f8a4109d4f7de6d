"""An import's file read into its own transaction: entries staged in SQL, not held in Python.

The checks are the domain's (`domain.prototype_format`: `read_candidates`, `same_entry`,
`check_source`, `check_active_names`), in the same order as `parse_export` applies them,
so a file gets the same problems, by entry and field. Only where the entries wait
differs: each field-checked entry is copied into the transaction's temporary table as
it is read (`db.import_staging`), repeated ids are found there, and then one source at a
time is read back, checked and folded, and its checked entries copied on. Python holds
one source's entries at a time, the sources' final states, and the raw objects of
entries with problems (an identical copy of one is recognized by its raw object).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from sqlalchemy import Connection

from capital_app.db import import_staging as staging
from capital_app.domain.events import HistoryEntry
from capital_app.domain.prototype_format import (
    CheckedFile,
    CheckedSource,
    Problems,
    PrototypeHistory,
    check_active_names,
    check_source,
    checked_sources,
    duplicate_problem,
    read_candidates,
    same_entry,
)

COPY_ROWS = 20_000  # checked entries per COPY (the rows wait in Python until then)

Checking = Callable[[int, int], None]  # (entries checked, entries in the file)


def stage_export(
    conn: Connection,
    chunks: Iterable[bytes | str],
    now: datetime,
    checking: Checking | None = None,
) -> CheckedFile:
    """Read and check a prototype export into the transaction's staging tables.

    The tables must exist (`staging.create_staging_tables`)."""
    problems = Problems()
    raws: dict[int, Mapping[str, object]] = {}  # index → raw object, entries with problems
    ids_with_problems: set[str] = set()
    count = 0
    with staging.candidate_writer(conn) as stage:
        for candidate in read_candidates(chunks, now, problems):
            count = candidate.index + 1
            if candidate.id is not None and (
                candidate.problems or candidate.id in ids_with_problems
            ):
                # Compared by raw object with the other copies of its id (`same_entry`).
                raws[candidate.index] = candidate.raw
                if candidate.problems:
                    ids_with_problems.add(candidate.id)
            if candidate.id is not None or candidate.source_id is not None:
                stage(candidate)
    del ids_with_problems

    repeated = 0
    later: list[int] = []
    for copies in staging.repeated_ids(conn, raws):
        first = copies[0]
        for copy in copies[1:]:
            if same_entry(first, copy):
                repeated += 1
            else:
                problems.append(duplicate_problem(first.index, copy))
            later.append(copy.index)
    staging.forget_candidates(conn, later)
    sources_in_file, first_effective, last_effective = staging.source_span(conn)

    sources: dict[str, CheckedSource] = {}
    pending: list[tuple[int, HistoryEntry]] = []
    checked = 0
    for source_id, candidates in staging.candidates_by_source(conn, raws):
        passed = check_source(candidates, problems)
        checked += len(candidates)
        if passed is not None:
            ordered, entries, state = passed
            added = entries[0]
            sources[source_id] = CheckedSource(
                source_id, added.id, ordered[0].index, added.name, len(entries), state
            )
            pending += zip((c.index for c in ordered), entries, strict=True)
            if len(pending) >= COPY_ROWS:
                staging.copy_entries(conn, pending)
                pending = []
        if checking:
            checking(checked, count)
    staging.copy_entries(conn, pending)
    staging.drop_candidates(conn)
    if not problems:
        check_active_names(sources.values(), problems)
    return CheckedFile(
        sources=sources,
        entries_in_file=count,
        repeated=repeated,
        problems=problems,
        sources_in_file=sources_in_file,
        first_effective=first_effective,
        last_effective=last_effective,
    )


def stage_history(conn: Connection, prototype: PrototypeHistory) -> CheckedFile:
    """Entries already checked in memory (a spreadsheet's rows) into the staging table."""
    positions = prototype.positions
    rows = [(positions[entry.id], entry) for entry in prototype.entries()]
    for start in range(0, len(rows), COPY_ROWS):
        staging.copy_entries(conn, rows[start : start + COPY_ROWS])
    return CheckedFile(
        sources=checked_sources(prototype.sources, prototype.final, positions),
        entries_in_file=prototype.entries_in_file,
        repeated=prototype.repeated,
        problems=prototype.problems,
        sources_in_file=prototype.sources_in_file,
        first_effective=prototype.first_effective,
        last_effective=prototype.last_effective,
    )
