"""Whole-history streams that never hold a database connection at the client's pace.

A stream is read a page at a time, each page in its own short read-only transaction,
all bounded by the organization's revision when the stream began: revisions follow
commit order and entries never change, so the pages agree as if read from one
snapshot, and between pages (while the client reads slowly) no pooled connection is
held. Streams are capped per user and per organization in this process, and each
ends after `stream_max_seconds` however slowly its client reads.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from uuid import UUID

from capital_app.db import history_repository as history
from capital_app.db.history_repository import HistoryFilter
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.errors import ErrorKind, LedgerError
from capital_app.domain.events import HistoryEntry
from capital_app.service.actor import Actor, Permission, authorize
from capital_app.settings import get_settings

PAGE = 1000
RETRY_AFTER_SECONDS = 10


class TooManyStreams(LedgerError):
    kind = ErrorKind.THROTTLED
    title = "Too many downloads at once"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.retry_after = RETRY_AFTER_SECONDS


class StreamExpired(Exception):
    """The stream ran past its deadline; the answer is cut off (the client sees it end
    early, never a shorter answer that looks whole)."""


def _holder(actor: Actor) -> UUID:
    """Whose slots a stream takes: an API key's own (each integration its own), else
    the user's."""
    return actor.api_key_id or actor.user_id


class _Slots:
    """Open streams per user (or API key) and per organization, in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_user: Counter[UUID] = Counter()
        self._by_organization: Counter[UUID] = Counter()

    def take(self, actor: Actor) -> None:
        settings = get_settings()
        with self._lock:
            if self._by_user[_holder(actor)] >= settings.streams_per_user:
                raise TooManyStreams(
                    f"You already have {settings.streams_per_user} downloads of the whole "
                    "history running; wait for one to finish, or read it in pages (limit)."
                )
            if self._by_organization[actor.organization_id] >= settings.streams_per_organization:
                raise TooManyStreams(
                    "Your organization has as many downloads of the whole history running "
                    "as it may at once; try again shortly, or read it in pages (limit)."
                )
            self._by_user[_holder(actor)] += 1
            self._by_organization[actor.organization_id] += 1

    def give_back(self, actor: Actor) -> None:
        with self._lock:
            self._by_user[_holder(actor)] -= 1
            self._by_organization[actor.organization_id] -= 1
            self._by_user += Counter()  # drop zero counts
            self._by_organization += Counter()

    def open_count(self) -> int:
        with self._lock:
            return sum(self._by_organization.values())


SLOTS = _Slots()


def open_history_stream(actor: Actor, flt: HistoryFilter) -> _Slotted:
    """Check access and take a slot now (refusals come before the first entry); then
    the entries matching `flt` in (effective date, sequence, source) order, as of this
    moment's revision. Closing the iterator gives the slot back."""
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.READ)
        revision = history.current_revision(conn, actor.organization_id)
    SLOTS.take(actor)
    bounded = replace(flt, up_to_revision=revision)
    return _Slotted(actor, _pages(actor.organization_id, bounded, actor))


def organization_stream(organization_id: UUID) -> Iterator[HistoryEntry]:
    """Operator export (the command line): every entry, no user, no slot."""
    with tenant_transaction(organization_id, read_only=True) as conn:
        revision = history.current_revision(conn, organization_id)
    return _pages(organization_id, HistoryFilter(up_to_revision=revision), None)


class _Slotted(Iterator[HistoryEntry]):
    """The entries, holding the actor's slot until they end, fail or are closed: also
    when closed before the first entry (a generator's `finally` would not run then)."""

    def __init__(self, actor: Actor, entries: Iterator[HistoryEntry]) -> None:
        self._actor: Actor | None = actor
        self._entries = entries

    def __next__(self) -> HistoryEntry:
        try:
            return next(self._entries)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        close = getattr(self._entries, "close", None)
        if close is not None:
            close()
        if self._actor is not None:
            SLOTS.give_back(self._actor)
            self._actor = None

    def __del__(self) -> None:
        self.close()


def _pages(
    organization_id: UUID, flt: HistoryFilter, actor: Actor | None
) -> Iterator[HistoryEntry]:
    deadline = time.monotonic() + get_settings().stream_max_seconds
    cursor: str | None = None
    while True:
        if time.monotonic() > deadline:
            raise StreamExpired(f"stream ran past {get_settings().stream_max_seconds} s")
        with tenant_transaction(organization_id, read_only=True) as conn:
            if actor is not None:  # still allowed (not deactivated meanwhile)
                authorize(conn, actor, Permission.READ)
            entries, cursor = history.list_history(
                conn, organization_id, flt, cursor=cursor, limit=PAGE
            )
        yield from entries  # the connection is back in the pool while the client reads
        if cursor is None:
            return
