"""Hot reads on the event loop: tenant, standing and query in ONE pipelined round trip.

The sync path (unit_of_work.py) holds a worker thread per request and waits for the
database several times (BEGIN + tenant, the user re-read, the query, COMMIT). Here a
read is sent as one psycopg pipeline on an async connection:

    BEGIN READ ONLY; set_config('app.org_id', …, true); <standing>; <query>; COMMIT; Sync

and answered in one round trip, without a thread. The security properties are those
of the sync path: the connection is the runtime role (SET ROLE on connect, as
engine.py does), the tenant is transaction-local (a pooled connection never carries
it into another request) and RLS applies; the caller's standing is read in the same
transaction as the query, so a deactivation or revocation refuses the next request.

The pool belongs to the event loop that opened it (one per server process); the API
app's lifespan closes it (api/app.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect

from capital_app.db.engine import libpq_url, runtime_database_url
from capital_app.db.roles import runtime_role_name
from capital_app.db.unit_of_work import DatabaseUnavailable
from capital_app.settings import get_settings

_DIALECT = psycopg_dialect.dialect()  # type: ignore[no-untyped-call]

_BUSY = "The service is busy right now; nothing was changed. Try again in a few seconds."
_UNREACHABLE = "The database cannot be reached right now; nothing was changed. Try again shortly."


@lru_cache(maxsize=512)
def pyformat(sql: str) -> str:
    """A repository's SQL (`:name` parameters, as SQLAlchemy's `text()` takes it) in
    psycopg's `%(name)s` style, compiled by SQLAlchemy's own psycopg dialect: casts
    (`::text`) and literal `%` come out exactly as the sync path sends them."""
    return str(text(sql).compile(dialect=_DIALECT))


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str  # `%(name)s` parameters
    params: dict[str, Any] = field(default_factory=dict)
    mapping: bool = False  # rows as dicts by column name (else tuples, by position)


def statement(sql: str, params: dict[str, Any], *, mapping: bool = False) -> Statement:
    """A statement from repository SQL written with `:name` parameters."""
    return Statement(pyformat(sql), params, mapping)


_TENANT = Statement("SELECT set_config('app.org_id', %(org)s, true)")


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    """Each new connection becomes the runtime role, in UTC (as engine.py's hook)."""
    await conn.execute(f"SET ROLE {runtime_role_name()}")
    await conn.execute("SET TIME ZONE 'UTC'")


class _PoolHolder:
    """This process's pool, created on first use inside the running event loop (a pool
    cannot move between loops; a test's new loop gets a new pool)."""

    def __init__(self) -> None:
        self.pool: AsyncConnectionPool | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.url: str | None = None
        self.lock: asyncio.Lock | None = None

    async def get(self) -> AsyncConnectionPool:
        loop = asyncio.get_running_loop()
        url = libpq_url(runtime_database_url())
        if self.pool is not None and self.loop is loop and self.url == url:
            return self.pool
        if self.lock is None or self.loop is not loop:
            self.loop, self.lock, self.pool = loop, asyncio.Lock(), None
        async with self.lock:
            if self.pool is not None and self.url == url:
                return self.pool
            if self.pool is not None:  # the database changed (tests switch databases)
                await self.pool.close()
            settings = get_settings()
            # Sized like the sync engine's steady pool: a read holds its connection for
            # one round trip, so a few connections serve many concurrent requests; the
            # same short wait as the sync pool before answering 503.
            pool = AsyncConnectionPool(
                url,
                min_size=1,
                max_size=max(2, settings.db_pool_size),
                timeout=settings.db_pool_timeout_seconds,
                kwargs={"autocommit": True},
                configure=_configure,
                open=False,
                name="capital-hot-reads",
            )
            await pool.open()
            self.pool, self.url = pool, url
            return pool

    async def close(self) -> None:
        pool, self.pool = self.pool, None
        if pool is not None and self.loop is asyncio.get_running_loop():
            await pool.close()


_holder = _PoolHolder()


async def close_pool() -> None:
    """Close this process's pool (the API app's lifespan calls it on shutdown)."""
    await _holder.close()


async def tenant_read(organization_id: UUID, statements: Sequence[Statement]) -> list[list[Any]]:
    """Run `statements` in one READ ONLY transaction of this organization, pipelined:
    one round trip for BEGIN, the tenant setting, every statement and COMMIT. Returns
    each statement's rows, in order. Errors as the sync path's (503 when the pool is
    exhausted or the database unreachable)."""
    try:
        pool = await _holder.get()
        async with pool.connection() as conn, conn.pipeline():
            await conn.execute("BEGIN READ ONLY")
            await conn.execute(_TENANT.sql, {"org": str(organization_id)})
            cursors = []
            for s in statements:
                cursor = conn.cursor(row_factory=dict_row if s.mapping else tuple_row)
                await cursor.execute(s.sql, s.params)
                cursors.append(cursor)
            await conn.execute("COMMIT")
            return [await cursor.fetchall() for cursor in cursors]
    except PoolTimeout as error:
        raise DatabaseUnavailable(_BUSY) from error
    except psycopg.OperationalError as error:
        if _is_connection_error(error):
            raise DatabaseUnavailable(_UNREACHABLE) from error
        raise


async def tenant_snapshot_read(
    organization_id: UUID,
    statements: Sequence[Statement],
    then: Callable[[list[list[Any]]], Sequence[Statement]],
) -> tuple[list[list[Any]], list[list[Any]]]:
    """`statements`, then the statements `then` asks for given their rows, in one READ
    ONLY, REPEATABLE READ transaction of this organization (one snapshot, as the sync
    path's `tenant_transaction(snapshot=True)`): two round trips, the second only COMMIT
    when `then` asks for nothing. An exception from `then` ends the transaction and
    propagates. Returns both steps' rows."""
    try:
        pool = await _holder.get()
        async with pool.connection() as conn, conn.pipeline():
            await conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            await conn.execute(_TENANT.sql, {"org": str(organization_id)})
            first = [await cursor.fetchall() for cursor in await _send(conn, statements)]
            try:
                more = then(first)
            except BaseException:
                await conn.execute("COMMIT")
                raise
            cursors = await _send(conn, more)
            await conn.execute("COMMIT")
            return first, [await cursor.fetchall() for cursor in cursors]
    except PoolTimeout as error:
        raise DatabaseUnavailable(_BUSY) from error
    except psycopg.OperationalError as error:
        if _is_connection_error(error):
            raise DatabaseUnavailable(_UNREACHABLE) from error
        raise


async def _send(
    conn: psycopg.AsyncConnection[Any], statements: Sequence[Statement]
) -> list[psycopg.AsyncCursor[Any]]:
    cursors = []
    for s in statements:
        cursor = conn.cursor(row_factory=dict_row if s.mapping else tuple_row)
        await cursor.execute(s.sql, s.params)
        cursors.append(cursor)
    return cursors


def _is_connection_error(error: psycopg.Error) -> bool:
    sqlstate = error.sqlstate or ""
    return sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03") or not sqlstate
