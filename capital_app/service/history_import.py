"""Bring a browser-prototype export into an organization: all of it, or nothing.

1. In one transaction, as the runtime role: check the actor may write, then read and
   check the file (`domain.prototype_format`): every problem, with its entry. The
   entries wait in the transaction's temporary tables, not in Python
   (`service.import_staging`, `db.import_staging`): a million of them fit.
2. Lock the organization's revision counter (the lock every writer takes first), and
   compare the file with what is stored, in SQL. An entry already here with the same
   content is skipped (re-importing is harmless); a different entry under a
   stored id, new entries that would not follow a stored source's sequence, or
   a name an active source here already uses are problems too.
3. Any problem: nothing is written and the report counts them all (by kind) and
   lists the first `MAX_PROBLEMS_KEPT` (a file of a million empty entries has
   millions; one request must neither hold nor answer them all). A dry run stops
   here in any case and reports what the import would do.
4. Otherwise: one import_log row (who, when, which file, counts), then the new
   entries in a few INSERT … SELECT statements from the staged rows, with the prototype's ids and dates, its
   `createdAt`/`createdBy` kept apart as the original recording (`original_*`),
   while the database stamps the recording time and author (the importer) itself
   and `recorded_by`/`import_id` say who brought them in: a file can never change
   what the ledger knew at a past moment.
   The database trigger checks and folds every row; afterwards the stored
   projection is compared with the domain fold of the file, and any difference
   undoes the whole import.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import BinaryIO
from uuid import UUID

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from capital_app.db import history_repository as history
from capital_app.db import import_export_repository as import_export
from capital_app.db import import_staging as staging
from capital_app.db.errors import translate
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.errors import ErrorKind, FieldError, LedgerError
from capital_app.domain.events import SourceState
from capital_app.domain.prototype_format import (
    MAX_PROBLEMS_KEPT,
    CheckedFile,
    ImportProblem,
    Problems,
    PrototypeHistory,
)
from capital_app.domain.values import Action
from capital_app.domain.views import ActiveSource
from capital_app.domain.wacc import WaccSummary, wacc_of
from capital_app.observe.logs import log_command
from capital_app.observe.metrics import observe_import_export
from capital_app.service import alerts
from capital_app.service.actor import Actor, Permission, authorize
from capital_app.service.audit import AuditAction, record_audit
from capital_app.service.errors import WriteConflict
from capital_app.service.import_staging import stage_export, stage_history

MAX_PROBLEMS_REPORTED = MAX_PROBLEMS_KEPT  # problems a report lists (all are counted)
BATCH_ROWS = 5000  # rows per INSERT statement: one NOTIFY each
READ_CHUNK = 1 << 20


class ImportPhase(StrEnum):
    READING = "reading"  # done/total in bytes (total 0 when unknown)
    CHECKING = "checking"  # done/total in entries
    WRITING = "writing"  # done/total in entries


Progress = Callable[[ImportPhase, int, int], None]

SPOOL_IN_MEMORY = 8 << 20  # a request body up to this size is read in memory, else on disk


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did (or, for a dry run or a refused file, would do)."""

    dry_run: bool
    file_name: str | None
    content_sha256: str
    entries_in_file: int
    imported: int  # new entries written (would be written); 0 when there are problems
    skipped: int  # already stored, or repeated in the file; 0 when there are problems
    # The first problems (MAX_PROBLEMS_KEPT, in file order); len() counts them all.
    errors: Problems
    imported_by_action: dict[Action, int]
    sources_in_file: int
    new_sources: int
    first_effective_date: datetime | None
    last_effective_date: datetime | None
    # The organization's total capital and WACC now, after the import (None when refused).
    after: WaccSummary | None
    import_id: UUID | None = None  # the import_log row (None for a dry run or a refusal)
    revision: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, object]:
        """The report in the API's shape (camelCase; Decimal and datetime left to the writer)."""
        return {
            "dryRun": self.dry_run,
            "imported": self.imported,
            "skipped": self.skipped,
            "errors": [
                {"index": p.index, "field": p.field, "message": p.message, "entryId": p.entry_id}
                for p in self.errors
            ],
            "errorsTotal": self.errors.total,
            "errorCounts": dict(self.errors.counts.most_common()),
            "errorsTruncated": self.errors.truncated,
            "entriesInFile": self.entries_in_file,
            "importedByAction": {a.value: n for a, n in self.imported_by_action.items()},
            "sourcesInFile": self.sources_in_file,
            "newSources": self.new_sources,
            "firstEffectiveDate": self.first_effective_date,
            "lastEffectiveDate": self.last_effective_date,
            "totalCents": self.after.total_cents if self.after else None,
            "wacc": self.after.wacc if self.after else None,
            "activeSources": self.after.source_count if self.after else None,
            "importId": str(self.import_id) if self.import_id else None,
            "revision": self.revision,
            "fileName": self.file_name,
            "contentSha256": self.content_sha256,
        }


