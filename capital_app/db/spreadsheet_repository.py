"""SQL for the spreadsheet import's reads: the stored sources its rows name."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import Connection, text

from capital_app.db.history_repository import SOURCE_COLUMNS, state_from_row
from capital_app.domain.events import SourceState


def sources_named(conn: Connection, org: UUID, names: Sequence[str]) -> list[SourceState]:
    """Every source (active or removed) whose name is one of `names`, ignoring case."""
    if not names:
        return []
    rows = conn.execute(
        text(
            f"SELECT {SOURCE_COLUMNS} FROM capital_source s"
            " WHERE s.organization_id = :org"
            " AND lower(s.name) IN (SELECT lower(n) FROM unnest(CAST(:names AS text[])) AS n)"
        ),
        {"org": org, "names": sorted(set(names))},
    ).mappings()
    return [state_from_row(row) for row in rows]
