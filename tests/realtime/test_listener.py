"""The LISTEN connection against real PostgreSQL: what reaches subscribers, and when not."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from capital_app.db import history_repository as history
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain import rules
from capital_app.domain.values import Action
from capital_app.realtime.changes import OrganizationChange
from capital_app.realtime.listener import ChangeListener, ListenerState, ListenerTiming
from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from tests.realtime.conftest import FAST, Collector, owner_conninfo, raw_insert, start_listener
from tests.support.factories import Tenant, add_source

pytestmark = pytest.mark.anyio

QUIET = 0.3  # seconds to wait before concluding that nothing more arrives


def _is_resync(change: OrganizationChange) -> bool:
    return change.resync


async def _subscribed(listener: ChangeListener, tenant: Tenant) -> Collector:
    """A collector of the tenant's changes, past the resync every subscriber gets first."""
    collector = Collector()
    listener.subscribe(collector, tenant.org_id)
    return collector


async def test_a_committed_command_reaches_the_subscriber_with_its_revision(
    listener: ChangeListener, tenant: Tenant
) -> None:
    collector = await _subscribed(listener, tenant)
    actor = tenant.actor("EDITOR")

    source_id = await asyncio.to_thread(add_source, actor)
    revision = await asyncio.to_thread(queries.current_revision, actor)
    change = await collector.wait_for(lambda c: c.revision == revision)

    assert change == OrganizationChange(tenant.org_id, revision, entries=1, resync=False)
    result = await asyncio.to_thread(
        lambda: commands.update_amount(
            actor,
            source_id=source_id,
            available_cents=250_000_00,
            effective_date=datetime.now(UTC) - timedelta(days=1),
        )
    )
    later = await collector.wait_for(lambda c: c.revision == result.entry.revision)
    assert later.revision == revision + 1


async def test_a_rolled_back_insert_is_never_announced(
    listener: ChangeListener, tenant: Tenant
) -> None:
    collector = await _subscribed(listener, tenant)
    actor = tenant.actor("EDITOR")
    before = await asyncio.to_thread(queries.current_revision, actor)

    # As the runtime role, through the repository, inside a unit of work that fails.
    def insert_then_fail() -> None:
        planned = rules.PlannedEntry(
            source_id="rolled-back",
            sequence=1,
            action=Action.ADDED,
            effective_date=datetime.now(UTC) - timedelta(days=1),
            name="Never saved",
            annual_rate=Decimal("0.1"),
            available_cents=100_00,
            previous_rate=None,
            previous_amount=None,
            notes=None,
        )
        with tenant_transaction(tenant.org_id) as conn:
            history.claim_transaction_revision(conn, tenant.org_id)
            history.insert_entry(
                conn, tenant.org_id, planned, recorded_by=tenant.editor.id, created_by="x"
            )
            raise RuntimeError("fail after the insert")

    with pytest.raises(RuntimeError):
        await asyncio.to_thread(insert_then_fail)
    # As the owner, in plain SQL, rolled back.
    await asyncio.to_thread(raw_insert, tenant.org_id, commit=False)
    await asyncio.sleep(QUIET)
    assert collector.notified == []

    committed = await asyncio.to_thread(raw_insert, tenant.org_id)
    change = await collector.wait_for(lambda c: not c.resync)
    assert committed == before + 1  # the rolled-back revisions were never used
    assert change.revision == committed
    await asyncio.sleep(QUIET)
    assert [c.revision for c in collector.notified] == [committed]


async def test_a_raw_sql_insert_by_the_owner_reaches_the_subscriber(
    listener: ChangeListener, tenant: Tenant
) -> None:
    collector = await _subscribed(listener, tenant)

    revision = await asyncio.to_thread(raw_insert, tenant.org_id, sources=3)
    change = await collector.wait_for(lambda c: not c.resync)

    assert change == OrganizationChange(tenant.org_id, revision, entries=3)
    entries, current = await asyncio.to_thread(
        queries.changes_since, tenant.actor("VIEWER"), revision - 1
    )
    assert current == revision
    assert len(entries) == 3
    assert {e.created_by for e in entries} == {"sql"}


