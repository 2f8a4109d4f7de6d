"""The four commands that append to the capital history.

Each runs in one transaction: check the actor's role (read fresh), validate,
claim the idempotency key, lock the organization's revision counter then the
source row (always in that order, so concurrent writers queue instead of
deadlocking), decide with the pure rules, append. Concurrent writers to one
source are serialized, so sequences stay gapless and no update is lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
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
from capital_app.service.actor import Actor, Permission, authorize
from capital_app.service.errors import IdempotencyKeyReused, NameTaken, NotFound, WriteConflict


@dataclass(frozen=True, slots=True)
class IdempotencyRequest:
    """A client's retry key and a fingerprint of the request it came with."""

    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class CommandResult:
    source_id: str
    entry: HistoryEntry
    replayed: bool = False


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


Work = Callable[[Connection, UserRecord, datetime, Author], HistoryEntry]


def _run(actor: Actor, idempotency: IdempotencyRequest | None, work: Work) -> CommandResult:
    org = actor.organization_id
    with tenant_transaction(org) as conn:
        user = authorize(conn, actor, Permission.WRITE_HISTORY)  # who may act, before what
        if idempotency is not None:
            check_idempotency_key(idempotency.key)
            stored = users.claim_idempotency_key(
                conn, org, idempotency.key, user.id, idempotency.fingerprint
            )
            if stored is not None:
                if stored.request_hash != idempotency.fingerprint:
                    raise IdempotencyKeyReused(
                        "This Idempotency-Key was already used for a different request."
                    )
                entry = history.get_entry(conn, org, stored.entry_id) if stored.entry_id else None
                if entry is None:
                    raise WriteConflict("The first request with this key did not complete.")
                return CommandResult(entry.source_id, entry, replayed=True)
        history.claim_transaction_revision(conn, org)
        try:
            entry = work(conn, user, datetime.now(UTC), _author(conn, actor, user))
        except DBAPIError as error:
            translated = translate(error)
            if translated is None:
                raise
            raise translated from error
        if idempotency is not None:
            users.complete_idempotency_key(conn, org, idempotency.key, entry.source_id, entry.id)
    log_command(  # after the commit: the command did happen
        str(entry.action),
        org,
        entry.source_id,
        entry.revision,
        user_id=actor.user_id,
        api_key_id=actor.api_key_id,
    )
    return CommandResult(entry.source_id, entry)


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


def add_source(
    actor: Actor,
    *,
    name: object,
    annual_rate: object,
    available_cents: object,
    effective_date: datetime,
    notes: object = None,
    idempotency: IdempotencyRequest | None = None,
) -> CommandResult:
    def work(conn: Connection, user: UserRecord, now: datetime, author: Author) -> HistoryEntry:
        new = rules.check_new_source(name, annual_rate, available_cents, effective_date, notes, now)
        if history.active_name_exists(conn, user.organization_id, new.name):
            raise NameTaken(f"An active source is already called “{new.name}” (names ignore case).")
        return _append(conn, user, author, rules.plan_addition(str(uuid.uuid4()), new))

    return _run(actor, idempotency, work)


def _change_fields(
    value_check: Callable[[object], object],
    value: object,
    source_id: object,
    effective_date: datetime,
    notes: object,
    expected_sequence: object,
    now: datetime,
) -> tuple[object, str, datetime, str | None, int | None]:
    errors = ErrorCollector()
    clean_value = errors.check(value_check, value)
    clean_source = errors.check(check_source_id, source_id)
    effective = errors.check(check_effective_date, effective_date, now)
    clean_notes = errors.check(check_notes, notes)
    expected = errors.check(check_expected_sequence, expected_sequence)
    errors.raise_if_any()
    assert clean_source is not None and effective is not None
    return clean_value, clean_source, effective, clean_notes, expected


Plan = Callable[
    [SourceState, SourceState, Any, datetime, str | None, int | None], rules.PlannedEntry
]


def _change_source(
    actor: Actor,
    idempotency: IdempotencyRequest | None,
    *,
    source_id: object,
    value_check: Callable[[object], object],
    value: object,
    plan: Plan,
    effective_date: datetime,
    notes: object,
    expected_sequence: object,
) -> CommandResult:
    """The shape every change of an existing source shares: validate, lock, plan, append."""

    def work(conn: Connection, user: UserRecord, now: datetime, author: Author) -> HistoryEntry:
        clean_value, sid, effective, clean_notes, expected = _change_fields(
            value_check, value, source_id, effective_date, notes, expected_sequence, now
        )
        current = _locked_source(conn, user, sid)
        at_effective = _as_of_effective(conn, user, current, effective)
        try:
            planned = plan(current, at_effective, clean_value, effective, clean_notes, expected)
        except SequenceMismatch as mismatch:  # show the caller what changed
            mismatch.latest_entry = history.get_entry(
                conn, user.organization_id, current.latest_entry_id
            )
            raise
        return _append(conn, user, author, planned)

    return _run(actor, idempotency, work)


def update_amount(
    actor: Actor,
    *,
    source_id: object,
    available_cents: object,
    effective_date: datetime,
    notes: object = None,
    expected_sequence: object = None,
    idempotency: IdempotencyRequest | None = None,
) -> CommandResult:
    return _change_source(
        actor,
        idempotency,
        source_id=source_id,
        value_check=check_cents,
        value=available_cents,
        plan=rules.plan_amount_change,
        effective_date=effective_date,
        notes=notes,
        expected_sequence=expected_sequence,
    )


def update_rate(
    actor: Actor,
    *,
    source_id: object,
    annual_rate: object,
    effective_date: datetime,
    notes: object = None,
    expected_sequence: object = None,
    idempotency: IdempotencyRequest | None = None,
) -> CommandResult:
    return _change_source(
        actor,
        idempotency,
        source_id=source_id,
        value_check=check_rate,
        value=annual_rate,
        plan=rules.plan_rate_change,
        effective_date=effective_date,
        notes=notes,
        expected_sequence=expected_sequence,
    )


def _plan_removal(
    current: SourceState,
    _at_effective: SourceState,
    _value: object,
    effective: datetime,
    notes: str | None,
    expected: int | None,
) -> rules.PlannedEntry:
    return rules.plan_removal(current, effective, notes, expected)


def remove_source(
    actor: Actor,
    *,
    source_id: object,
    effective_date: datetime,
    notes: object = None,
    expected_sequence: object = None,
    idempotency: IdempotencyRequest | None = None,
) -> CommandResult:
    return _change_source(
        actor,
        idempotency,
        source_id=source_id,
        value_check=lambda value: value,
        value=None,
        plan=_plan_removal,
        effective_date=effective_date,
        notes=notes,
        expected_sequence=expected_sequence,
    )
