"""The spreadsheet import page's state: the file in hand, the column mapping, the dry
run and the import (the service does the work; this holds what the page shows)."""

from __future__ import annotations

import logging
from typing import Any

import reflex as rx

from capital_app.domain.errors import LedgerError
from capital_app.service import sessions
from capital_app.service.spreadsheet_files import MAX_SPREADSHEET_BYTES
from capital_app.service.spreadsheet_import import (
    SpreadsheetRefused,
    SpreadsheetReport,
    import_spreadsheet,
    preview_spreadsheet,
)
from capital_app.ui.pages.prototype_import.presenters import PROBLEMS_SHOWN, plural
from capital_app.ui.pages.spreadsheet_import.presenters import (
    NOT_IN_FILE,
    SheetProblemRow,
    choices_from_mapping,
    column_options,
    mapping_from_choices,
    problem_rows,
    problems_heading,
    summary,
)
from capital_app.ui.state import (
    LOAD_TIMEOUT_SECONDS,
    AppState,
    PageState,
    call_service,
    is_signed_out,
)

logger = logging.getLogger(__name__)

UPLOAD_ID = "sheet-file"
IMPORT_TIMEOUT_SECONDS = 180.0


def too_large(size: int | None) -> str:
    shown = f" is {size:,} bytes," if size else " is"
    return (
        f"That file{shown} larger than the {MAX_SPREADSHEET_BYTES:,} bytes one import takes. "
        "Split it into several files."
    )


