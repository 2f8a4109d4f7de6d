"""Is the database reachable, and is its schema at the migrations' head?

Used by `GET /api/health` (load balancers, `make run`, the browser-test harness).
Never raises: a health probe answers even when the database is down.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from capital_app.db.engine import get_engine, owner_engine, pool_status
from capital_app.db.migrations import alembic_config
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.service.actor import Actor, Permission, authorize

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DatabaseHealth:
    reachable: bool
    revision: str | None
    head: str | None

    @property
    def up_to_date(self) -> bool:
        return self.reachable and self.revision is not None and self.revision == self.head


def migration_head() -> str | None:
    """The newest revision among the migration scripts shipped with the code."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def database_health() -> DatabaseHealth:
    """One trivial query as the runtime role, then the applied revision (as the owner)."""
    from alembic.runtime.migration import MigrationContext

    head = migration_head()
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        # alembic_version is readable by the owner only (the runtime role has no grant).
        engine = owner_engine()
        try:
            with engine.connect() as conn:
                revision = MigrationContext.configure(conn).get_current_revision()
        finally:
            engine.dispose()
    except (SQLAlchemyError, OSError) as error:
        logger.warning("database health check failed: %s", str(error).splitlines()[0])
        return DatabaseHealth(reachable=False, revision=None, head=head)
    return DatabaseHealth(reachable=True, revision=revision, head=head)


def pool_saturation() -> dict[str, int | float]:
    """This process's connection pool: size, maxOverflow, checkedOut, overflow, timeoutSeconds."""
    return pool_status()


def authorize_metrics_reader(actor: Actor) -> None:
    """An ADMIN (or an API key with the admin scope) may read /metrics; others: Forbidden."""
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.READ_METRICS)
