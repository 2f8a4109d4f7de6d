"""Service additions made for the API: health, unknown-source filter, odd sign-in input."""

from __future__ import annotations

import pytest

from capital_app.db import migrations
from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from capital_app.service.authentication import authenticate
from capital_app.service.errors import AuthenticationFailed, InvalidInput, NotFound
from capital_app.service.health import database_health
from capital_app.service.history_commands import IdempotencyRequest
from tests.support.factories import add_source, days_ago


def test_database_health_reports_the_applied_migration(database_url):
    health = database_health()
    assert health.reachable and health.healthy
    assert health.applied_migration == migrations.head_revision() == "0001"


def test_filtering_by_an_unknown_source_is_not_found(tenant, other_tenant):
    theirs = add_source(other_tenant.actor())
    with pytest.raises(NotFound):
        queries.list_history(tenant.actor("VIEWER"), source_id=theirs)
    with pytest.raises(NotFound):
        queries.list_history(tenant.actor("VIEWER"), source_id="src_missing")
    mine = add_source(tenant.actor())
    page = queries.list_history(tenant.actor("VIEWER"), source_id=mine)
    assert [e.source_id for e in page.entries] == [mine]


@pytest.mark.parametrize("email", ["", "   ", "a\x00@b.test", "x\ud800@y.test"])
def test_sign_in_with_an_unstorable_or_empty_email_fails_cleanly(database_url, email):
    with pytest.raises(AuthenticationFailed):
        authenticate(email, "whatever password", "127.0.0.1")


def test_a_malformed_idempotency_key_is_refused_before_anything_is_written(tenant):
    with pytest.raises(InvalidInput):
        commands.add_source(
            tenant.actor(),
            name="Loan",
            annual_rate=1,
            available_cents=5,
            effective_date=days_ago(1),
            idempotency=IdempotencyRequest("has space", "f" * 64),
        )
    assert queries.list_history(tenant.actor()).entries == []
