"""The projection is derived data: a rebuild from history restores it exactly."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text

from capital_app.db.engine import owner_engine
from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from capital_app.service.projections import rebuild_projections
from tests.support.factories import add_source, days_ago


def test_rebuild_repairs_a_damaged_projection(tenant):
    editor = tenant.actor()
    sid = add_source(editor, cents=500_00, rate="0.1", days=20)
    commands.update_rate(
        editor, source_id=sid, annual_rate=Decimal("0.2"), effective_date=days_ago(10)
    )
    gone = add_source(editor, name="Gone", days=20)
    commands.remove_source(editor, source_id=gone, effective_date=days_ago(5))
    before = queries.get_source(editor, sid), queries.get_source(editor, gone)

    engine = owner_engine()
    with engine.begin() as conn:  # simulate a bug or a bad manual fix
        conn.execute(
            text(
                "UPDATE capital_source SET available_cents = 1, annual_rate = 0.5, latest_sequence = 9"
                " WHERE organization_id = :org AND source_id = :sid"
            ),
            {"org": tenant.org_id, "sid": sid},
        )
        conn.execute(
            text(
                "UPDATE capital_source SET status = 'ACTIVE', removed_date = NULL"
                " WHERE organization_id = :org AND source_id = :sid"
            ),
            {"org": tenant.org_id, "sid": gone},
        )
    engine.dispose()
    assert queries.get_source(editor, sid).available_cents == 1

    report = rebuild_projections(tenant.org_id)
    assert (report.sources, report.corrected) == (2, 2)
    assert (queries.get_source(editor, sid), queries.get_source(editor, gone)) == before
    assert rebuild_projections(tenant.org_id).corrected == 0
