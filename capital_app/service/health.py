"""Is the database reachable, and is its schema at the migrations' head?

Used by `GET /api/health` (load balancers, `make run`, the browser-test harness).
Never raises: a health probe answers even when the database is down.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from capital_app.db import health_repository
from capital_app.db.engine import pool_status
from capital_app.db.migrations import alembic_config
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.service.actor import Actor, Permission, authorize

logger = logging.getLogger(__name__)

# Health probes need no sign-in, so each must not open an owner connection: the
# applied revision (readable by the owner only) is read at most once per this many
# seconds per process; the runtime role's `SELECT 1` runs on every probe (pooled).
REVISION_TTL_SECONDS = 10.0
_revision_lock = threading.Lock()
_revision_cache: tuple[float, str, str | None] | None = None  # (read at, owner url, revision)


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
    head = migration_head()
    try:
        health_repository.ping()
        revision = _applied_revision()
    except (SQLAlchemyError, OSError) as error:
        logger.warning("database health check failed: %s", str(error).splitlines()[0])
        return DatabaseHealth(reachable=False, revision=None, head=head)
    return DatabaseHealth(reachable=True, revision=revision, head=head)


def _applied_revision() -> str | None:
    """alembic_version is readable by the owner only (the runtime role has no grant)."""
    global _revision_cache
    url = health_repository.owner_url()
    with _revision_lock:  # concurrent probes wait for one read rather than each opening one
        cached = _revision_cache
        if cached and cached[1] == url and time.monotonic() - cached[0] < REVISION_TTL_SECONDS:
            return cached[2]
        revision = health_repository.applied_revision()
        _revision_cache = (time.monotonic(), url, revision)
        return revision


def pool_saturation() -> dict[str, int | float]:
    """This process's connection pool: size, maxOverflow, checkedOut, overflow, timeoutSeconds."""
    return pool_status()


def authorize_metrics_reader(actor: Actor) -> None:
    """An ADMIN (or an API key with the admin scope) may read /metrics; others: Forbidden."""
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.READ_METRICS)
