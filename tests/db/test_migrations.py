"""Migrations go up, down and up again, and the models agree with them."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, pool, text

from alembic import command
from capital_app.db.engine import sqlalchemy_url
from capital_app.db.tables import metadata
from capital_app.settings import PROJECT_ROOT
from tests.support.database import create_test_database, drop_test_database


def _config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = sqlalchemy_url(url)
    return config


def _tables(url: str) -> set[str]:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        names = set(
            conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
        )
    engine.dispose()
    return names


def test_upgrade_downgrade_upgrade(database_url):
    url = create_test_database("capital_migrations")
    try:
        config = _config(url)
        command.upgrade(config, "head")
        assert "capital_history" in _tables(url)
        command.downgrade(config, "base")
        assert _tables(url) == {"alembic_version"}
        command.upgrade(config, "head")
        assert set(metadata.tables) <= _tables(url)
    finally:
        drop_test_database(url)


def test_models_match_the_migrated_schema(database_url):
    engine = create_engine(sqlalchemy_url(os.environ["DATABASE_URL"]), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                # Indexes, constraints and defaults live in the hand-written migration only.
                "include_object": lambda obj, name, type_, reflected, compare_to: (
                    type_ in ("table", "column")
                ),
            },
        )
        differences = compare_metadata(context, metadata)
    engine.dispose()
    relevant = [
        d
        for d in differences
        if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")
    ]
    assert relevant == []
