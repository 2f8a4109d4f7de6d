"""Import sources and changes from a CSV or .xlsx: map the columns, dry run, all or nothing.

1. EDITOR or ADMIN only (checked before the file is read).
2. The file becomes a table (`service.spreadsheet_files`), its rows checked one by
   one under the column mapping (`domain.spreadsheet_rows`; the mapping the header's
   names suggest unless one is given).
3. Inside the import's transaction — after the organization's lock, so what the
   rows are checked against cannot move before the write — the rows are resolved
   against the stored sources they name and become history entries through the
   ledger's own rules (`domain.spreadsheet_plan`).
4. Those entries go through the prototype import's own checks, all-or-nothing write,
   import log, verification and audit entry (`service.history_import.import_checked`):
   there is one import writer. Any problem, anywhere: nothing is written, and the
   report lists every problem with its row (the first `MAX_PROBLEMS_KEPT`, all counted).

Amounts are whole minor units of the organization's currency, with as many decimals
as it has (domain/currencies.py: 2 for KES, none for JPY, 3 for KWD); the importer
never rounds.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

from capital_app.db import history_repository as history
from capital_app.db import spreadsheet_repository as sheets
from capital_app.db import user_repository as organizations
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.currencies import minor_units
from capital_app.domain.prototype_format import PrototypeHistory
from capital_app.domain.spreadsheet_plan import plan_sheet
from capital_app.domain.spreadsheet_rows import (
    ColumnMapping,
    MappingRequest,
    SheetNumber,
    SheetRows,
    exact_decimal,
    guess_mapping,
    read_rows,
    resolve_mapping,
)
from capital_app.observe.logs import log_command
from capital_app.observe.metrics import observe_import_export
from capital_app.service.actor import Actor, Permission, authorize
from capital_app.service.history_import import ImportRefused, ImportReport, import_checked
from capital_app.service.spreadsheet_files import (
    MAX_SHEET_ROWS,
    SpreadsheetKind,
    kind_of,
    read_spreadsheet,
)

PREVIEW_ROWS = 5  # rows a preview shows under the header


@dataclass(frozen=True, slots=True)
class SheetPreview:
    """What the mapping step shows: the columns, a few rows, the guessed mapping."""

    kind: SpreadsheetKind
    sheet_name: str | None
    header: tuple[str, ...]
    sample: list[list[str]]  # the first PREVIEW_ROWS rows, each cell as text
    data_rows: int
    mapping: ColumnMapping
    problems: list[str]  # about the file itself (it cannot be imported as it is)


@dataclass(frozen=True, slots=True)
class SpreadsheetReport:
    """An import's (or a dry run's) report, with the table and mapping it used."""

    report: ImportReport
    kind: SpreadsheetKind
    sheet_name: str | None
    header: tuple[str, ...]
    mapping: ColumnMapping


class SpreadsheetRefused(ImportRefused):
    """The file has problems; nothing was written. `result` has the table and mapping."""

    def __init__(self, result: SpreadsheetReport) -> None:
        super().__init__(result.report)
        self.result = result


def _currency(actor: Actor) -> str:
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.WRITE_HISTORY)  # before reading the file
        found = organizations.get_organization(conn, actor.organization_id)
    return found.currency if found else "KES"


def _shown(cell: object) -> str:
    """A cell as the preview shows it."""
    if cell is None:
        return ""
    if isinstance(cell, SheetNumber):
        return f"{exact_decimal(cell):f}" + (" (%)" if cell.percent else "")
    if isinstance(cell, datetime):
        return cell.date().isoformat() if cell.time() == datetime.min.time() else cell.isoformat()
    return str(cell) if not isinstance(cell, str) else cell


def preview_spreadsheet(actor: Actor, content: bytes) -> SheetPreview:
    """The file's columns and first rows, and the mapping its header suggests (EDITOR/ADMIN)."""
    _currency(actor)
    table = read_spreadsheet(content, MAX_SHEET_ROWS)
    return SheetPreview(
        kind=kind_of(content),
        sheet_name=table.sheet_name,
        header=table.header,
        sample=[
            [_shown(c) for c in cells][: len(table.header)]
            for _, cells in table.rows[:PREVIEW_ROWS]
        ],
        data_rows=len(table.rows),
        mapping=guess_mapping(table.header),
        problems=[p.message for p in table.problems],
    )


def import_spreadsheet(
    actor: Actor,
    content: bytes,
    *,
    file_name: str | None = None,
    mapping: ColumnMapping | MappingRequest | None = None,
    dry_run: bool = False,
) -> SpreadsheetReport:
    """Import a CSV or .xlsx (EDITOR or ADMIN). Raises ImportRefused on any problem.

    Without `mapping`, the one the header suggests; a `MappingRequest` names columns
    by header text (InvalidInput when the file has no such column). A dry run never
    raises for the file's problems: its report lists them and nothing is written."""
    started = time.perf_counter()
    currency = _currency(actor)
    table = read_spreadsheet(content, MAX_SHEET_ROWS)
    if isinstance(mapping, MappingRequest) and not table.problems:
        used = resolve_mapping(mapping, table.header)
    elif isinstance(mapping, ColumnMapping):
        used = mapping
    else:
        used = guess_mapping(table.header)
    now = datetime.now(UTC)
    rows = read_rows(table, used, now, currency=currency, digits=minor_units(currency))
    kind = kind_of(content)
    try:
        report = import_checked(
            actor,
            lambda conn: _entries(conn, actor, rows),
            file_name=file_name,
            sha256=hashlib.sha256(content).hexdigest(),
            dry_run=dry_run,
            audit_details={
                "format": kind.value,
                "sheet": table.sheet_name,
                "mapping": used.as_json(table.header),
                "rows": rows.data_rows,
            },
        )
    except ImportRefused as refused:
        raise SpreadsheetRefused(
            SpreadsheetReport(refused.report, kind, table.sheet_name, table.header, used)
        ) from None
    if not dry_run:
        observe_import_export(
            "import", time.perf_counter() - started, len(content), report.imported
        )
        log_command(
            "IMPORT",
            actor.organization_id,
            None,
            report.revision,
            user_id=actor.user_id,
            api_key_id=actor.api_key_id,
        )
    return SpreadsheetReport(report, kind, table.sheet_name, table.header, used)


def _entries(conn: Connection, actor: Actor, rows: SheetRows) -> PrototypeHistory:
    """The rows as entries, checked against the stored sources they name."""
    org = actor.organization_id
    names = sorted({r.name for r in rows.rows})
    stored = sheets.sources_named(conn, org, names)
    return plan_sheet(
        rows,
        stored,
        lambda source_id: history.history_of_source(conn, org, source_id),
        lambda: str(uuid.uuid4()),
    )
