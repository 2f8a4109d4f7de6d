"""Transactions as the runtime role, with the tenant set first.

`set_config(..., true)` is transaction-local, so a pooled connection can never
carry one organization's tenant into another's transaction. With no tenant set,
every RLS policy compares against NULL and sees nothing: forgetting fails closed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from capital_app.db.engine import get_engine, owner_engine
from capital_app.domain.errors import ErrorKind, LedgerError


class DatabaseUnavailable(LedgerError):
    kind = ErrorKind.UNAVAILABLE
    title = "Database unavailable"


def _set_transaction_settings(conn: Connection, settings: dict[str, str]) -> None:
    """Open the transaction and set its settings in one round trip.

    psycopg starts the transaction (BEGIN) lazily with the first statement; in
    pipeline mode that BEGIN and the `set_config` go out together and are answered
    together, instead of waiting for each (a read used to pay two round trips here).
    An error (e.g. the server went away) is raised when the pipeline syncs, on exit.
    """
    names, values = list(settings), list(settings.values())
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.pipeline():
        raw.execute(
            "SELECT set_config(n, v, true) FROM unnest(%s::text[], %s::text[]) AS s(n, v)",
            (names, values),
        )


@contextmanager
def _transaction(
    read_only: bool, settings: dict[str, str], snapshot: bool = False
) -> Iterator[Connection]:
    try:
        with get_engine().connect() as conn:
            if read_only:
                conn = conn.execution_options(postgresql_readonly=True)
            if snapshot:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                _set_transaction_settings(conn, settings)
                yield conn
    except PoolTimeout as error:  # every pooled connection is in use (pool_timeout passed)
        raise DatabaseUnavailable(
            "The service is busy right now; nothing was changed. Try again in a few seconds."
        ) from error
    except OperationalError as error:
        if error.connection_invalidated or _is_connection_error(error):
            raise DatabaseUnavailable(
                "The database cannot be reached right now; nothing was changed. Try again shortly."
            ) from error
        raise


def _is_connection_error(error: DBAPIError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    return sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03") or not sqlstate


@contextmanager
def tenant_transaction(
    organization_id: UUID, *, read_only: bool = False, snapshot: bool = False
) -> Iterator[Connection]:
    """One unit of work inside one organization.

    `snapshot`: every statement sees the same snapshot (REPEATABLE READ), so several
    reads that must agree (a total and its rows, a revision and its data) do, even
    while others commit.
    """
    with _transaction(read_only, {"app.org_id": str(organization_id)}, snapshot) as conn:
        yield conn


@contextmanager
def login_transaction(email: str, client_address: str) -> Iterator[Connection]:
    """Before sign-in: may see only the user with this email and its login attempts."""
    settings = {"app.login_email": email, "app.login_client": client_address}
    with _transaction(False, settings) as conn:
        yield conn


@contextmanager
def organization_lookup_transaction(name: str) -> Iterator[Connection]:
    """For operators naming an organization: may see only the one with this name."""
    with _transaction(True, {"app.org_name": name.strip().lower()}) as conn:
        yield conn


@contextmanager
def api_key_lookup_transaction(secret_sha256: str) -> Iterator[Connection]:
    """Before the organization is known: may see only the API key with this hash."""
    with _transaction(True, {"app.api_key_hash": secret_sha256}) as conn:
        yield conn


@contextmanager
def owner_tenant_transaction(
    organization_id: UUID, *, read_only: bool = False
) -> Iterator[Connection]:
    """An operator's unit of work inside one organization, as the table owner.

    Only for what the runtime role may not do: rebuilding the projection, which the
    database otherwise maintains itself (and verifying it: `read_only` gives a
    READ ONLY, REPEATABLE READ transaction, one snapshot that can write nothing).
    """
    engine = owner_engine()
    try:
        with engine.connect() as conn:
            if read_only:
                conn = conn.execution_options(
                    postgresql_readonly=True, isolation_level="REPEATABLE READ"
                )
            with conn.begin():
                _set_transaction_settings(conn, {"app.org_id": str(organization_id)})
                yield conn
    finally:
        engine.dispose()


@contextmanager
def cross_tenant_ids_transaction() -> Iterator[Connection]:
    """No tenant: sees no table row; only SECURITY DEFINER functions that return ids
    (the webhook worker's `webhook_endpoints_due()`)."""
    with _transaction(True, {"app.org_id": ""}) as conn:
        yield conn