class ImportRefused(LedgerError):
    """The file has problems; nothing was written. `report` lists every one."""

    kind = ErrorKind.INVALID
    title = "Import refused"

    def __init__(self, report: ImportReport) -> None:
        count = len(report.errors)
        super().__init__(
            f"The file has {count} problem{'s' if count != 1 else ''}; nothing was imported."
        )
        self.report = report

    @property
    def field_errors(self) -> list[FieldError]:
        return [FieldError(_problem_field(p), p.message) for p in self.report.errors]


def _problem_field(problem: ImportProblem) -> str:
    if problem.index is None:
        return problem.field or "file"
    return f"[{problem.index}].{problem.field}" if problem.field else f"[{problem.index}]"


@dataclass(frozen=True, slots=True)
class _New:
    """A source's entries that are not stored yet: sequences `first` to `first + count - 1`."""

    first: int
    count: int
    first_position: int  # the first new entry's index in the file, and its id
    first_id: str
    by_action: dict[Action, int]


@dataclass(slots=True)
class _Plan:
    """The file compared with what is stored."""

    new: dict[str, _New] = field(default_factory=dict)
    skipped: int = 0
    new_sources: int = 0
    problems: Problems = field(default_factory=Problems)
    final: dict[str, SourceState] = field(default_factory=dict)  # file sources, after import
    stored: set[str] = field(default_factory=set)  # file sources already stored here
    untouched_active: list[ActiveSource] = field(default_factory=list)  # not in the file

    @property
    def imported(self) -> int:
        return sum(new.count for new in self.new.values())

    def after(self) -> WaccSummary:
        terms = [s.terms for s in self.final.values() if s.active]
        terms += [(s.available_cents, s.annual_rate) for s in self.untouched_active]
        return wacc_of(terms)


# --- reading --------------------------------------------------------------------


Content = bytes | str | BinaryIO | Iterable[bytes]


def _chunks(
    content: Content, hash_update: Callable[[bytes], None], progress: Progress | None
) -> Iterator[bytes]:
    """The content in chunks, hashed and reported as it goes."""
    if isinstance(content, str):
        content = content.encode()
    if isinstance(content, bytes):
        total = len(content)
        pieces: Iterable[bytes] = (
            content[i : i + READ_CHUNK] for i in range(0, len(content), READ_CHUNK)
        )
    elif hasattr(content, "read"):
        stream: BinaryIO = content  # type: ignore[assignment]
        total = _size_of(stream)
        pieces = iter(lambda: stream.read(READ_CHUNK), b"")
    else:  # already in chunks (a request body, say); the total is not known
        total = 0
        pieces = content
    done = 0
    for piece in pieces:
        hash_update(piece)
        done += len(piece)
        if progress:
            progress(ImportPhase.READING, done, total)
        yield piece


def _size_of(stream: BinaryIO) -> int:
    try:
        here = stream.tell()
        end = stream.seek(0, 2)
        stream.seek(here)
        return end - here
    except (OSError, ValueError):
        return 0


# --- comparing with what is stored ------------------------------------------------


