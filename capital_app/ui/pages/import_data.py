"""`/import` (EDITOR/ADMIN): Bring your data over from the browser prototype.

The steps, in the order a careful person takes them:

1. Find the data: the prototype's localStorage in this browser (read by a script,
   see ui/browser_copy.py), or an uploaded or pasted JSON file.
2. Download a backup of exactly what was found (before anything else happens).
3. Dry run: the service reads and checks everything and says what an import
   would do — counts, sources, date span, total capital and WACC afterwards —
   and lists every problem. Nothing is written.
4. Import, on an explicit click: all or nothing, idempotent (service/history_import).
5. Only after the import has committed (or when every entry is already stored):
   offer to clear the browser copy, the one key that was read, and only while it
   still holds what was imported.

Checking and importing run as background events: the service runs in a worker
thread (never on the event loop) while the page shows its phases and counts.
Every failure (unreadable file, too large, refused, the database unreachable)
shows a message and writes nothing. A VIEWER is told they cannot, and sees no
controls; the service refuses a forged event anyway.
"""

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
from capital_app.ui.browser_copy import SCAN_SCRIPT, clear_script
from capital_app.ui.components.feedback import block_skeleton, load_error, panel
from capital_app.ui.components.figures import TABULAR
from capital_app.ui.import_summary import (
    PROBLEMS_SHOWN,
    ProblemRow,
    plural,
    problems_csv,
    progress_percent,
    progress_text,
    report_view,
)
from capital_app.ui.layout import page_header, signed_in_page
from capital_app.ui.navigation import GUIDE_ROUTE
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
# The page takes files up to this size (the 12,000-entry sample is 3.9 MB; the browser
# keeps at most about 5 MB per site). Larger ones: `capital-app import` (streams).
MAX_IMPORT_BYTES = 10 * 1024 * 1024
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


def _size(text: str | bytes) -> str:
    count = len(text.encode() if isinstance(text, str) else text)
    if count < 1000:
        return plural(count, "byte")
    if count < 1_000_000:
        return f"{count / 1000:.1f} KB"
    return f"{count / 1_000_000:.1f} MB"


def _entries_text(count: int) -> str:
    return plural(count, "entry", "entries") if count >= 0 else "not readable as entries"


def _too_large(count: int | None) -> str:
    size = "This file is too large" if count is None else f"This is {count / 1_000_000:.1f} MB"
    return (
        f"{size}: the page takes files up to {MAX_IMPORT_BYTES // (1024 * 1024)} MB. An "
        "administrator can import larger files with `capital-app import` (see the guide)."
    )


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
        self.origin_count = _entries_text(count) if origin == "browser" else ""
        self.origin_size = _size(raw)
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
                    count_text=_entries_text(count),
                    size=_size(item["text"]),
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
            self.failure = _too_large(len(copy["text"].encode())) + " Nothing was read or written."
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
            self.failure = _too_large(file.size) + " Nothing was read or written."
            return
        data = await file.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            self.failure = _too_large(len(data)) + " Nothing was read or written."
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
                    reasons.append(_too_large(None))
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
            self.failure = _too_large(len(text.encode())) + " Nothing was read or written."
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


def _failure() -> rx.Component:
    return rx.cond(
        ImportState.failure != "",
        rx.callout(
            ImportState.failure,
            icon="triangle-alert",
            color_scheme="red",
            role="alert",
            id="import-failure",
            width="100%",
        ),
    )


def _viewer_notice() -> rx.Component:
    return rx.callout(
        "Only editors and administrators can bring data over from the browser prototype. "
        "Ask one of them to do it; you will see the history here once they have.",
        icon="lock",
        color_scheme="gray",
        id="import-not-allowed",
        width="100%",
    )


def _found_copies() -> rx.Component:
    return rx.cond(
        ImportState.found.length() > 1,
        rx.vstack(
            rx.text("Several copies were found in this browser; choose one:", size="2"),
            rx.radio_group.root(
                rx.vstack(
                    rx.foreach(
                        ImportState.found,
                        lambda f: rx.radio_group.item(
                            rx.text(
                                f.key,
                                " — ",
                                f.count_text,
                                ", ",
                                f.size,
                                size="2",
                            ),
                            value=f.key,
                        ),
                    ),
                    spacing="1",
                ),
                value=ImportState.origin_key,
                on_change=ImportState.choose_copy,
                disabled=ImportState.running != "",
                id="found-copies",
            ),
            spacing="2",
        ),
    )


