"""The four commands that append to the capital history: one handler, `execute`.

A command (domain/commands.py: data, built by the API and the UI) runs in one
transaction: check the actor's role (read fresh), validate its fields, claim the
idempotency key (with the command's own fingerprint), lock the organization's revision counter then the
source row (always in that order, so concurrent writers queue instead of
deadlocking), decide with the pure rules, append. Concurrent writers to one
source are serialized, so sequences stay gapless and no update is lost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from capital_app.db import api_key_repository as api_keys
from capital_app.db import history_repository as history
from capital_app.db import user_repository as users
from capital_app.db.errors import translate
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain import rules
from capital_app.domain.accounts import UserRecord
from capital_app.domain.alerts import Cause, TriggeredAlert
from capital_app.domain.commands import (
    AddSource,
    ChangeAmount,
    ChangeRate,
    Command,
    RemoveSource,
    SourceTerms,
    fingerprint,
)
from capital_app.domain.errors import ErrorCollector, SequenceMismatch
from capital_app.domain.events import HistoryEntry, SourceState
from capital_app.domain.values import (
    check_cents,
    check_effective_date,
    check_expected_sequence,
    check_idempotency_key,
    check_notes,
    check_rate,
    check_source_id,
)
from capital_app.observe.logs import log_command
from capital_app.service import alerts
from capital_app.service.actor import Actor, Permission, authorize
from capital_app.service.errors import IdempotencyKeyReused, NameTaken, NotFound, WriteConflict


@dataclass(frozen=True, slots=True)
class CommandResult:
    source_id: str
    entry: HistoryEntry
    replayed: bool = False
    alerts: tuple[TriggeredAlert, ...] = ()  # the alert rules this change made cross


@dataclass(frozen=True, slots=True)
class Author:
    """Who an entry records as its maker: a person, or an API key (named) and the
    ADMIN who created that key in `recorded_by`."""

    recorded_by: UUID
    created_by: str
    api_key_id: UUID | None = None
    api_key_name: str | None = None


def _author(conn: Connection, actor: Actor, user: UserRecord) -> Author:
    if actor.api_key_id is None:
        return Author(recorded_by=user.id, created_by=str(user.id))
    key = api_keys.get_key(conn, actor.organization_id, actor.api_key_id)
    assert key is not None  # authorize() has just read it
    return Author(
        recorded_by=user.id,
        created_by=f"api-key:{key.id}",
        api_key_id=key.id,
        api_key_name=key.name,
    )


def _checked(command: Command, now: datetime) -> Command:
    """The command with every field checked and cleaned; all failures reported together."""
    if isinstance(command, AddSource):
        terms = command.source
        new = rules.check_new_source(
            terms.name,
            terms.annual_rate,
            terms.available_cents,
            command.effective_date,
            command.notes,
            now,
            terms.currency,
            terms.kind,
        )
        clean = SourceTerms(new.name, new.annual_rate, new.available_cents, new.currency, new.kind)
        return AddSource(clean, new.effective_date, new.notes)
    errors = ErrorCollector()
    value: object = None
    if isinstance(command, ChangeAmount):
        value = errors.check(check_cents, command.available_cents)
    elif isinstance(command, ChangeRate):
        value = errors.check(check_rate, command.annual_rate)
    source_id = errors.check(check_source_id, command.source_id)
    effective = errors.check(check_effective_date, command.effective_date, now)
    notes = errors.check(check_notes, command.notes)
    expected = errors.check(check_expected_sequence, command.expected_sequence)
    errors.raise_if_any()
    assert source_id is not None and effective is not None
    if isinstance(command, ChangeAmount):
        assert isinstance(value, int)
        return ChangeAmount(source_id, value, effective, notes, expected)
    if isinstance(command, ChangeRate):
        assert isinstance(value, Decimal)
        return ChangeRate(source_id, value, effective, notes, expected)
    return RemoveSource(source_id, effective, notes, expected)


def execute(actor: Actor, command: Command, idempotency_key: str | None = None) -> CommandResult:
    """Run one command; with a key, a retry of the same command replays the first answer
    and the same key with a different command answers IdempotencyKeyReused."""
    org = actor.organization_id
    with tenant_transaction(org) as conn:
        user = authorize(conn, actor, Permission.WRITE_HISTORY)  # who may act, before what
        if idempotency_key is not None:
            check_idempotency_key(idempotency_key)
        checked = _checked(command, datetime.now(UTC))  # what, before the key is claimed
        if idempotency_key is not None:
            request_hash = fingerprint(checked)
            stored = users.claim_idempotency_key(conn, org, idempotency_key, user.id, request_hash)
            if stored is not None:
                if stored.request_hash != request_hash:
                    raise IdempotencyKeyReused(
                        "This Idempotency-Key was already used for a different request."
                    )
                entry = history.get_entry(conn, org, stored.entry_id) if stored.entry_id else None
                if entry is None:
                    raise WriteConflict("The first request with this key did not complete.")
                return CommandResult(entry.source_id, entry, replayed=True)
        # Lock the revision counter (with the alert rules: one round trip), then the
        # figures before the change if any rule is active.
        _revision, watched = alerts.claim_and_watch(conn, org)
        try:
            entry = _append(conn, user, _author(conn, actor, user), _plan(conn, user, checked))
        except DBAPIError as error:
            translated = translate(error)
            if translated is None:
                raise
            raise translated from error
        assert entry.revision is not None
        cause = Cause(entry.revision, entry.id, entry.id, entry.source_id, entry.sequence)
        triggered = alerts.settle(conn, org, watched, cause)  # committed with the entry
        if idempotency_key is not None:
            users.complete_idempotency_key(conn, org, idempotency_key, entry.source_id, entry.id)
    log_command(  # after the commit: the command did happen
        str(entry.action),
        org,
        entry.source_id,
        entry.revision,
        user_id=actor.user_id,
        api_key_id=actor.api_key_id,
    )
    return CommandResult(entry.source_id, entry, alerts=tuple(triggered))


def _plan(conn: Connection, user: UserRecord, command: Command) -> rules.PlannedEntry:
    """Decide with the pure rules, holding the locks (revision counter, then source)."""
    if isinstance(command, AddSource):
        terms = command.source
        if history.active_name_exists(conn, user.organization_id, terms.name):
            raise NameTaken(
                f"An active source is already called “{terms.name}” (names ignore case)."
            )
        new = rules.NewSource(
            terms.name,
            terms.annual_rate,
            terms.available_cents,
            command.effective_date,
            command.notes,
            terms.currency,
            terms.kind,
        )
        return rules.plan_addition(str(uuid.uuid4()), new)
    current = _locked_source(conn, user, command.source_id)
    effective, notes, expected = command.effective_date, command.notes, command.expected_sequence
    try:
        if isinstance(command, ChangeAmount):
            at_effective = _as_of_effective(conn, user, current, effective)
            return rules.plan_amount_change(
                current, at_effective, command.available_cents, effective, notes, expected
            )
        if isinstance(command, ChangeRate):
            at_effective = _as_of_effective(conn, user, current, effective)
            return rules.plan_rate_change(
                current, at_effective, command.annual_rate, effective, notes, expected
            )
        return rules.plan_removal(current, effective, notes, expected)
    except SequenceMismatch as mismatch:  # show the caller what changed
        mismatch.latest_entry = history.get_entry(
            conn, user.organization_id, current.latest_entry_id
        )
        raise


def _append(
    conn: Connection, user: UserRecord, author: Author, planned: rules.PlannedEntry
) -> HistoryEntry:
    return history.insert_entry(
        conn,
        user.organization_id,
        planned,
        recorded_by=author.recorded_by,
        created_by=author.created_by,
        api_key_id=author.api_key_id,
        api_key_name=author.api_key_name,
    )


def _locked_source(conn: Connection, user: UserRecord, source_id: str) -> SourceState:
    current = history.lock_source(conn, user.organization_id, source_id)
    if current is None:
        raise NotFound("No capital source with this id exists in your organization.")
    return current


def _as_of_effective(
    conn: Connection, user: UserRecord, current: SourceState, effective: datetime
) -> SourceState:
    """The source's terms in effect at `effective` (a backdated change sees the past)."""
    if effective >= current.last_effective_date:
        return current
    terms = history.state_at(conn, user.organization_id, current.source_id, effective)
    if terms is None:  # before the source existed: the rules refuse it
        return current
    cents, rate = terms
    return replace(current, available_cents=cents, annual_rate=rate)