def _plan(conn: Connection, org: UUID, checked: CheckedFile) -> _Plan:
    """Compare the staged entries with what is stored (in SQL, however many there are)."""
    plan = _Plan(skipped=checked.repeated)

    def problem(position: int, entry_id: str, field_name: str | None, message: str) -> None:
        plan.problems.append(ImportProblem(position, field_name, message, entry_id))

    for position, entry_id, sequence, stored_sequence, differs in staging.stored_differences(
        conn, org
    ):
        if differs == "sequence":
            problem(
                position,
                entry_id,
                differs,
                f"This entry is already stored as number {stored_sequence} of its source's "
                f"history, but the file now makes it number {sequence}: an entry "
                "recorded before it was added to or removed from the file since the last "
                "import. Stored history cannot be reordered.",
            )
        else:
            problem(
                position,
                entry_id,
                differs,
                f"An entry with this id is already stored with a different {differs}. "
                "It looks edited since it was first imported; the stored entry cannot "
                "change.",
            )
    compared = staging.new_by_source(conn, org)
    stored_sources = import_export.sources_with_ids(conn, org, list(checked.sources))
    for source_id, source in checked.sources.items():
        identical, count, first, first_position, first_id, by_action = compared[source_id]
        plan.skipped += identical
        current = stored_sources.get(source_id)
        if count:
            assert first is not None and first_position is not None and first_id is not None
            plan.new[source_id] = _New(first, count, first_position, first_id, by_action)
            if current is not None and first != current.sequence + 1:
                problem(
                    first_position,
                    first_id,
                    "sequence",
                    f"“{current.name}” already has {current.sequence} entries here, some not "
                    "from this file (recorded in Capital Ledger since the last import, "
                    "perhaps). New entries from the file would land among them, so they "
                    "cannot be added.",
                )
        if current is None:
            plan.new_sources += 1
        else:
            plan.stored.add(source_id)
        plan.final[source_id] = source.final if count or current is None else current

    in_file = set(checked.sources)
    plan.untouched_active = [
        s for s in history.current_sources(conn, org) if s.source_id not in in_file
    ]
    _check_names(checked, stored_sources, plan)
    return plan


def _check_names(checked: CheckedFile, stored_sources: dict[str, SourceState], plan: _Plan) -> None:
    """A new source may not share its name with a source that stays active here."""
    staying_active = {s.name.lower(): s.name for s in plan.untouched_active}
    for source_id, state in plan.final.items():
        if source_id in stored_sources and state.active:
            staying_active[state.name.lower()] = state.name
    for source_id, source in checked.sources.items():
        if source_id in stored_sources:
            continue
        clash = staying_active.get(source.added_name.lower())
        if clash is None:
            continue
        removed = not plan.final[source_id].active
        plan.problems.append(
            ImportProblem(
                source.added_position,
                "name",
                f"An active source here is already called “{clash}”. "
                + (
                    "This source was removed in the prototype, but it was once active under "
                    "the same name, so the two cannot be brought together. "
                    if removed
                    else ""
                )
                + "Rename this source in the file (on every one of its entries), or remove "
                "the source here first.",
                source.added_id,
            )
        )


# --- writing -----------------------------------------------------------------------

# One statement: the staged rows of some sources, each (source, first sequence, last).
Statement = list[tuple[str, int, int]]


def _statements(plan: _Plan) -> list[Statement]:
    """The new entries as INSERT statements of at most BATCH_ROWS rows.

    The database folds removals at the end of each statement, and active source
    names must stay unique after every row. So sources sharing a name go in
    successive statements: those that end removed first (stored ones before new
    ones), the one that stays active last. Each source's rows keep sequence order.
    """

    def rank(source_id: str) -> tuple[int, int]:
        first = plan.new[source_id].first_position
        if plan.final[source_id].active:
            return (2, first)
        return (0 if source_id in plan.stored else 1, first)

    generations: list[list[str]] = []
    seen: Counter[str] = Counter()
    for source_id in sorted(plan.new, key=rank):
        name = plan.final[source_id].name.lower()
        if seen[name] == len(generations):
            generations.append([])
        generations[seen[name]].append(source_id)
        seen[name] += 1
    statements: list[Statement] = []
    for generation in generations:
        statement: Statement = []
        room = BATCH_ROWS
        for source_id in generation:
            new = plan.new[source_id]
            low, last = new.first, new.first + new.count - 1
            while low <= last:
                high = min(last, low + room - 1)
                statement.append((source_id, low, high))
                room -= high - low + 1
                low = high + 1
                if room == 0:
                    statements.append(statement)
                    statement, room = [], BATCH_ROWS
        if statement:
            statements.append(statement)
    return statements


