"""The Alembic configuration of this checkout (migrations live beside the package)."""

from __future__ import annotations

from alembic.config import Config

from alembic import command
from capital_app.db import roles
from capital_app.db.engine import owner_engine
from capital_app.settings import PROJECT_ROOT, get_settings


def alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    return config


def set_login_password() -> None:
    """Give the runtime login role this installation's password (after migrating), unless
    the operator connects the runtime pool with a URL of their own."""
    settings = get_settings()
    if settings.runtime_database_url:
        return
    engine = owner_engine()
    try:
        with engine.begin() as conn:
            roles.set_login_password(conn, settings.runtime_password)
    finally:
        engine.dispose()


def upgrade_to_head(revision: str = "head") -> None:
    """alembic upgrade head (or to `revision`; idempotent), then the login role's password."""
    command.upgrade(alembic_config(), revision)
    set_login_password()


def known_revisions() -> set[str]:
    """Every migration id this checkout has."""
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def migrate_database() -> None:
    """alembic upgrade head (idempotent), then the runtime role's password."""
    upgrade_to_head("head")
