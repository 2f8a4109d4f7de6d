"""Is the database there for the app? Checked the way the app uses it: as the runtime role."""

from __future__ import annotations

from sqlalchemy import text

from capital_app.db.engine import get_engine


def ping() -> None:
    """One round trip through the runtime pool; raises when the database cannot be used."""
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