# --- keyword shortcuts for scripts, the demo seed and tests ----------------------
# (the API and the UI build commands and call `execute`)


def add_source(
    actor: Actor,
    *,
    name: object,
    annual_rate: object,
    available_cents: object,
    effective_date: datetime,
    notes: object = None,
    idempotency_key: str | None = None,
    currency: object = None,
    kind: object = None,
) -> CommandResult:
    terms = SourceTerms(name, annual_rate, available_cents, currency, kind)  # type: ignore[arg-type]
    return execute(actor, AddSource(terms, effective_date, notes), idempotency_key)  # type: ignore[arg-type]


def update_amount(
    actor: Actor,
    *,
    source_id: object,
    available_cents: object,
    effective_date: datetime,
    notes: object = None,
    expected_sequence: object = None,
    idempotency_key: str | None = None,
) -> CommandResult:
    command = ChangeAmount(source_id, available_cents, effective_date, notes, expected_sequence)  # type: ignore[arg-type]
    return execute(actor, command, idempotency_key)


def update_rate(
    actor: Actor,
    *,
    source_id: object,
    annual_rate: object,
    effective_date: datetime,
    notes: object = None,
    expected_sequence: object = None,
    idempotency_key: str | None = None,
) -> CommandResult:
    command = ChangeRate(source_id, annual_rate, effective_date, notes, expected_sequence)  # type: ignore[arg-type]
    return execute(actor, command, idempotency_key)


def remove_source(
    actor: Actor,
    *,
    source_id: object,
    effective_date: datetime,
    notes: object = None,
    expected_sequence: object = None,
    idempotency_key: str | None = None,
) -> CommandResult:
    command = RemoveSource(source_id, effective_date, notes, expected_sequence)  # type: ignore[arg-type]
    return execute(actor, command, idempotency_key)
