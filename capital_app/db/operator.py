"""The few cross-tenant reads an operator command needs, made as the table owner."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text

from capital_app.db.engine import owner_engine


def list_organization_ids() -> list[tuple[UUID, str]]:
    engine = owner_engine()
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, name FROM organization ORDER BY name")).all()
        return [(r[0], r[1]) for r in rows]
    finally:
        engine.dispose()