def _write(
    conn: Connection,
    org: UUID,
    user_id: UUID,
    import_id: UUID,
    statements: list[Statement],
    progress: Progress | None,
) -> None:
    import_export.enable_bulk_insert(conn)
    total = sum(high - low + 1 for statement in statements for _, low, high in statement)
    done = 0
    for statement in statements:
        rows = sum(high - low + 1 for _, low, high in statement)
        inserted = staging.insert_staged(
            conn, org, statement, recorded_by=user_id, import_id=import_id
        )
        if inserted != rows:  # the plan's ranges and the staged rows must agree
            raise WriteConflict(
                "The import's entries did not line up with its plan, so the import was "
                "undone and nothing was written. Please report this."
            )
        done += rows
        if progress:
            progress(ImportPhase.WRITING, done, total)


def _verify(conn: Connection, org: UUID, plan: _Plan) -> None:
    """The projection the trigger built must equal the domain's fold of the file."""
    stored = import_export.sources_with_ids(conn, org, list(plan.new))
    for source_id in plan.new:
        if stored.get(source_id) != plan.final[source_id]:
            raise WriteConflict(
                f"The stored result for source {source_id} did not match the file, so the "
                "import was undone and nothing was written. Please report this."
            )


# --- the service function -------------------------------------------------------------


def _report(
    checked: CheckedFile,
    plan: _Plan,
    *,
    dry_run: bool,
    file_name: str | None,
    sha256: str,
    import_id: UUID | None = None,
    revision: int | None = None,
) -> ImportReport:
    """The report; with problems, an import would write nothing, so it counts nothing."""
    errors = checked.problems.combined(plan.problems)
    by_action = dict.fromkeys(Action, 0)
    if not errors:
        for new in plan.new.values():
            for action, count in new.by_action.items():
                by_action[action] += count
    return ImportReport(
        dry_run=dry_run,
        file_name=file_name,
        content_sha256=sha256,
        entries_in_file=checked.entries_in_file,
        imported=0 if errors else plan.imported,
        skipped=0 if errors else plan.skipped,
        errors=errors,
        imported_by_action=by_action,
        sources_in_file=checked.sources_in_file,
        new_sources=0 if errors else plan.new_sources,
        first_effective_date=checked.first_effective,
        last_effective_date=checked.last_effective,
        after=None if errors else plan.after(),
        import_id=import_id,
        revision=revision,
    )