def _data_in_hand() -> rx.Component:
    return rx.cond(
        ImportState.has_data,
        rx.hstack(
            rx.icon("file-json", size=20, color=rx.color("accent", 10)),
            rx.text(
                "Data from ",
                rx.text(ImportState.origin_label, weight="bold", as_="span"),
                " · ",
                ImportState.origin_size,
                rx.cond(
                    ImportState.origin_count != "",
                    rx.text(" · ", ImportState.origin_count, as_="span"),
                ),
                size="2",
                id="data-origin",
            ),
            align="center",
            spacing="2",
        ),
        rx.cond(
            ImportState.scanned,
            rx.text(
                "No prototype data was found in this browser. If you used the prototype on "
                "another computer or browser, take a backup there, then choose that file here.",
                size="2",
                color=rx.color("gray", 11),
                id="nothing-found",
            ),
            rx.text("Looking in this browser…", size="2", color=rx.color("gray", 11)),
        ),
    )


def _other_sources() -> rx.Component:
    return rx.vstack(
        rx.upload.root(
            rx.hstack(
                rx.icon("upload", size=16),
                rx.text(
                    "Or choose a JSON file (a backup, or an export) — or drop it here", size="2"
                ),
                align="center",
                spacing="2",
            ),
            id=UPLOAD_ID,
            accept={"application/json": [".json"]},
            max_files=1,
            multiple=False,
            max_size=MAX_IMPORT_BYTES,
            disabled=ImportState.running != "",
            on_drop=ImportState.receive_file(rx.upload_files(upload_id=UPLOAD_ID)),
            on_drop_rejected=ImportState.file_rejected,
            border=f"1px dashed {rx.color('gray', 7)}",
            border_radius="var(--radius-3)",
            padding="12px 16px",
            width="100%",
            cursor="pointer",
        ),
        rx.button(
            rx.icon("clipboard-paste", size=14),
            rx.cond(ImportState.paste_open, "Hide the paste box", "Or paste the JSON text"),
            variant="ghost",
            size="1",
            on_click=ImportState.toggle_paste,
            id="paste-toggle",
        ),
        rx.cond(
            ImportState.paste_open,
            rx.form(
                rx.vstack(
                    rx.text_area(
                        name="pasted",
                        placeholder='[{"id": "hist_…", "sourceId": "src_…", …}]',
                        rows="6",
                        width="100%",
                        id="paste-text",
                        style={"font_family": "var(--code-font-family)"},
                    ),
                    rx.button("Use this text", type="submit", size="2", id="paste-submit"),
                    spacing="2",
                    width="100%",
                ),
                on_submit=ImportState.submit_paste,
                reset_on_submit=True,
                width="100%",
            ),
        ),
        spacing="2",
        width="100%",
        align="start",
    )


def _step_data() -> rx.Component:
    return panel(
        "1 · Your data",
        rx.vstack(_data_in_hand(), _found_copies(), _other_sources(), spacing="3", width="100%"),
    )


def _step_backup() -> rx.Component:
    return panel(
        "2 · Take a backup first",
        rx.vstack(
            rx.text(
                "Save a copy of exactly what was found, as a file, before anything else. Keep it "
                "until you have checked the result in Capital Ledger.",
                size="2",
            ),
            rx.hstack(
                rx.button(
                    rx.icon("download", size=16),
                    "Download a backup",
                    on_click=ImportState.download_backup,
                    variant=rx.cond(ImportState.backup_taken, "soft", "solid"),
                    id="backup-download",
                ),
                rx.cond(
                    ImportState.backup_taken,
                    rx.badge(
                        rx.icon("check", size=12),
                        "Backup downloaded",
                        color_scheme="grass",
                        id="backup-taken",
                    ),
                ),
                align="center",
                spacing="3",
            ),
            spacing="3",
            width="100%",
        ),
    )


def _stat(label: str, key: str, note: Any = None) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color=rx.color("gray", 11), weight="medium"),
        rx.text(
            ImportState.summary[key],
            size="3",
            weight="bold",
            style={**TABULAR, "white_space": "normal"},
            id=f"stat-{key}",
        ),
        rx.text(note, size="1", color=rx.color("gray", 10)) if note is not None else rx.fragment(),
        spacing="0",
        align="start",
    )