async def test_a_burst_of_commits_arrives_as_one_change_with_the_latest_revision(
    database_url: str, tenant: Tenant
) -> None:
    listener = await start_listener(
        ListenerTiming(debounce_seconds=0.25, backoff_initial_seconds=0.05)
    )
    try:
        collector = await _subscribed(listener, tenant)
        actor = tenant.actor("EDITOR")

        def five_commits() -> list[int]:
            revisions = []
            for _ in range(5):
                add_source(actor)
                revisions.append(queries.current_revision(actor))
            return revisions

        revisions = await asyncio.to_thread(five_commits)
        await collector.wait_for(lambda c: c.revision == revisions[-1])
        await asyncio.sleep(QUIET + 0.25)

        assert revisions == list(range(revisions[0], revisions[0] + 5))
        assert collector.notified == [OrganizationChange(tenant.org_id, revisions[-1], entries=5)]
        assert listener.status().notifications == 5
    finally:
        await listener.stop()


async def test_a_terminated_listener_reconnects_and_tells_subscribers_to_resync(
    database_url: str, tenant: Tenant
) -> None:
    # A long first backoff leaves time to commit while nobody listens.
    timing = ListenerTiming(backoff_initial_seconds=1.0, backoff_max_seconds=1.0)
    listener = ChangeListener(owner_conninfo, timing)
    collector = await _subscribed(listener, tenant)
    await listener.start()
    try:
        # Subscribed before the first connect: told to resync once it listens.
        await collector.wait_for(_is_resync)
        actor = tenant.actor("EDITOR")
        seen = await asyncio.to_thread(queries.current_revision, actor)
        first_pid = listener.status().backend_pid
        assert first_pid is not None

        with psycopg.connect(owner_conninfo(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first_pid,))
        await _wait_for_state(listener, ListenerState.RECONNECTING)
        # Committed during the outage: its notification is lost.
        await asyncio.to_thread(add_source, actor, "Made during the outage")

        resyncs_before = sum(c.resync for c in collector.changes)
        await collector.wait_for_count(_is_resync, 2)
        status = listener.status()
        assert status.state is ListenerState.CONNECTED
        assert status.reconnect_count == 1
        assert status.backend_pid not in (None, first_pid)
        assert resyncs_before == 1
        assert collector.notified == []  # nothing announced the outage's change...
        entries, _ = await asyncio.to_thread(queries.changes_since, actor, seen)
        assert [e.name for e in entries] == ["Made during the outage"]  # ...the resync finds it

        revision = await asyncio.to_thread(raw_insert, tenant.org_id)
        change = await collector.wait_for(lambda c: not c.resync)
        assert change.revision == revision  # and it listens again
    finally:
        await listener.stop()


async def test_organizations_are_isolated(
    listener: ChangeListener, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await _subscribed(listener, tenant)
    theirs = await _subscribed(listener, other_tenant)
    everyone = Collector()
    listener.subscribe(everyone)

    await asyncio.to_thread(add_source, other_tenant.actor("EDITOR"))
    await theirs.wait_for(lambda c: not c.resync)
    my_revision = await asyncio.to_thread(raw_insert, tenant.org_id)
    await mine.wait_for(lambda c: not c.resync)
    await asyncio.sleep(QUIET)

    assert [c.organization_id for c in mine.changes] == [tenant.org_id] * len(mine.changes)
    assert [c.revision for c in mine.notified] == [my_revision]
    assert {c.organization_id for c in theirs.changes} == {other_tenant.org_id}
    assert {c.organization_id for c in everyone.notified} == {
        tenant.org_id,
        other_tenant.org_id,
    }


async def test_an_unreachable_database_is_retried_with_backoff_and_reported(
    database_url: str,
) -> None:
    unreachable = "postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2"  # nobody there
    listener = ChangeListener(lambda: unreachable, FAST)
    await listener.start()
    try:
        for _ in range(100):
            if listener.status().failed_attempts >= 3:
                break
            await asyncio.sleep(0.05)
        status = listener.status()
        assert status.state is ListenerState.RECONNECTING
        assert status.failed_attempts >= 3
        assert status.last_error
        assert status.backend_pid is None
    finally:
        await listener.stop()
    assert listener.status().state is ListenerState.STOPPED


async def _wait_for_state(listener: ChangeListener, state: ListenerState) -> None:
    for _ in range(200):
        if listener.status().state is state:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"listener never became {state}: {listener.status()}")
