"""Catch-up reads shared by many sessions: one database read, every asker authorized."""

from __future__ import annotations

import asyncio

import pytest

from capital_app.realtime.shared_reads import SharedReads
from capital_app.service import history_queries as queries
from capital_app.service.actor import readers_among
from capital_app.service.errors import Unauthenticated
from capital_app.service.users import update_user
from tests.realtime.conftest import raw_insert
from tests.support.factories import Tenant

pytestmark = pytest.mark.anyio


async def test_many_askers_of_one_change_share_one_read_and_one_authorization(
    tenant: Tenant,
) -> None:
    before = await asyncio.to_thread(queries.current_revision, tenant.actor("VIEWER"))
    revision = await asyncio.to_thread(raw_insert, tenant.org_id, sources=2)
    reads = SharedReads()
    askers = [tenant.actor(role) for role in ("VIEWER", "EDITOR", "ADMIN") for _ in range(10)]

    answers = await asyncio.gather(*(reads.changes_since(a, before, revision) for a in askers))

    entries, current = answers[0]
    assert current == revision
    assert len(entries) == 2
    assert all(answer == answers[0] for answer in answers)
    assert reads.database_reads == 1
    assert reads.shared_hits == len(askers) - 1
    assert reads.reader_checks == 1  # the other 29 askers checked in one query


async def test_a_deactivated_user_is_refused_a_shared_answer(tenant: Tenant) -> None:
    before = await asyncio.to_thread(queries.current_revision, tenant.actor("VIEWER"))
    revision = await asyncio.to_thread(raw_insert, tenant.org_id)
    await asyncio.to_thread(
        lambda: update_user(tenant.actor("ADMIN"), tenant.viewer.id, active=False)
    )
    reads = SharedReads()

    first = await reads.changes_since(tenant.actor("EDITOR"), before, revision)
    with pytest.raises(Unauthenticated):
        await reads.changes_since(tenant.actor("VIEWER"), before, revision)
    # ...and when the deactivated user asks first, the others still get their answer.
    later = await asyncio.to_thread(raw_insert, tenant.org_id)
    results = await asyncio.gather(
        reads.changes_since(tenant.actor("VIEWER"), revision, later),
        reads.changes_since(tenant.actor("ADMIN"), revision, later),
        return_exceptions=True,
    )
    assert isinstance(results[0], Unauthenticated)
    assert results[1][1] == later
    assert first[1] == revision


async def test_organizations_never_share_an_answer(tenant: Tenant, other_tenant: Tenant) -> None:
    mine = await asyncio.to_thread(raw_insert, tenant.org_id)
    theirs = await asyncio.to_thread(raw_insert, other_tenant.org_id)
    reads = SharedReads()

    (my_entries, _), (their_entries, _) = await asyncio.gather(
        reads.changes_since(tenant.actor("VIEWER"), 0, mine),
        reads.changes_since(other_tenant.actor("VIEWER"), 0, theirs),
    )

    assert reads.database_reads == 2
    assert {e.organization_id for e in my_entries} == {tenant.org_id}
    assert {e.organization_id for e in their_entries} == {other_tenant.org_id}


async def test_a_newer_revision_reads_again_and_a_resync_always_reads(tenant: Tenant) -> None:
    viewer = tenant.actor("VIEWER")
    first = await asyncio.to_thread(raw_insert, tenant.org_id)
    reads = SharedReads()
    await reads.changes_since(viewer, 0, first)
    second = await asyncio.to_thread(raw_insert, tenant.org_id)

    entries, current = await reads.changes_since(viewer, 0, second)
    assert current == second and len(entries) == 2
    await reads.changes_since(viewer, 0, None)
    await reads.changes_since(viewer, 0, None)
    assert reads.database_reads == 4


def test_readers_among_names_only_active_users_of_the_organization(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    update_user(tenant.actor("ADMIN"), tenant.editor.id, active=False)
    ids = [tenant.admin.id, tenant.editor.id, tenant.viewer.id, other_tenant.viewer.id]
    assert readers_among(tenant.org_id, ids) == {tenant.admin.id, tenant.viewer.id}
    assert readers_among(tenant.org_id, []) == frozenset()