def import_history(
    actor: Actor,
    content: Content,
    *,
    file_name: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a prototype export (EDITOR or ADMIN). Raises ImportRefused on any problem.

    `content` is the file: bytes, text, a binary file, or an iterable of byte chunks.
    A dry run never raises for problems in the file: its report lists them.
    `progress` is called from the calling thread as reading and writing advance.
    A finished import (not a dry run, nor a refused file) goes into the metrics.
    """
    started = time.perf_counter()
    size = [0]
    report = _import_history(actor, content, size, file_name, dry_run, progress)
    if not report.dry_run:
        observe_import_export("import", time.perf_counter() - started, size[0], report.imported)
        log_command(
            "IMPORT",
            actor.organization_id,
            None,
            report.revision,
            user_id=actor.user_id,
            api_key_id=actor.api_key_id,
        )
    return report


def _import_history(
    actor: Actor,
    content: Content,
    size: list[int],
    file_name: str | None,
    dry_run: bool,
    progress: Progress | None,
) -> ImportReport:
    """The file is read inside the import's transaction, its entries staged there.

    Chunks of unknown origin (a request body) are first spooled (in memory up to
    SPOOL_IN_MEMORY, then on disk), so a slow upload never holds a database connection.
    """
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.WRITE_HISTORY)  # before reading a large file
    with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY) as spool:
        if not isinstance(content, bytes | str) and not hasattr(content, "read"):
            for piece in content:
                spool.write(piece)
            spool.seek(0)
            content = spool
        digest = hashlib.sha256()

        def seen(piece: bytes) -> None:
            digest.update(piece)
            size[0] += len(piece)

        def checking(done: int, total: int) -> None:
            if progress:
                progress(ImportPhase.CHECKING, done, total)

        def stage(conn: Connection) -> CheckedFile:
            chunks = _chunks(content, seen, progress)
            checked = stage_export(conn, chunks, datetime.now(UTC), checking)
            if progress:
                progress(ImportPhase.CHECKING, checked.entries_in_file, checked.entries_in_file)
            return checked

        return _import(
            actor,
            stage,
            locked=False,
            file_name=file_name,
            sha256=digest.hexdigest,
            dry_run=dry_run,
            progress=progress,
        )


def import_checked(
    actor: Actor,
    build: Callable[[Connection], PrototypeHistory],
    *,
    file_name: str | None,
    sha256: str,
    dry_run: bool,
    progress: Progress | None = None,
    audit_details: Mapping[str, object] | None = None,
) -> ImportReport:
    """The write path of entries checked in memory (a spreadsheet's rows): all or nothing.

    `build` makes the checked entries inside the import's transaction, after the
    organization's lock (a spreadsheet's rows name stored sources, whose state must
    not move between the check and the write). Raises ImportRefused on any problem
    unless `dry_run`. `audit_details` are added to the audit entry.
    """
    return _import(
        actor,
        lambda conn: stage_history(conn, build(conn)),
        locked=True,
        file_name=file_name,
        sha256=lambda: sha256,
        dry_run=dry_run,
        progress=progress,
        audit_details=audit_details,
    )


def _import(
    actor: Actor,
    stage: Callable[[Connection], CheckedFile],
    *,
    locked: bool,
    file_name: str | None,
    sha256: Callable[[], str],
    dry_run: bool,
    progress: Progress | None = None,
    audit_details: Mapping[str, object] | None = None,
) -> ImportReport:
    """The one write path of every import: stage, check against what is stored, write.

    `stage` puts the checked entries into the transaction's staging tables; with
    `locked` it runs after the organization's lock, else before it (reading a large
    file does not hold up the organization's other writers). A dry run's transaction
    turns READ ONLY once the staging tables exist.
    """
    org = actor.organization_id
    try:
        with tenant_transaction(org) as conn:
            user = authorize(conn, actor, Permission.WRITE_HISTORY)
            staging.create_staging_tables(conn)
            if dry_run:
                staging.read_only_from_here(conn)
            checked = None if locked else stage(conn)
            revision = None if dry_run else history.claim_transaction_revision(conn, org)
            if checked is None:
                checked = stage(conn)
            plan = _plan(conn, org, checked)
            report = _report(checked, plan, dry_run=dry_run, file_name=file_name, sha256=sha256())
            if dry_run:
                return report
            if not report.ok:
                raise ImportRefused(report)
            assert revision is not None
            watched = alerts.watch(conn, org)  # the figures before, under the revision lock
            import_id = uuid.uuid4()
            import_export.insert_import_log(
                conn,
                org,
                import_id,
                imported_by=user.id,
                file_name=file_name,
                content_sha256=sha256(),
                entries_in_file=checked.entries_in_file,
                imported_count=plan.imported,
                skipped_count=plan.skipped,
                revision=revision,
            )
            _write(conn, org, user.id, import_id, _statements(plan), progress)
            _verify(conn, org, plan)
            alerts.settle_import(conn, org, watched, revision, import_id)  # with the import
            record_audit(
                conn,
                AuditAction.HISTORY_IMPORTED,
                organization_id=org,
                actor_user_id=user.id,
                actor_email=user.email,
                details={
                    "importId": str(import_id),
                    "fileName": file_name,
                    "contentSha256": sha256(),
                    "entriesInFile": checked.entries_in_file,
                    "imported": plan.imported,
                    "skipped": plan.skipped,
                    **(audit_details or {}),
                },
            )
    except DBAPIError as error:
        translated = translate(error)
        if translated is None:
            raise
        raise translated from error
    return _report(
        checked,
        plan,
        dry_run=False,
        file_name=file_name,
        sha256=sha256(),
        import_id=import_id,
        revision=revision,
    )
