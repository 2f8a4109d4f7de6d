"""The import page's state: the data in hand, the backup, the dry run and import with
progress, clearing the browser's copy (see the package's docstring for the steps)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import reflex as rx

from capital_app.domain.errors import LedgerError
from capital_app.service import sessions
from capital_app.service.history_import import (
    ImportPhase,
    ImportRefused,
    ImportReport,
    import_history,
)
from capital_app.ui.pages.prototype_import.local_storage import SCAN_SCRIPT, clear_script
from capital_app.ui.pages.prototype_import.presenters import (
    MAX_IMPORT_BYTES,
    PROBLEMS_SHOWN,
    ProblemRow,
    entries_text,
    plural,
    problems_csv,
    progress_percent,
    progress_text,
    report_view,
    size_text,
    too_large,
)
from capital_app.ui.state import (
    LOAD_TIMEOUT_SECONDS,
    AppState,
    PageState,
    ServiceTimeout,
    call_service,
    is_signed_out,
)

logger = logging.getLogger(__name__)

UPLOAD_ID = "import-file"
# A check or an import of the largest accepted file finishes well within this.
IMPORT_TIMEOUT_SECONDS = 180.0
PROGRESS_EVERY_SECONDS = 0.25


@dataclass
class FoundCopy:
    """A localStorage key holding prototype data."""

    key: str = ""
    entry_count: int = -1  # -1: not readable as a list of entries
    count_text: str = ""  # "12,000 entries" or "not readable as entries"
    size: str = ""


class _Progress:
    """The latest (phase, done, total) the service reported, read by the page's loop."""

    def __init__(self) -> None:
        self.latest: tuple[ImportPhase, int, int] | None = None

    def __call__(self, phase: ImportPhase, done: int, total: int) -> None:
        self.latest = (phase, done, total)  # one assignment: safe across threads


