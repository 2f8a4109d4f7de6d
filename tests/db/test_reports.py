"""The people-facing reports agree with the fold, respect the view's moment and the tenant."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from capital_app.db import history_repository as history
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.fold import active_states, fold
from capital_app.domain.values import Action
from capital_app.domain.wacc import wacc_of
from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from capital_app.service import reports
from capital_app.service.errors import InvalidInput, NotFound, Unauthenticated
from capital_app.service.users import update_user
from tests.support.factories import add_source, days_ago


def _pause() -> datetime:
    time.sleep(0.01)
    moment = datetime.now(UTC)
    time.sleep(0.01)
    return moment


def _history(tenant):
    editor = tenant.actor()
    loan = add_source(editor, "KCB term loan", 250_000_000_00, "0.14", days=100)
    equity = add_source(editor, "Founder equity", 150_000_000_00, "0.22", days=90)
    commands.update_rate(
        editor, source_id=loan, annual_rate=Decimal("0.1325"), effective_date=days_ago(40)
    )
    before_correction = _pause()
    commands.update_amount(
        editor, source_id=loan, available_cents=200_000_000_00, effective_date=days_ago(60)
    )
    commands.remove_source(editor, source_id=equity, effective_date=days_ago(10))
    return loan, equity, before_correction


def _fold_summary(tenant, as_of=None, known_at=None):
    entries = queries.list_history(tenant.actor("VIEWER"), limit=1000).entries
    states = active_states(fold(entries, as_of, known_at))
    return wacc_of((s.available_cents, s.annual_rate) for s in states)


def test_dashboard_summary_matches_the_fold_now_in_the_past_and_as_known_earlier(tenant):
    loan, _, before_correction = _history(tenant)
    viewer = tenant.actor("VIEWER")

    now = reports.dashboard_summary(viewer)
    assert now.moment.current
    assert [s.source_id for s in now.sources] == [loan]
    assert now.summary == _fold_summary(tenant)
    assert now.summary.wacc == Decimal("0.1325")
    # 30 days ago equity was still there: the change is against that.
    assert now.earlier == _fold_summary(tenant, days_ago(30))
    assert now.earlier.source_count == 2

    past = reports.dashboard_summary(viewer, as_of=days_ago(50), known_at=before_correction)
    assert not past.moment.current
    assert past.summary == _fold_summary(tenant, days_ago(50), before_correction)
    assert {s.name: s.available_cents for s in past.sources} == {
        "KCB term loan": 250_000_000_00,
        "Founder equity": 150_000_000_00,
    }


def test_recent_activity_is_newest_recorded_first_limited_and_respects_the_view(tenant):
    _, _, before_correction = _history(tenant)
    viewer = tenant.actor("VIEWER")

    now = reports.dashboard_summary(viewer, recent=3)
    assert [e.action for e in now.recent] == [
        Action.REMOVED,
        Action.AMOUNT_CHANGED,
        Action.RATE_CHANGED,
    ]
    assert now.names[str(tenant.editor.id)] == tenant.editor.name

    earlier = reports.dashboard_summary(viewer, known_at=before_correction)
    assert [e.action for e in earlier.recent] == [Action.RATE_CHANGED, Action.ADDED, Action.ADDED]
    # Effective after the as-of date: not part of that day's picture.
    old = reports.dashboard_summary(viewer, as_of=days_ago(95))
    assert [e.name for e in old.recent] == ["KCB term loan"]


def test_history_starts_at_the_earliest_effective_date(tenant):
    editor = tenant.actor()
    add_source(editor, "Later", days=5)
    add_source(editor, "Earliest", days=400)
    summary = reports.dashboard_summary(editor)
    first = queries.list_history(editor, order="effective", limit=1).entries[0]
    assert summary.history_starts == first.effective_date


def test_history_view_pages_filters_and_counts_as_known_at_a_moment(tenant):
    loan, _, before_correction = _history(tenant)
    viewer = tenant.actor("VIEWER")

    first = reports.history_view(viewer, limit=2, with_total=True, with_sources=True)
    assert first.total == 5
    assert [o.name for o in first.sources] == ["Founder equity", "KCB term loan"]
    assert [o.active for o in first.sources] == [False, True]
    second = reports.history_view(viewer, limit=2, cursor=first.next_cursor)
    third = reports.history_view(viewer, limit=2, cursor=second.next_cursor)
    assert third.next_cursor is None
    seen = [e.id for e in first.entries + second.entries + third.entries]
    assert len(set(seen)) == 5
    recorded = [e.created_at for e in first.entries + second.entries + third.entries]
    assert recorded == sorted(recorded, reverse=True)

    known = reports.history_view(viewer, known_at=before_correction, with_total=True)
    assert known.total == 3
    rates = reports.history_view(
        viewer, source_id=loan, action=Action.RATE_CHANGED, with_total=True
    )
    assert rates.total == 1
    assert rates.entries[0].previous_rate == Decimal("0.14")
    as_of = reports.history_view(viewer, as_of=days_ago(50), with_total=True)
    assert as_of.total == 3  # two additions and the backdated amount change


def test_history_view_refuses_bad_paging(tenant):
    with pytest.raises(InvalidInput):
        reports.history_view(tenant.actor(), limit=0)
    with pytest.raises(InvalidInput):
        reports.history_view(tenant.actor(), order="sideways")
    with pytest.raises(InvalidInput):
        reports.history_view(tenant.actor(), cursor="not-a-cursor")


def test_source_list_has_removed_sources_now_and_only_active_ones_in_the_past(tenant):
    loan, equity, _ = _history(tenant)
    viewer = tenant.actor("VIEWER")
    now = reports.source_list(viewer)
    assert [(s.source_id, s.active) for s in now.sources] == [(loan, True), (equity, False)]
    assert now.total_cents == 200_000_000_00
    past = reports.source_list(viewer, as_of=days_ago(20))
    assert {s.source_id for s in past.sources} == {loan, equity}
    assert past.total_cents == 350_000_000_00


def test_source_detail_timeline_terms_and_share(tenant):
    loan, equity, before_correction = _history(tenant)
    viewer = tenant.actor("VIEWER")
    detail = reports.source_detail(viewer, loan)
    assert detail.line is not None and detail.line.available_cents == 200_000_000_00
    assert [e.action for e in detail.entries] == [
        Action.RATE_CHANGED,
        Action.AMOUNT_CHANGED,
        Action.ADDED,
    ]
    assert detail.total_cents == 200_000_000_00

    earlier = reports.source_detail(viewer, loan, as_of=days_ago(50), known_at=before_correction)
    assert earlier.line is not None and earlier.line.available_cents == 250_000_000_00
    assert [e.action for e in earlier.entries] == [Action.ADDED]
    assert earlier.total_cents == 400_000_000_00
    assert earlier.current.available_cents == 200_000_000_00  # what an edit starts from

    removed = reports.source_detail(viewer, equity)
    assert removed.line is not None and not removed.line.active
    assert reports.source_detail(viewer, equity, as_of=days_ago(95)).line is None


def test_reports_never_cross_tenants_and_need_an_active_user(tenant, other_tenant):
    loan = add_source(tenant.actor(), "Ours")
    with pytest.raises(NotFound):
        reports.source_detail(other_tenant.actor("VIEWER"), loan)
    assert reports.dashboard_summary(other_tenant.actor()).sources == []
    assert reports.history_view(other_tenant.actor(), with_total=True).total == 0
    update_user(tenant.actor("ADMIN"), tenant.viewer.id, active=False)
    with pytest.raises(Unauthenticated):
        reports.dashboard_summary(tenant.actor("VIEWER"))


def test_revision_moves_with_each_write(tenant):
    editor = tenant.actor()
    before = reports.dashboard_summary(editor).revision
    add_source(editor)
    after = reports.dashboard_summary(editor).revision
    assert after == before + 1
    assert reports.history_view(editor).revision == after
    assert reports.source_list(editor).revision == after


def test_a_snapshot_transaction_does_not_see_commits_made_while_it_reads(tenant):
    editor = tenant.actor()
    add_source(editor, "First")
    org = tenant.org_id
    for snapshot, sees_the_commit in ((True, False), (False, True)):
        with tenant_transaction(org, read_only=True, snapshot=snapshot) as conn:
            before = history.current_revision(conn, org)
            count = len(history.current_sources(conn, org))
            add_source(editor)  # commits on another connection meanwhile
            after = history.current_revision(conn, org)
            assert (after != before) is sees_the_commit
            assert (len(history.current_sources(conn, org)) != count) is sees_the_commit
