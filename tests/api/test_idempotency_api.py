"""Idempotency-Key: a retried command writes once and answers the same."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.api.helpers import assert_problem, day, snapshot
from tests.support.factories import add_source

ADD = "/api/capital-history/add-source"


def _body(name="Idempotent loan", when=None):
    return {
        "source": {"name": name, "annualRate": 0.1325, "availableCents": 500},
        "effectiveDate": when or "2026-03-01",
    }


def test_a_replay_returns_the_first_answer_and_writes_nothing(api, tenant):
    client = api.as_user(tenant.editor)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post(ADD, json=_body(), headers=key)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    again = client.post(ADD, json=_body(), headers=key)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(snapshot(tenant)["history"]) == 1


def test_the_same_meaning_written_differently_is_a_replay(api, tenant):
    client = api.as_user(tenant.editor)
    key = {"Idempotency-Key": "retry-42"}
    first = client.post(ADD, json=_body(), headers=key)
    reordered = {
        "effectiveDate": "2026-03-01T00:00:00Z",
        "source": {"availableCents": 500, "annualRate": 0.13250, "name": "  Idempotent loan "},
    }
    again = client.post(ADD, json=reordered, headers=key)
    assert again.status_code == 201 and again.json() == first.json()


def test_the_same_key_with_another_body_is_409(api, tenant):
    client = api.as_user(tenant.editor)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    assert client.post(ADD, json=_body(), headers=key).status_code == 201
    assert_problem(client.post(ADD, json=_body(name="Other"), headers=key), 409)
    source = add_source(tenant.actor(), days=5)
    other_command = {"sourceId": source, "effectiveDate": day(1)}
    assert_problem(
        client.post("/api/capital-history/remove-source", json=other_command, headers=key), 409
    )
    assert len(snapshot(tenant)["history"]) == 2  # the first add and the factory's source


def test_keys_belong_to_one_organization(api, tenant, other_tenant):
    key = {"Idempotency-Key": "shared-key-1"}
    mine = api.as_user(tenant.editor).post(ADD, json=_body(), headers=key)
    theirs = api.as_user(other_tenant.editor).post(ADD, json=_body(), headers=key)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["sourceId"] != theirs.json()["sourceId"]


def test_twenty_concurrent_replays_write_exactly_one_entry(api, tenant):
    source = add_source(tenant.actor(), cents=100, days=10)
    token = api.token(tenant.editor)
    key = str(uuid.uuid4())
    body = {"sourceId": source, "availableCents": 777, "effectiveDate": day(1)}

    def send(_: int):
        with api.client(token=token) as client:
            return client.post(
                "/api/capital-history/update-amount", json=body, headers={"Idempotency-Key": key}
            )

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(send, range(20)))
    assert [a.status_code for a in answers] == [201] * 20, [a.text for a in answers]
    entry_ids = {a.json()["entry"]["id"] for a in answers}
    assert len(entry_ids) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 19
    history = snapshot(tenant)["history"]
    assert [e.sequence for e in history if e.source_id == source] == [1, 2]


def test_a_failed_first_attempt_does_not_burn_the_key(api, tenant):
    client = api.as_user(tenant.editor)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    assert_problem(client.post(ADD, json=_body(when=day(-1)), headers=key), 422, "effectiveDate")
    assert client.post(ADD, json=_body(), headers=key).status_code == 201
