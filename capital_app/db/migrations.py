"""Where the schema stands: the migration head in the code, the one applied in the database."""

from __future__ import annotations

from functools import lru_cache

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from capital_app.db.engine import owner_engine
from capital_app.settings import PROJECT_ROOT


def alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    return config


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration this code ships (files do not change while it runs)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def applied_revision() -> str | None:
    """The migration the database is at, read as the owner (alembic_version is not
    granted to the runtime role); None when no migration was ever applied."""
    engine = owner_engine()
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) == "42P01":  # undefined_table
            return None
        raise
    finally:
        engine.dispose()
