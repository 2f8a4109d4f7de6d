"""Catch-up reads shared by the sessions of one process.

When a change reaches the 100 open sessions of an organization, each asks the
database the same question ("what is new since revision R?"). 100 identical
reads cost ~90 ms of CPU on this machine; one costs under 1 ms. A read that
starts after revision R was announced sees at least R, and the history is
append-only, so its answer is a correct answer for anyone asking "at least R":
the first asker's read goes through the service layer, the others await that
same read (single flight) or reuse it for a few seconds.

Authorization stays exact: the read that runs authorizes its own actor inside
the service call, and the askers served its answer are checked together in one
query (`service.actor.sessions_among`) before they get it, so a deactivated user
or a signed-out session gets nothing from the next change on, as from any other call. The organization
is part of every key: no answer crosses organizations.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar
from uuid import UUID

from capital_app.domain.events import HistoryEntry
from capital_app.service import history_queries
from capital_app.service.actor import Actor, Session, sessions_among
from capital_app.service.errors import Unauthenticated

T = TypeVar("T")


class _ReaderCheck:
    """Sessions (user, token issue time) of one organization waiting to be authorized
    by one query."""

    def __init__(self) -> None:
        self.user_ids: set[Session] = set()
        self.started = False
        self.result: asyncio.Future[frozenset[Session]] = asyncio.get_running_loop().create_future()


class SharedReads:
    """Single-flight, short-lived memo of service reads, keyed by organization and revision."""

    def __init__(self, *, ttl_seconds: float = 10.0, max_entries: int = 1024) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._memo: OrderedDict[Hashable, tuple[float, asyncio.Future[Any]]] = OrderedDict()
        self._checks: dict[UUID, _ReaderCheck] = {}
        self.database_reads = 0
        self.shared_hits = 0
        self.reader_checks = 0

    async def read(
        self,
        actor: Actor,
        at_least: int,
        question: Hashable,
        fn: Callable[..., T],
        *args: Any,
        revision_of: Callable[[T], int] | None = None,
    ) -> T:
        """`fn(actor, *args)` seeing at least revision `at_least`, shared with equal askers.

        `revision_of` (when the answer carries its revision): an answer older than
        `at_least` (a number nobody committed yet, e.g. sent by a forged event) is
        not kept for later askers.
        """
        key = (actor.organization_id, at_least, question)
        now = time.monotonic()
        self._expire(now)
        found = self._memo.get(key)
        if found is not None:
            try:
                result = await asyncio.shield(found[1])
            except Exception:  # the first asker failed (say, its user was deactivated)
                return await self._run(actor, fn, *args)
            await self._authorize(actor)
            self.shared_hits += 1
            return result
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._memo[key] = (now, future)
        try:
            result = await self._run(actor, fn, *args)
        except BaseException as error:
            self._memo.pop(key, None)
            future.set_exception(error)
            future.exception()  # retrieved: waiters fall back to their own read
            raise
        future.set_result(result)
        if revision_of is not None and revision_of(result) < at_least:
            self._memo.pop(key, None)
        return result

    async def changes_since(
        self, actor: Actor, since: int, at_least: int | None
    ) -> tuple[list[HistoryEntry], int]:
        """Entries after `since` and the current revision (read alone when `at_least` is None)."""
        if at_least is None:
            return await self._run(actor, history_queries.changes_since, since)
        return await self.read(
            actor, at_least, ("changes_since", since), history_queries.changes_since, since
        )

    async def authorize(self, actor: Actor) -> None:
        """Raise Unauthenticated unless the actor may read now (batched with other askers).

        For pushes that carry no data (a past view told that newer data exists): a
        deactivated or signed-out session is not told either, and gets signed out.
        """
        await self._authorize(actor)

    async def _run(self, actor: Actor, fn: Callable[..., T], *args: Any) -> T:
        self.database_reads += 1
        return await asyncio.to_thread(fn, actor, *args)

    async def _authorize(self, actor: Actor) -> None:
        """READ for this actor, batched with the other askers of the same moment."""
        org = actor.organization_id
        check = self._checks.get(org)
        if check is None or check.started:
            check = self._checks[org] = _ReaderCheck()
            asyncio.get_running_loop().create_task(self._run_check(org, check))
        check.user_ids.add((actor.user_id, actor.issued_at))
        allowed = await asyncio.shield(check.result)
        if (actor.user_id, actor.issued_at) not in allowed:
            raise Unauthenticated("Your account is not active or this session was signed out.")

    async def _run_check(self, org: UUID, check: _ReaderCheck) -> None:
        await asyncio.sleep(0.001)  # the other askers woken by the same read join in
        check.started = True
        if self._checks.get(org) is check:
            del self._checks[org]
        self.reader_checks += 1
        try:
            allowed = await asyncio.to_thread(sessions_among, org, frozenset(check.user_ids))
        except BaseException as error:
            check.result.set_exception(error)
            check.result.exception()
            if not isinstance(error, Exception):
                raise
        else:
            check.result.set_result(allowed)

    def _expire(self, now: float) -> None:
        while self._memo:
            created, future = next(iter(self._memo.values()))
            too_many = len(self._memo) > self.max_entries
            if not too_many and (now - created < self.ttl_seconds or not future.done()):
                break
            self._memo.popitem(last=False)