class ImportState(PageState, AppState):
    # The data in hand: where it came from and what it is.
    found: list[FoundCopy] = []
    scanned: bool = False
    origin: str = ""  # browser | file | paste | "" (nothing yet)
    origin_label: str = ""
    origin_key: str = ""  # the localStorage key, for data found in this browser
    origin_size: str = ""
    origin_count: str = ""  # "30 entries", for data found in this browser
    backup_taken: bool = False
    paste_open: bool = False

    # A check or an import in progress: "check" | "import" | "".
    running: str = ""
    progress_label: str = ""
    progress_value: int = 0

    # What went wrong (nothing was written); cleared by the next attempt.
    failure: str = ""

    # The last report of the data in hand (a dry run, or the import itself).
    checked: bool = False
    check_ok: bool = False
    summary: dict[str, str] = {}
    new_entries: int = 0
    problems: list[ProblemRow] = []
    problem_count: int = 0

    # The import committed (its log id), and what became of the browser copy.
    imported: bool = False
    import_text: str = ""
    clear_result: str = ""  # removed | changed | missing | ""

    _found: dict[str, dict[str, str]] = {}  # key → {text, fingerprint}
    _raw: str = ""
    _fingerprint: str = ""
    _problems_csv: str = ""
    _upload_name: str = ""

    async def _fetch(self, actor, pushed: int | None) -> int:
        return self.revision  # nothing to read until there is data to check

    # --- derived ------------------------------------------------------------------

    @rx.var
    def has_data(self) -> bool:
        return self.origin != ""

    @rx.var
    def all_stored(self) -> bool:
        """The data in hand is in the ledger: imported now, or every entry already there."""
        return self.imported or (self.checked and self.check_ok and self.new_entries == 0)

    @rx.var
    def import_label(self) -> str:
        if self.new_entries == 0:
            return "Nothing new to import"
        return f"Import {plural(self.new_entries, 'entry', 'entries')}"

    @rx.var
    def problems_note(self) -> str:
        if self.problem_count <= PROBLEMS_SHOWN:
            return ""
        return f"Showing the first {PROBLEMS_SHOWN} of {self.problem_count:,}."

    # --- finding the data -------------------------------------------------------------

    def _take(self, origin: str, label: str, raw: str, **browser: Any) -> None:
        """New data in hand: everything shown about the previous data goes."""
        self.origin, self.origin_label, self._raw = origin, label, raw
        self.origin_key = browser.get("key", "")
        self._fingerprint = browser.get("fingerprint", "")
        count = browser.get("entries", -1)
        self.origin_count = entries_text(count) if origin == "browser" else ""
        self.origin_size = size_text(raw)
        self.backup_taken = False
        self.failure = ""
        self._forget_report()
        self.imported = False
        self.import_text = ""
        self.clear_result = ""

    def _forget_report(self) -> None:
        self.checked = self.check_ok = False
        self.summary, self.problems, self.problem_count, self.new_entries = {}, [], 0, 0
        self._problems_csv = ""

    @rx.event
    def scan_browser(self):
        """on_load, after the session is resumed: look in this browser's localStorage."""
        if not self.is_writer or self.status != "ready":
            return None
        return rx.call_script(SCAN_SCRIPT, callback=ImportState.found_in_browser)

    @rx.event
    def found_in_browser(self, found: list[dict[str, Any]] | None):
        self.scanned = True
        if not self.is_writer or not isinstance(found, list):
            return
        copies: dict[str, dict[str, str]] = {}
        rows: list[FoundCopy] = []
        for item in found:
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                continue
            key = str(item.get("key", ""))
            entries = item.get("entries")
            copies[key] = {"text": item["text"], "fingerprint": str(item.get("fingerprint", ""))}
            count = entries if isinstance(entries, int) else -1
            rows.append(
                FoundCopy(
                    key=key,
                    entry_count=count,
                    count_text=entries_text(count),
                    size=size_text(item["text"]),
                )
            )
        self._found = copies
        self.found = rows
        if self.running or self.origin not in ("", "browser"):
            return  # keep the data in hand (a file, or a check or an import under way)
        if rows:
            self._choose(rows[0].key)
        elif self.origin == "browser":  # the copy shown before is gone (cleared, say)
            self._take("", "", "")

    @rx.event
    def choose_copy(self, key: str):
        self._choose(key)

    def _choose(self, key: str) -> None:
        copy = self._found.get(key)
        if copy is None or self.running:
            return
        row = next((r for r in self.found if r.key == key), None)
        if len(copy["text"].encode()) > MAX_IMPORT_BYTES:
            self.failure = too_large(len(copy["text"].encode())) + " Nothing was read or written."
            return
        self._take(
            "browser",
            f"this browser (key “{key}”)",
            copy["text"],
            key=key,
            fingerprint=copy["fingerprint"],
            entries=row.entry_count if row else -1,
        )

    @rx.event
    async def receive_file(self, files: list[rx.UploadFile]):
        if not self.is_writer or self.running:
            return
        if not files:  # the file was refused in the browser (see file_rejected)
            return
        file = files[0]
        name = file.name or "the file"
        if file.size is not None and file.size > MAX_IMPORT_BYTES:
            self.failure = too_large(file.size) + " Nothing was read or written."
            return
        data = await file.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            self.failure = too_large(len(data)) + " Nothing was read or written."
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.failure = (
                f"“{name}” is not UTF-8 text, so it is not a prototype export (those are JSON "
                "text). Nothing was read or written. Choose the backup file again, or download "
                "a new one without converting it."
            )
            return
        self._take("file", f"the file “{name}”", text.removeprefix("\ufeff"))
        self._upload_name = name
        return rx.clear_selected_files(UPLOAD_ID)

    @rx.event
    def file_rejected(self, rejections: list[dict[str, Any]]):
        """react-dropzone refused the file (too large, not JSON, several files)."""
        reasons: list[str] = []
        for rejection in rejections or []:
            file = rejection.get("file") if isinstance(rejection, dict) else None
            name = file.get("name") if isinstance(file, dict) else None
            what = f"“{name}”" if isinstance(name, str) and name else "That file"
            for error in rejection.get("errors") or [] if isinstance(rejection, dict) else []:
                code = error.get("code") if isinstance(error, dict) else None
                if code == "file-too-large":
                    reasons.append(too_large(None))
                elif code == "file-invalid-type":
                    reasons.append(
                        f"{what} is not a JSON file. The prototype's data and its backups end "
                        "in .json."
                    )
                elif code == "too-many-files":
                    reasons.append("Choose one file at a time.")
                else:
                    reasons.append(f"{what} was refused.")
        unique = list(dict.fromkeys(reasons)) or ["That file was refused."]
        self.failure = " ".join(unique) + " Nothing was read or written."

    @rx.event
    def toggle_paste(self):
        self.paste_open = not self.paste_open

    @rx.event
    def submit_paste(self, form_data: dict[str, Any]):
        if not self.is_writer or self.running:
            return
        text = form_data.get("pasted")
        if not isinstance(text, str) or not text.strip():
            self.failure = "Paste the prototype's data (its JSON text) first."
            return
        if len(text.encode()) > MAX_IMPORT_BYTES:
            self.failure = too_large(len(text.encode())) + " Nothing was read or written."
            return
        self._take("paste", "pasted text", text)
        self.paste_open = False

    # --- backup ------------------------------------------------------------------------

    @rx.event
    def download_backup(self):
        """Exactly the text that was found, as a file (before anything else is done)."""
        if not self._raw:
            return None
        self.backup_taken = True
        stamp = datetime.now(UTC).strftime("%Y-%m-%d")
        return rx.download(
            data=self._raw,
            filename=f"capital-history-backup-{stamp}.json",
            mime_type="application/json",
        )

    @rx.event
    def download_problems(self):
        if not self._problems_csv:
            return None
        return rx.download(
            data=self._problems_csv, filename="import-problems.csv", mime_type="text/csv"
        )

    # --- dry run and import --------------------------------------------------------------

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
            if self.running or not self._raw or not self.is_writer:
                return
            if not dry_run and (not self.can_edit or not self.check_ok):
                return
            token, raw, tz, currency = self.session_token, self._raw, self._tz(), self.currency
            file_name = self._file_name()
            self.running = "check" if dry_run else "import"
            self.failure = ""
            self.progress_label, self.progress_value = "Starting…", 0
        progress = _Progress()
        report: ImportReport | None = None
        failure = ""
        try:
            signed_in = await call_service(sessions.resume, token, timeout=LOAD_TIMEOUT_SECONDS)
            work = asyncio.ensure_future(
                asyncio.to_thread(
                    partial(
                        import_history,
                        signed_in.actor,
                        raw,
                        file_name=file_name,
                        dry_run=dry_run,
                        progress=progress,
                    )
                )
            )
            report = await self._follow(work, progress)
        except ImportRefused as refused:
            report = refused.report
        except LedgerError as error:
            if is_signed_out(error):
                async with self:
                    self.running = ""
                    yield self._forget(error.message)
                return
            failure = error.message
            if isinstance(error, ServiceTimeout) and not dry_run:
                failure += (
                    " The import is all or nothing: if it finished late, the dashboard shows it; "
                    "if not, nothing was written. Checking again tells you which."
                )
        except Exception:
            logger.exception("import failed unexpectedly")
            failure = "Something went wrong on the server; nothing was written. Please try again."
        async with self:
            self.running = ""
            self.progress_label, self.progress_value = "", 0
            if raw != self._raw:  # other data was chosen meanwhile: this report is not its
                return
            if report is None:
                self.failure = failure
                if not dry_run:
                    self._forget_report()
                return
            self._show(report, currency, tz)
            if not dry_run and report.ok:
                self.imported = True
                self.import_text = (
                    f"Imported {plural(report.imported, 'entry', 'entries')}"
                    f" ({plural(report.new_sources, 'new source')})"
                    + (
                        f"; {report.skipped:,} already here were skipped."
                        if report.skipped
                        else "."
                    )
                )
                yield rx.toast.success("Your history is in Capital Ledger.", id="import-done")
            elif not dry_run:
                count = len(report.errors)
                self.failure = (
                    f"Not imported: {plural(count, 'problem')} found (listed below). "
                    "Nothing was written."
                )

    def _file_name(self) -> str:
        """What the import log records as the file."""
        if self.origin == "browser":
            return f"localStorage:{self.origin_key}"
        if self.origin == "file":
            return self._upload_name
        return "pasted text"

    async def _follow(self, work: asyncio.Future, progress: _Progress) -> ImportReport:
        """Wait for the service, showing its progress; give up showing it after the timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + IMPORT_TIMEOUT_SECONDS
        shown = None
        while True:
            done, _ = await asyncio.wait({work}, timeout=PROGRESS_EVERY_SECONDS)
            if done:
                return work.result()
            if loop.time() > deadline:
                raise ServiceTimeout(
                    f"The ledger did not answer within {IMPORT_TIMEOUT_SECONDS:.0f} seconds."
                )
            latest = progress.latest
            if latest is not None and latest != shown:
                shown = latest
                async with self:
                    self.progress_label = progress_text(*latest)
                    self.progress_value = progress_percent(*latest)

    def _show(self, report: ImportReport, currency: str, tz) -> None:
        view = report_view(report, currency, tz)
        self.checked = True
        self.check_ok = report.ok
        self.new_entries = report.imported
        self.summary = {
            "entries": view.entries_in_file,
            "imported": view.imported,
            "by_action": view.imported_by_action,
            "skipped": view.skipped,
            "sources": view.sources,
            "span": view.date_span,
            "total": view.total,
            "wacc": view.wacc,
            "active": view.active_sources,
            "verb": "would import" if report.dry_run else "imported",
        }
        self.problems = view.problems
        self.problem_count = view.problem_count
        self._problems_csv = problems_csv(report.errors) if report.errors else ""

    # --- the browser copy ----------------------------------------------------------------

    @rx.event
    def clear_browser_copy(self):
        """Remove the key that was read, and only after its entries are in the ledger."""
        if self.origin != "browser" or not self.all_stored or not self.origin_key:
            return None
        return rx.call_script(
            clear_script(self.origin_key, self._fingerprint),
            callback=ImportState.browser_copy_cleared,
        )

    @rx.event
    def browser_copy_cleared(self, result: str):
        self.clear_result = result if result in ("removed", "changed", "missing") else "changed"
        if self.clear_result == "removed":
            self._found.pop(self.origin_key, None)
            self.found = [f for f in self.found if f.key != self.origin_key]
            return rx.toast.success(f"“{self.origin_key}” was removed from this browser.")
        return None


# --- view ------------------------------------------------------------------------------
