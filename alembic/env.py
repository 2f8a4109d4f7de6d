"""Alembic runs as the database owner (DATABASE_URL, else the embedded server).

The owner creates tables, triggers, the runtime role, its grants and the RLS
policies; the app itself then works as the runtime role only.
"""

from __future__ import annotations

from sqlalchemy import create_engine, pool

from alembic import context
from capital_app.db.engine import owner_database_url
from capital_app.db.tables import metadata

config = context.config
target_metadata = metadata


def run_migrations_online() -> None:
    url = config.attributes.get("database_url") or owner_database_url()
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run `capital-app migrate`.")
run_migrations_online()
