"""The four edits (add source, change amount, change rate, remove), optimistic.

One dialog shape serves all four. Fields are checked as people type with the
domain's own rules and messages (parse_money, parse_percent, check_name,
check_notes, check_effective_date): nothing is re-implemented here. On submit the
change shows at once as a pending row, the dialog closes, and the command runs
through the service layer in a background task (no state lock held while the
database works). Confirmed → the page reloads the stored truth; refused (invalid,
a conflict — the dialog's `expected_sequence` is always sent —, the database
unreachable, no answer in time) → the pending row goes, the page shows current
values, and a toast says what happened with a "Try again". Nothing is shown as
saved that was not saved.

The dialog builds a command (domain/commands.py) and the service's one handler
runs it. Every command carries an idempotency key (one per dialog opening); when no
answer came (the outcome is unknown), "Try again" with what was typed resends the
very same command under the same key, so it cannot record the change twice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from typing import Any

import reflex as rx

from capital_app.domain.commands import (
    AddSource,
    ChangeAmount,
    ChangeRate,
    Command,
    RemoveSource,
    SourceTerms,
)
from capital_app.domain.currencies import (
    MINOR_UNITS,
    check_iso_currency,
    check_kind,
    parse_money_in,
)
from capital_app.domain.dates import effective_instant, parse_day, zone
from capital_app.domain.describe import conflict_message
from capital_app.domain.errors import ErrorKind, InvalidInput, LedgerError, SequenceMismatch
from capital_app.domain.money import format_money, format_rate
from capital_app.domain.values import (
    check_effective_date,
    check_name,
    check_notes,
    parse_instant,
    parse_money,
    parse_percent,
)
from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from capital_app.service import sessions
from capital_app.ui.state import (
    LOAD_TIMEOUT_SECONDS,
    SAVE_TIMEOUT_SECONDS,
    AppState,
    EditTarget,
    PendingEdit,
    ServiceTimeout,
    call_service,
    is_signed_out,
)

ADD, AMOUNT, RATE, REMOVE = "add", "amount", "rate", "remove"

FIELDS: dict[str, tuple[str, ...]] = {
    ADD: ("name", "amount", "rate", "effective_day", "notes", "source_currency", "source_kind"),
    AMOUNT: ("amount", "effective_day", "notes"),
    RATE: ("rate", "effective_day", "notes"),
    REMOVE: ("effective_day", "notes"),
}
# What each edit changes, in the words conflict messages use.
EDITING = {ADD: "source", AMOUNT: "amount", RATE: "rate", REMOVE: "status"}


def _message(check: Callable[[], Any]) -> str:
    try:
        check()
    except InvalidInput as error:
        return error.errors[0].message
    return ""


def effective_of(day_text: str, tz: tzinfo, now: datetime) -> datetime:
    """The instant a picked day means (see domain/dates.effective_instant)."""
    day = parse_day(day_text)
    if day is None:
        parse_instant(day_text, "effectiveDate")  # raises the ledger's own message
        raise InvalidInput.one("effectiveDate", "Date is required.")
    return effective_instant(day, tz, now)


def field_errors(kind: str, values: dict[str, str], tz: tzinfo, now: datetime) -> dict[str, str]:
    """Each field's first problem, in the ledger's words ({} when all is well)."""
    fields = [f for f in FIELDS.get(kind, ()) if f in values]
    currency = values.get("source_currency") or ""
    checks: dict[str, Callable[[], Any]] = {
        "name": lambda: check_name(values["name"]),
        # An amount is typed in the source's own currency (0 decimals for JPY …).
        "amount": lambda: (
            parse_money_in(values["amount"], currency)
            if currency
            else parse_money(values["amount"])
        ),
        "source_currency": lambda: check_iso_currency(values["source_currency"]),
        "source_kind": lambda: check_kind(values["source_kind"]),
        "rate": lambda: parse_percent(values["rate"]),
        "effective_day": lambda: check_effective_date(
            effective_of(values["effective_day"], tz, now), now
        ),
        "notes": lambda: check_notes(values["notes"]),
    }
    found = {name: _message(checks[name]) for name in fields}
    return {name: message for name, message in found.items() if message}


class EditState(AppState):
    """The change dialog and the pending edits it starts."""

    dialog_open: bool = False
    kind: str = ADD
    source_id: str = ""
    source_name: str = ""
    expected_sequence: int = 0
    current_amount: str = ""
    current_rate: str = ""

    name: str = ""
    amount: str = ""
    rate: str = ""
    effective_day: str = ""
    notes: str = ""
    # A new source's currency and kind (migration 0013); default the organization's, debt.
    source_currency: str = ""
    source_kind: str = "debt"

    touched: list[str] = []
    attempted: bool = False  # submit pressed: show every message
    saving: bool = False  # this dialog's submission is on its way
    server_error: str = ""  # a refusal from the ledger shown in the reopened dialog

    _key: str = ""
    # The command last sent when no answer came, and what was typed for it: resent as is.
    _resend: Any = None
    _resend_for: str = ""

    # --- validation (the domain's rules and words) ------------------------------

    def _values(self) -> dict[str, str]:
        return {
            "name": self.name,
            "amount": self.amount,
            "rate": self.rate,
            "effective_day": self.effective_day,
            "notes": self.notes,
            "source_currency": self.source_currency or self.currency,
            "source_kind": self.source_kind,
        }

    @rx.var
    def errors(self) -> dict[str, str]:
        values = {
            "name": self.name,
            "amount": self.amount,
            "rate": self.rate,
            "effective_day": self.effective_day,
            "notes": self.notes,
            "source_currency": self.source_currency or self.currency,
            "source_kind": self.source_kind,
        }
        return field_errors(self.kind, values, zone(self.time_zone), datetime.now(UTC))

    @rx.var
    def shown_errors(self) -> dict[str, str]:
        """Messages for fields already touched (all of them once submit was pressed)."""
        return {
            name: message
            for name, message in self.errors.items()
            if self.attempted or name in self.touched
        }

    @rx.var
    def can_submit(self) -> bool:
        return not self.errors and not self.saving

    @rx.var
    def amount_preview(self) -> str:
        """The amount as it will be recorded: 'KES 2,500,000.00'."""
        try:
            currency = self.source_currency or self.currency
            return format_money(parse_money_in(self.amount, currency), currency)
        except InvalidInput:
            return ""

    @rx.var
    def amount_label(self) -> str:
        """'Amount (USD)': a source's amount is in its own currency."""
        return f"Amount ({self.source_currency or self.currency})"

    @rx.var
    def currency_options(self) -> list[str]:
        """Every ISO 4217 code the ledger knows, the reporting currency first."""
        return [self.currency, *(c for c in sorted(MINOR_UNITS) if c != self.currency)]

    @rx.var
    def title(self) -> str:
        return {
            ADD: "Add a capital source",
            AMOUNT: f"Change amount — {self.source_name}",
            RATE: f"Change rate — {self.source_name}",
            REMOVE: f"Remove {self.source_name}",
        }.get(self.kind, "")

    @rx.var
    def submit_label(self) -> str:
        return {
            ADD: "Add source",
            AMOUNT: "Save amount",
            RATE: "Save rate",
            REMOVE: "Remove source",
        }.get(self.kind, "Save")

    # --- opening and typing -----------------------------------------------------

    def _open(self, kind: str, target: EditTarget | None) -> None:
        self.kind = kind
        self.source_id = target.source_id if target else ""
        self.source_name = target.name if target else ""
        self.expected_sequence = target.sequence if target else 0
        own = (target.currency if target else "") or self.currency
        self.current_amount = format_money(target.amount_cents, own) if target else ""
        self.current_rate = format_rate(target.rate) if target else ""
        self.name = self.amount = self.rate = self.notes = ""
        self.source_currency = own
        self.source_kind = "debt"
        self.effective_day = self.today
        self.touched = []
        self.attempted = False
        self.server_error = ""
        self._key = uuid.uuid4().hex
        self._resend, self._resend_for = None, ""
        self.saving = False  # an earlier dialog's save may still be on its way
        self.dialog_open = True

    @rx.event
    def open_add(self):
        if not self.can_edit:
            return rx.toast.warning("Editing is not available in this view.")
        self._open(ADD, None)
        return None

    @rx.event
    async def open_change(self, kind: str, source_id: str):
        """Open the amount / rate / remove dialog for a source the page shows."""
        if kind not in (AMOUNT, RATE, REMOVE):
            return None
        if not self.can_edit:
            return rx.toast.warning("Editing is not available in this view.")
        page = await self._page()
        target = page._targets.get(source_id) if page is not None else None
        if target is None:
            return rx.toast.error("That source is no longer active.")
        self._open(kind, target)
        return None

    def _touch(self, field: str) -> None:
        if field not in self.touched:
            self.touched = [*self.touched, field]
        self.server_error = ""

    @rx.event
    def set_field(self, field: str, value: str):
        if field not in (
            "name",
            "amount",
            "rate",
            "effective_day",
            "notes",
            "source_currency",
            "source_kind",
        ):
            return
        setattr(self, field, value if isinstance(value, str) else "")
        self._touch(field)

    @rx.event
    def tidy_amount(self):
        """On leaving the field: show the amount with thousands separators."""
        currency = self.source_currency or self.currency
        try:
            cents = parse_money_in(self.amount, currency)
        except InvalidInput:
            return
        self.amount = format_money(cents, currency).removeprefix(currency).strip()

    @rx.event
    def set_open(self, open: bool):
        if not open and not self.saving:
            self.dialog_open = False

    @rx.event
    def close(self):
        self.dialog_open = False

    # --- submitting -------------------------------------------------------------

    def _command(self) -> tuple[Command, PendingEdit] | None:
        """The command and the pending row it shows; None if a field is invalid."""
        now = datetime.now(UTC)
        if self.kind not in FIELDS or field_errors(self.kind, self._values(), self._tz(), now):
            return None
        effective = effective_of(self.effective_day, self._tz(), now)
        notes = check_notes(self.notes)
        if self.kind == ADD:
            currency = check_iso_currency(self.source_currency or self.currency)
            kind = check_kind(self.source_kind).value
            cents, rate = parse_money_in(self.amount, currency), parse_percent(self.rate)
            name = check_name(self.name)
            pending = PendingEdit(
                key=self._key,
                kind=ADD,
                source_id="",
                name=name,
                sequence=1,
                amount_cents=cents,
                amount_text=format_money(cents, currency),
                rate_text=format_rate(rate),
            )
            # The organization's currency and debt are the defaults: sent as "not given",
            # so a plain addition is the very command it always was.
            terms = SourceTerms(
                name,
                rate,
                cents,
                currency if currency != self.currency else None,
                kind if kind != "debt" else None,
            )
            return AddSource(terms, effective, notes), pending
        sid, expected = self.source_id, self.expected_sequence
        pending = PendingEdit(
            key=self._key,
            kind=self.kind,
            source_id=self.source_id,
            name=self.source_name,
            sequence=self.expected_sequence + 1,
        )
        if self.kind == AMOUNT:
            own = self.source_currency or self.currency
            cents = parse_money_in(self.amount, own)
            pending = _with(pending, amount_cents=cents, amount_text=format_money(cents, own))
            return ChangeAmount(sid, cents, effective, notes, expected), pending
        if self.kind == RATE:
            rate = parse_percent(self.rate)
            pending = _with(pending, rate_text=format_rate(rate))
            return ChangeRate(sid, rate, effective, notes, expected), pending
        return RemoveSource(sid, effective, notes, expected), pending

    def _typed(self) -> str:
        """What was typed, under which key: the same means "send the same command"."""
        values = [self._key, self.kind, self.source_id, self.name.strip(), self.amount]
        values += [self.rate, self.effective_day, self.notes.strip()]
        values += [self.source_currency, self.source_kind]
        return json.dumps(values)

    @rx.event(background=True)
    async def submit(self, form_data: dict[str, Any] | None = None):
        async with self:
            if self.saving:
                return None
            if self.as_of_day or self.known_at_day:
                return rx.toast.warning("Editing is not available in a past view.")
            for field in FIELDS.get(self.kind, ()):
                if form_data and isinstance(form_data.get(field), str):
                    setattr(self, field, form_data[field])
            self._key = self._key or uuid.uuid4().hex  # a submit without an opened dialog
            command = self._command()
            if command is None:
                self.attempted = True
                return None
            sent, pending = command
            typed = self._typed()
            if self._resend is not None and self._resend_for == typed:
                sent = self._resend  # no answer came last time: the very same command
            page = await self._page()
            shown = page._targets.get(pending.source_id) if page is not None else None
            if shown is not None and shown.sequence >= pending.sequence:
                pending = _with(pending, stale=True)  # a live update got there first
            key = self._key
            token, kind, tz = self.session_token, self.kind, self._tz()
            self._pending = [*self._pending, pending]
            self.saving = True
            self.dialog_open = False
            await self._render_page()

        error: LedgerError | None = None
        try:
            signed_in = await call_service(sessions.resume, token, timeout=LOAD_TIMEOUT_SECONDS)
            await call_service(
                commands.execute, signed_in.actor, sent, key, timeout=SAVE_TIMEOUT_SECONDS
            )
        except LedgerError as failure:
            error = failure

        message = ""
        if isinstance(error, SequenceMismatch):
            message = await self._conflict_text(token, error, kind, tz)
        async with self:
            if self._key == pending.key:
                self.saving = False
                # no answer (timeout, database unreachable): it may have been recorded
                unknown = error is not None and error.kind is ErrorKind.UNAVAILABLE
                self._resend, self._resend_for = (sent, typed) if unknown else (None, "")
            self._pending = [p for p in self._pending if p.key != pending.key]
            if error is not None and is_signed_out(error):
                return self._forget(error.message)
            await self._reload_page()
            if error is None:
                return rx.toast.success(_saved_text(pending), id="edit-result")
            return self._refused(error, message)

    async def _conflict_text(self, token: str, error: SequenceMismatch, kind: str, tz) -> str:
        try:
            signed_in = await call_service(sessions.resume, token, timeout=LOAD_TIMEOUT_SECONDS)
            names = await call_service(
                queries.user_names, signed_in.actor, timeout=LOAD_TIMEOUT_SECONDS
            )
        except LedgerError:
            names = {}
        return conflict_message(
            error.latest_entry, EDITING[kind], names, datetime.now(UTC), tz, self.currency
        )

    def _refused(self, error: LedgerError, conflict: str):
        """Say what happened; "Try again" reopens the dialog with what was typed."""
        if conflict:
            text = conflict
        elif isinstance(error, ServiceTimeout):
            text = (
                "Not confirmed: the ledger did not answer in time. The page shows what is "
                "stored now; Try again cannot record the change twice."
            )
        else:
            text = f"Not saved: {error.message}"
        if isinstance(error, InvalidInput):
            self.server_error = error.message
        return rx.toast.error(
            text,
            id="edit-result",
            duration=12000,
            close_button=True,
            action={"label": "Try again", "on_click": EditState.try_again},
        )

    @rx.event
    async def try_again(self):
        """Reopen the dialog with what was typed, against the source as it is now."""
        if not self.can_edit:
            return None
        if self.kind != ADD:
            page = await self._page()
            target = page._targets.get(self.source_id) if page is not None else None
            if target is None:
                return rx.toast.info("That source is no longer active; nothing to try again.")
            self.source_name = target.name
            self.expected_sequence = target.sequence
            self.source_currency = target.currency or self.currency
            self.current_amount = format_money(target.amount_cents, self.source_currency)
            self.current_rate = format_rate(target.rate)
        self.attempted = True
        self.dialog_open = True
        return None


def _with(pending: PendingEdit, **changes: Any) -> PendingEdit:
    return replace(pending, **changes)


def _saved_text(pending: PendingEdit) -> str:
    if pending.kind == ADD:
        return f"Saved: {pending.name} added ({pending.amount_text} at {pending.rate_text})."
    if pending.kind == AMOUNT:
        return f"Saved: {pending.name} amount is now {pending.amount_text}."
    if pending.kind == RATE:
        return f"Saved: {pending.name} rate is now {pending.rate_text}."
    return f"Saved: {pending.name} removed."