def _report() -> rx.Component:
    return rx.vstack(
        rx.grid(
            _stat("Entries in file", "entries"),
            _stat(
                rx.cond(ImportState.summary["verb"] == "imported", "Imported", "Would import"),
                "imported",
                ImportState.summary["by_action"],
            ),
            _stat("Already here (skipped)", "skipped"),
            _stat("Sources in file", "sources"),
            _stat("Effective dates", "span"),
            _stat("Total capital after", "total"),
            _stat("WACC after", "wacc"),
            _stat("Active sources after", "active"),
            columns=rx.breakpoints(initial="2", md="4"),
            spacing="4",
            width="100%",
            id="import-report",
        ),
        rx.cond(ImportState.problem_count > 0, _problems(), rx.fragment()),
        rx.cond(
            ImportState.check_ok,
            rx.callout(
                rx.cond(
                    ImportState.imported,
                    ImportState.import_text,
                    rx.cond(
                        ImportState.new_entries > 0,
                        "No problems found. Nothing has been written yet.",
                        "Every entry of this data is already in Capital Ledger: nothing new to "
                        "import.",
                    ),
                ),
                icon="circle-check",
                color_scheme="grass",
                id="check-ok",
                width="100%",
            ),
        ),
        spacing="4",
        width="100%",
    )


def _problem_row(row: ProblemRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.where, size="2", white_space="nowrap")),
        rx.table.cell(rx.code(row.entry_id, size="1", variant="ghost")),
        rx.table.cell(rx.code(row.field, size="1", variant="ghost")),
        rx.table.cell(rx.text(row.message, size="2")),
        class_name="problem-row",
    )


def _problems() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.badge(
                rx.icon("circle-alert", size=12),
                ImportState.problem_count.to_string(),
                rx.cond(ImportState.problem_count == 1, " problem", " problems"),
                color_scheme="red",
                size="2",
                id="problem-count",
            ),
            rx.text(
                "Nothing can be imported until every one is fixed. The guide explains each "
                "message.",
                size="2",
                color=rx.color("gray", 11),
            ),
            rx.spacer(),
            rx.button(
                rx.icon("download", size=14),
                "Download the list (CSV)",
                variant="soft",
                size="1",
                on_click=ImportState.download_problems,
                id="problems-download",
            ),
            align="center",
            spacing="3",
            width="100%",
            wrap="wrap",
        ),
        rx.cond(
            ImportState.problems_note != "",
            rx.text(ImportState.problems_note, size="1", color=rx.color("gray", 10)),
        ),
        rx.scroll_area(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Where"),
                        rx.table.column_header_cell("Entry id"),
                        rx.table.column_header_cell("Field"),
                        rx.table.column_header_cell("Problem"),
                    )
                ),
                rx.table.body(rx.foreach(ImportState.problems, _problem_row)),
                size="1",
                variant="surface",
                width="100%",
            ),
            type="auto",
            scrollbars="vertical",
            max_height="420px",
            id="problem-list",
        ),
        spacing="2",
        width="100%",
    )


def _progress() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.spinner(size="2"),
            rx.text(ImportState.progress_label, size="2", id="import-progress-text"),
            align="center",
            spacing="2",
        ),
        rx.progress(value=ImportState.progress_value, max=100, width="100%"),
        spacing="2",
        width="100%",
        id="import-progress",
        aria_busy="false",
    )


def _step_check() -> rx.Component:
    return panel(
        "3 · Dry run: see what would happen",
        rx.vstack(
            rx.text(
                "Reads and checks everything, compares it with what is already here, and "
                "writes nothing.",
                size="2",
            ),
            rx.button(
                rx.icon("scan-search", size=16),
                rx.cond(ImportState.checked, "Check again", "Check (dry run)"),
                on_click=ImportState.check,
                loading=ImportState.running == "check",
                disabled=ImportState.running != "",
                id="dry-run",
            ),
            rx.cond(ImportState.running != "", _progress()),
            rx.cond(ImportState.checked, _report()),
            spacing="3",
            width="100%",
            align="start",
        ),
    )


