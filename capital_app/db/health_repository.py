"""The database reads behind the health check: a trivial query, the applied revision."""

from __future__ import annotations

from sqlalchemy import text

from capital_app.db.engine import get_engine, owner_engine


def ping() -> None:
    """One trivial query as the runtime role (raises when the database is unreachable)."""
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))


def owner_url() -> str:
    """Which database the owner's revision read goes to (a cache key)."""
    engine = owner_engine()
    try:
        return str(engine.url)
    finally:
        engine.dispose()


def applied_revision() -> str | None:
    """The migration revision applied (alembic_version is readable by the owner only)."""
    from alembic.runtime.migration import MigrationContext

    engine = owner_engine()
    try:
        with engine.connect() as conn:
            revision: str | None = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    return revision
