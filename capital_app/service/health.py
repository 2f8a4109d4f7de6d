"""The backend's own health, for load balancers and operators (no sign-in needed).

Reports facts only — whether the database answers and which migration it is at —
never an error message, which could carry connection details.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from capital_app.db import health as db_health
from capital_app.db import migrations

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DatabaseHealth:
    reachable: bool
    applied_migration: str | None
    head_migration: str | None

    @property
    def at_head(self) -> bool:
        return self.reachable and self.applied_migration == self.head_migration

    @property
    def healthy(self) -> bool:
        return self.reachable and self.at_head


def database_health() -> DatabaseHealth:
    head = migrations.head_revision()
    try:
        db_health.ping()
        applied = migrations.applied_revision()
    except Exception:  # any failure means "not usable"; the log says why
        logger.warning("health check: database not usable", exc_info=True)
        return DatabaseHealth(reachable=False, applied_migration=None, head_migration=head)
    return DatabaseHealth(reachable=True, applied_migration=applied, head_migration=head)