def _step_import() -> rx.Component:
    return panel(
        "4 · Import",
        rx.vstack(
            rx.text(
                "All or nothing: every new entry is added in one step, or none is. Entries "
                "already here are skipped, so importing the same data twice adds nothing.",
                size="2",
            ),
            rx.cond(
                AppState.is_past,
                rx.text(
                    "You are viewing the past: go back to today to import.",
                    size="2",
                    color=rx.color("amber", 11),
                ),
            ),
            rx.hstack(
                rx.button(
                    rx.icon("database", size=16),
                    ImportState.import_label,
                    on_click=ImportState.import_now,
                    loading=ImportState.running == "import",
                    disabled=(ImportState.running != "")
                    | ~ImportState.check_ok
                    | (ImportState.new_entries == 0)
                    | ImportState.imported
                    | ~AppState.can_edit,
                    color_scheme="teal",
                    id="import-confirm",
                ),
                rx.cond(
                    ImportState.imported,
                    rx.link(
                        rx.button(
                            "Open the dashboard", rx.icon("arrow-right", size=14), variant="soft"
                        ),
                        href="/",
                        id="to-dashboard",
                    ),
                ),
                spacing="3",
                align="center",
            ),
            rx.cond(
                ImportState.imported,
                rx.text(ImportState.import_text, size="2", weight="medium", id="import-result"),
            ),
            spacing="3",
            width="100%",
            align="start",
        ),
    )


def _step_clear() -> rx.Component:
    key = ImportState.origin_key
    return panel(
        "5 · The copy in this browser",
        rx.vstack(
            rx.cond(
                ImportState.clear_result == "removed",
                rx.text(
                    "Removed from this browser. Your backup file and Capital Ledger keep it.",
                    size="2",
                    id="clear-result",
                ),
                rx.cond(
                    ImportState.clear_result == "changed",
                    rx.text(
                        "Not removed: the copy in this browser changed since it was read (the "
                        "prototype may still be open). Check it again and import the new entries.",
                        size="2",
                        color=rx.color("amber", 11),
                        id="clear-result",
                    ),
                    rx.cond(
                        ImportState.clear_result == "missing",
                        rx.text("It is already gone.", size="2", id="clear-result"),
                        rx.vstack(
                            rx.text(
                                "Every entry is now in Capital Ledger. You may remove the "
                                "prototype's copy (“",
                                key,
                                "”) from this browser; nothing else is touched.",
                                size="2",
                            ),
                            rx.alert_dialog.root(
                                rx.alert_dialog.trigger(
                                    rx.button(
                                        rx.icon("trash-2", size=14),
                                        "Clear the browser copy",
                                        variant="soft",
                                        color_scheme="red",
                                        id="clear-browser-copy",
                                    )
                                ),
                                rx.alert_dialog.content(
                                    rx.alert_dialog.title("Remove the browser copy?"),
                                    rx.alert_dialog.description(
                                        rx.text(
                                            "This removes “",
                                            key,
                                            "” from this browser's storage. Capital Ledger "
                                            "keeps every entry; keep your backup file too.",
                                        )
                                    ),
                                    rx.hstack(
                                        rx.alert_dialog.cancel(
                                            rx.button(
                                                "Keep it", variant="soft", color_scheme="gray"
                                            )
                                        ),
                                        rx.alert_dialog.action(
                                            rx.button(
                                                "Remove",
                                                color_scheme="red",
                                                on_click=ImportState.clear_browser_copy,
                                                id="confirm-clear",
                                            )
                                        ),
                                        spacing="3",
                                        justify="end",
                                        padding_top="12px",
                                    ),
                                ),
                            ),
                            spacing="3",
                            align="start",
                        ),
                    ),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        id="clear-step",
    )


def _writer_view() -> rx.Component:
    return rx.vstack(
        _failure(),
        _step_data(),
        rx.cond(
            ImportState.has_data,
            rx.vstack(
                rx.cond(ImportState.origin != "file", _step_backup()),
                _step_check(),
                rx.cond(ImportState.check_ok, _step_import()),
                rx.cond(
                    (ImportState.origin == "browser") & ImportState.all_stored,
                    _step_clear(),
                ),
                spacing="5",
                width="100%",
            ),
        ),
        spacing="5",
        width="100%",
    )


def import_page() -> rx.Component:
    return signed_in_page(
        page_header(
            "Bring your data over",
            rx.link(
                rx.button(
                    rx.icon("book-open", size=16),
                    "Read the guide",
                    variant="soft",
                    white_space="nowrap",
                ),
                href=GUIDE_ROUTE,
                id="guide-link",
                flex_shrink="0",
            ),
            subtitle="Move the capital history the browser prototype kept on this computer "
            "into Capital Ledger — nothing lost, nothing duplicated.",
        ),
        rx.match(
            ImportState.status,
            ("error", load_error(ImportState.problem, ImportState.retry)),
            ("ready", rx.cond(AppState.is_writer, _writer_view(), _viewer_notice())),
            block_skeleton("160px"),
        ),
    )