class SpreadsheetState(PageState, AppState):
    # The file in hand.
    file_label: str = ""
    file_kind: str = ""
    columns: list[str] = []  # "A · Lender", one per column
    sample: list[list[str]] = []
    data_rows: int = 0
    file_problems: list[str] = []

    # The mapping step: field → the chosen column's label ("" = not in the file).
    choices: dict[str, str] = {}
    rate_unit: str = "percent"

    running: str = ""  # "check" | "import" | ""
    failure: str = ""

    # The last report (a dry run, or the import itself), for this file and mapping.
    checked: bool = False
    check_ok: bool = False
    report: dict[str, str] = {}
    problems: list[SheetProblemRow] = []
    problem_count: int = 0
    problems_title: str = ""
    imported: bool = False
    import_text: str = ""

    _content: bytes = b""
    _header: tuple[str, ...] = ()
    _file_name: str = ""

    async def _fetch(self, actor, pushed: int | None) -> int:
        return self.revision  # nothing to read until a file comes

    @rx.var
    def has_file(self) -> bool:
        return self.file_label != "" and not self.file_problems

    @rx.var
    def can_import(self) -> bool:
        return self.checked and self.check_ok and not self.imported

    # --- the file ---------------------------------------------------------------------

    def _forget_report(self) -> None:
        self.checked = self.check_ok = self.imported = False
        self.report, self.problems, self.problem_count = {}, [], 0
        self.problems_title = self.import_text = ""

    @rx.event
    async def receive_file(self, files: list[rx.UploadFile]):
        if not self.is_writer or self.running or not files:
            return
        file = files[0]
        name = file.name or "the file"
        if file.size is not None and file.size > MAX_SPREADSHEET_BYTES:
            self.failure = too_large(file.size) + " Nothing was read or written."
            return
        self.failure = ""
        try:
            data = await file.read(MAX_SPREADSHEET_BYTES + 1)
            signed_in = await call_service(
                sessions.resume, self.session_token, timeout=LOAD_TIMEOUT_SECONDS
            )
            preview = await call_service(
                preview_spreadsheet, signed_in.actor, data, timeout=LOAD_TIMEOUT_SECONDS
            )
        except LedgerError as error:
            if is_signed_out(error):
                return self._forget(error.message)
            self.failure = error.message + " Nothing was read or written."
            return
        except Exception:
            logger.exception("reading a spreadsheet failed unexpectedly")
            self.failure = "The file could not be read; nothing was written. Try again."
            return
        same_columns = bool(preview.header) and preview.header == self._header
        self._content, self._file_name, self._header = data, name, preview.header
        self.file_label = f"“{name}”"
        self.file_kind = "Excel workbook" if preview.kind.value == "xlsx" else "CSV"
        if preview.sheet_name:
            self.file_kind += f", sheet “{preview.sheet_name}”"
        self.columns = column_options(preview.header)
        self.sample = preview.sample
        self.data_rows = preview.data_rows
        self.file_problems = preview.problems
        if not same_columns:  # a corrected copy of the same file keeps the mapping chosen
            self.choices = choices_from_mapping(preview.mapping, self.columns)
            self.rate_unit = preview.mapping.rate_unit.value
        self._forget_report()
        return rx.clear_selected_files(UPLOAD_ID)

    @rx.event
    def file_rejected(self, rejections: list[dict[str, Any]]):
        """react-dropzone refused the file (too large, another type, several files)."""
        reasons: list[str] = []
        for rejection in rejections or []:
            errors = rejection.get("errors") if isinstance(rejection, dict) else None
            for error in errors or []:
                code = error.get("code") if isinstance(error, dict) else None
                if code == "file-too-large":
                    reasons.append(too_large(None))
                elif code == "file-invalid-type":
                    reasons.append("Choose a .csv or .xlsx file.")
                elif code == "too-many-files":
                    reasons.append("Choose one file at a time.")
                else:
                    reasons.append("That file was refused.")
        unique = list(dict.fromkeys(reasons)) or ["That file was refused."]
        self.failure = " ".join(unique) + " Nothing was read or written."

    # --- the mapping --------------------------------------------------------------------

    @rx.event
    def choose_column(self, field: str, column: str):
        if self.running or column not in ("", *self.columns):
            return
        self.choices = {**self.choices, field: column}
        self._forget_report()

    @rx.event
    def choose_rate_unit(self, unit: str):
        if self.running or unit not in ("percent", "fraction"):
            return
        self.rate_unit = unit
        self._forget_report()

    # --- dry run and import -------------------------------------------------------------

    @rx.event(background=True)
    async def check(self):
        async for update in self._run(dry_run=True):
            yield update

    @rx.event(background=True)
    async def import_now(self):
        async for update in self._run(dry_run=False):
            yield update

    async def _run(self, *, dry_run: bool):
        async with self:
            if self.running or not self._content or not self.is_writer:
                return
            if not dry_run and not self.can_import:
                return
            token, content, name = self.session_token, self._content, self._file_name
            mapping = mapping_from_choices(self.choices, self.columns, self.rate_unit)
            currency = self.currency
            self.running = "check" if dry_run else "import"
            self.failure = ""
        result: SpreadsheetReport | None = None
        failure = ""
        try:
            signed_in = await call_service(sessions.resume, token, timeout=LOAD_TIMEOUT_SECONDS)
            result = await call_service(
                import_spreadsheet,
                signed_in.actor,
                content,
                file_name=name,
                mapping=mapping,
                dry_run=dry_run,
                timeout=IMPORT_TIMEOUT_SECONDS,
            )
        except SpreadsheetRefused as refused:
            result = refused.result
        except LedgerError as error:
            if is_signed_out(error):
                async with self:
                    self.running = ""
                    yield self._forget(error.message)
                return
            failure = error.message
        except Exception:
            logger.exception("spreadsheet import failed unexpectedly")
            failure = "Something went wrong on the server; nothing was written. Please try again."
        async with self:
            self.running = ""
            if content is not self._content:
                return  # another file came meanwhile: this report is not its
            if result is None:
                self.failure = failure
                return
            self._show(result, currency)
            if not dry_run and result.report.ok:
                self.imported = True
                self.import_text = (
                    f"Imported {plural(result.report.imported, 'entry', 'entries')} "
                    f"({plural(result.report.new_sources, 'new source')})."
                )
                yield rx.toast.success("The spreadsheet is in Capital Ledger.", id="sheet-done")
            elif not dry_run:
                self.failure = (
                    f"Not imported: {plural(len(result.report.errors), 'problem')} found "
                    "(listed below). Nothing was written."
                )

    def _show(self, result: SpreadsheetReport, currency: str) -> None:
        report = result.report
        self.checked = True
        self.check_ok = report.ok
        self.report = summary(report, currency)
        self.problems = problem_rows(list(report.errors), result.mapping, result.header)
        self.problem_count = len(report.errors)
        self.problems_title = problems_heading(len(report.errors), PROBLEMS_SHOWN)


__all__ = ["NOT_IN_FILE", "UPLOAD_ID", "SpreadsheetState"]
