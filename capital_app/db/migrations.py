"""The Alembic configuration of this checkout (migrations live beside the package)."""

from __future__ import annotations

from alembic.config import Config

from capital_app.settings import PROJECT_ROOT


def alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    return config
