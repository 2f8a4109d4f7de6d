"""Engines: the owner's (migrations only) and the runtime role's (everything else).

The runtime engine logs in as the login role (`<runtime role>_login`, no
superuser, no rights of its own) and switches every pooled connection to the
runtime role as soon as it is opened, so no query of the app ever runs with the
owner's rights: RLS and the grants apply even where Python forgets a filter, and
a `RESET ROLE` smuggled into SQL falls back to a role that can read nothing.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, pool

from capital_app.db.roles import login_role_name, runtime_role_name
from capital_app.observe.metrics import instrument_connection
from capital_app.settings import get_settings

_embedded_lock = threading.Lock()


def sqlalchemy_url(url: str) -> str:
    """Accept the usual `postgres://` / `postgresql://` spellings; use psycopg 3."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a PostgreSQL URL (postgresql://…)")


def libpq_url(url: str) -> str:
    """The same URL for plain psycopg / libpq (no SQLAlchemy driver suffix)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@lru_cache(maxsize=1)
def owner_database_url() -> str:
    """DATABASE_URL, else the embedded server (started on first use)."""
    settings = get_settings()
    if settings.database_url:
        return sqlalchemy_url(settings.database_url)
    with _embedded_lock:
        from capital_app.db.embedded import embedded_server_url

        return sqlalchemy_url(embedded_server_url(settings.data_dir))


def runtime_database_url() -> str:
    """CAPITAL_RUNTIME_DATABASE_URL, else the owner's server and database as the login role."""
    settings = get_settings()
    if settings.runtime_database_url:
        return sqlalchemy_url(settings.runtime_database_url)
    url = make_url(owner_database_url()).set(
        username=login_role_name(), password=settings.runtime_password
    )
    return url.render_as_string(hide_password=False)


def _enter_runtime_role(dbapi_connection: Any, _record: Any) -> None:
    role = runtime_role_name()
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {role}")
        cursor.execute("SET TIME ZONE 'UTC'")
    dbapi_connection.commit()
    instrument_connection(dbapi_connection)  # capital_db_statement_duration_seconds


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The pooled engine of the runtime role, sized for a small machine."""
    settings = get_settings()
    engine = create_engine(
        runtime_database_url(),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_pre_ping=True,
        pool_recycle=1800,
    )
    event.listen(engine, "connect", _enter_runtime_role)
    return engine


def pool_status() -> dict[str, int | float]:
    """How full this process's runtime pool is (for /api/health): `checkedOut` reaching
    `size` + `maxOverflow` means requests are being answered 503."""
    settings = get_settings()
    engine_pool = get_engine().pool
    assert isinstance(engine_pool, pool.QueuePool)
    return {
        "size": engine_pool.size(),
        "maxOverflow": settings.db_max_overflow,
        "checkedOut": engine_pool.checkedout(),
        "overflow": max(0, engine_pool.overflow()),
        "timeoutSeconds": settings.db_pool_timeout_seconds,
    }


def owner_engine() -> Engine:
    """An unpooled owner engine for migrations and operator tasks."""
    return create_engine(owner_database_url(), poolclass=pool.NullPool)


def reset_engines() -> None:
    """Forget cached engines (tests switch databases)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    owner_database_url.cache_clear()
