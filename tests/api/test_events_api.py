"""The change feed over a real server: replay equals history, SSE resumes exactly."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx

from capital_app.service import api_keys
from capital_app.service import history_commands as commands
from tests.api.conftest import Api
from tests.api.helpers import assert_problem, seed_history
from tests.api.test_import_export_api import fixture_bytes, post_import
from tests.support.factories import PASSWORD, Tenant, add_source, days_ago

STREAM = "/api/events/stream"


def _all_pages(client: httpx.Client, url: str) -> tuple[list[dict], int]:
    """Every event, following Link: rel=next; and how many pages that took."""
    events: list[dict] = []
    pages = 0
    while url:
        answer = client.get(url)
        assert answer.status_code == 200, answer.text
        events.extend(answer.json())
        pages += 1
        found = re.match(r'<([^>]+)>; rel="next"', answer.headers.get("link", ""))
        url = found.group(1) if found else ""
    return events, pages


def _history_ids(client: httpx.Client) -> list[str]:
    return [e["id"] for e in client.get("/api/capital-history").json()]


def test_feed_replay_equals_the_history_in_commit_order(
    api: Api, tenant: Tenant, other_tenant: Tenant
) -> None:
    seed_history(tenant)  # six transactions, one entry each
    editor = api.as_user(tenant.editor)
    assert post_import(editor, fixture_bytes("demo-export.json")).status_code == 200  # one, many
    add_source(other_tenant.actor(), name="Not yours")
    viewer = api.as_user(tenant.viewer)

    events, pages = _all_pages(viewer, "/api/events?limit=7")
    history = _history_ids(viewer)
    assert len(history) > 14 and pages == -(-len(history) // 7)
    assert sorted(e["entry"]["id"] for e in events) == sorted(history)  # every one, once
    positions = [(e["revision"], e["entry"]["sourceId"], e["entry"]["sequence"]) for e in events]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert {e["entry"]["organizationId"] for e in events} == {str(tenant.org_id)}
    revisions = [e["revision"] for e in events]
    assert len(set(revisions)) == 7  # the import's entries share one revision
    whole = viewer.get("/api/events", params={"limit": 1000})
    assert "link" not in whole.headers and whole.json() == events
    assert int(whole.headers["capital-revision"]) == revisions[-1]

    # after=<revision>: exactly what was written after it.
    middle = revisions[3]
    after, _ = _all_pages(viewer, f"/api/events?after={middle}&limit=4")
    assert after == [e for e in events if e["revision"] > middle]
    # cursor=<eventId>: exactly what follows that event (also inside one revision).
    cut = next(i for i, e in enumerate(events) if e["revision"] == revisions[-1]) + 3
    resumed, _ = _all_pages(viewer, f"/api/events?cursor={events[cut]['eventId']}")
    assert resumed == events[cut + 1 :]
    assert viewer.get("/api/events", params={"after": revisions[-1]}).json() == []

    # The other organization's feed has its own entry only.
    theirs = api.as_user(other_tenant.viewer).get("/api/events").json()
    assert [e["entry"]["name"] for e in theirs] == ["Not yours"]


def test_feed_bad_input_is_a_problem(api: Api, tenant: Tenant) -> None:
    viewer = api.as_user(tenant.viewer)
    assert_problem(viewer.get("/api/events", params={"after": -1}), 422, "after")
    assert_problem(viewer.get("/api/events", params={"limit": 0}), 422, "limit")
    assert_problem(viewer.get("/api/events", params={"cursor": "not-an-event"}), 422, "cursor")
    assert_problem(viewer.get(STREAM, headers={"Last-Event-ID": "garbage"}), 422, "cursor")


def _sse_events(lines: Iterator[str]) -> Iterator[dict]:
    """Parsed SSE events (id, event, data) in the order sent; comments are skipped."""
    current: dict[str, str] = {}
    for line in lines:
        if line == "":
            if current:
                yield current
            current = {}
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            current[name] = value[1:] if value.startswith(" ") else value


def _read(events: Iterator[dict], count: int) -> list[dict]:
    out = []
    while len(out) < count:
        event = next(events)
        if event.get("event") == "history-entry":
            out.append(event)
    return out


def _entry_id(event: dict) -> str:
    import json

    return json.loads(event["data"])["entry"]["id"]


def _change(tenant: Tenant, source: str, cents: int) -> str:
    return commands.update_amount(
        tenant.actor(), source_id=source, available_cents=cents, effective_date=days_ago(1)
    ).entry.id


def test_sse_resumes_after_a_disconnect_with_exactly_the_missed_events(
    api: Api, tenant: Tenant, other_tenant: Tenant
) -> None:
    source = add_source(tenant.actor(), days=10)
    first = _change(tenant, source, 1_000_00)
    theirs = add_source(other_tenant.actor(), days=10)
    viewer = api.as_user(tenant.viewer)
    timeout = httpx.Timeout(30, read=20)

    with viewer.stream("GET", STREAM, params={"after": 0}, timeout=timeout) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        events = _sse_events(answer.iter_lines())
        got = _read(events, 2)
        assert _entry_id(got[1]) == first
        live = _change(tenant, source, 2_000_00)  # committed while connected: pushed
        _change(other_tenant, theirs, 5_000_00)  # another organization's: never here
        (pushed,) = _read(events, 1)
        assert _entry_id(pushed) == live
        last_seen = pushed["id"]

    missed = [_change(tenant, source, 3_000_00 + i) for i in range(3)]  # while disconnected
    _change(other_tenant, theirs, 6_000_00)
    headers = {"Last-Event-ID": last_seen}
    with viewer.stream("GET", STREAM, headers=headers, timeout=timeout) as answer:
        assert answer.status_code == 200
        events = _sse_events(answer.iter_lines())
        assert [_entry_id(e) for e in _read(events, 3)] == missed
        after = _change(tenant, source, 9_000_00)
        # The next event is the new one: nothing repeated, nothing of the other tenant.
        assert [_entry_id(e) for e in _read(events, 1)] == [after]


def test_feed_and_stream_need_a_reader(api: Api, tenant: Tenant) -> None:
    anonymous = api.client()
    assert_problem(anonymous.get("/api/events"), 401)
    assert_problem(anonymous.get(STREAM), 401)
    created = api_keys.create_key(tenant.actor("ADMIN"), name="BI tool", scopes=["read"])
    add_source(tenant.actor(), days=5)
    reader = api.client(token=created.secret)
    answer = reader.get("/api/events")
    assert answer.status_code == 200 and len(answer.json()) == 1
    with reader.stream("GET", STREAM, params={"after": 0}, timeout=20) as streamed:
        assert streamed.status_code == 200
        (event,) = _read(_sse_events(streamed.iter_lines()), 1)
        assert _entry_id(event) == answer.json()[0]["entry"]["id"]
    api_keys.revoke_key(tenant.actor("ADMIN"), created.key.id)
    assert_problem(reader.get("/api/events"), 401)
    assert_problem(reader.get(STREAM), 401)


def _open_and_close(client: httpx.Client) -> None:
    """One stream opened, read a little and closed. The server notices the disconnect
    a moment later; until then its slot may still be taken (so retry for a while)."""
    deadline = time.monotonic() + 10
    while True:
        with client.stream("GET", STREAM, timeout=20) as answer:
            if answer.status_code == 200:
                assert next(answer.iter_lines()).startswith("retry:")
                return
            assert answer.status_code == 429 and time.monotonic() < deadline
        time.sleep(0.1)


def test_streams_are_capped_per_user_and_give_their_slot_back(api: Api, tenant: Tenant) -> None:
    viewer = api.as_user(tenant.viewer)
    for _ in range(3):  # more than the cap, one after another: each slot comes back
        _open_and_close(viewer)
    editor = api.as_user(tenant.editor)  # its own slots: none is still being given back
    with editor.stream("GET", STREAM, timeout=20) as one:
        with editor.stream("GET", STREAM, timeout=20) as two:
            assert one.status_code == two.status_code == 200
            refused = editor.get(STREAM)
            body = assert_problem(refused, 429)
            assert int(refused.headers["retry-after"]) > 0 and body["retryAfter"] > 0


def test_each_api_key_has_stream_slots_of_its_own(api: Api, tenant: Tenant) -> None:
    admin = tenant.actor("ADMIN")
    first = api.client(token=api_keys.create_key(admin, name="ERP", scopes=["read"]).secret)
    second = api.client(token=api_keys.create_key(admin, name="BI", scopes=["read"]).secret)
    with first.stream("GET", STREAM, timeout=20) as one:
        with first.stream("GET", STREAM, timeout=20) as two:
            assert one.status_code == two.status_code == 200
            assert_problem(first.get(STREAM), 429)  # this key's two are taken
            with second.stream("GET", STREAM, timeout=20) as other:
                assert other.status_code == 200  # the same ADMIN's other key: its own


def test_a_key_revoked_while_streaming_ends_its_stream(api: Api, tenant: Tenant) -> None:
    admin = tenant.actor("ADMIN")
    created = api_keys.create_key(admin, name="Mobile", scopes=["read"])
    source = add_source(tenant.actor(), days=3)
    client = api.client(token=created.secret)
    with client.stream("GET", STREAM, params={"after": 0}, timeout=20) as answer:
        events = _sse_events(answer.iter_lines())
        _read(events, 1)
        api_keys.revoke_key(admin, created.key.id)
        _change(tenant, source, 7_000_00)  # wakes the stream: it re-reads, as the key
        rest = list(events)  # the server ends the stream
    assert [e.get("event") for e in rest] == ["error"]
    assert "not valid" in rest[0]["data"] or "revoked" in rest[0]["data"].lower()


def test_a_stream_ends_at_its_deadline_and_resumes_without_gaps(
    database_url: str, tenant: Tenant
) -> None:
    from tests.support.api_server import start_api_server

    server = start_api_server(
        {"CAPITAL_STREAM_MAX_SECONDS": "2", "CAPITAL_EVENT_STREAM_HEARTBEAT_SECONDS": "0.5"}
    )
    try:
        token = httpx.post(
            f"{server.base_url}/api/auth/token",
            json={"email": tenant.viewer.email, "password": PASSWORD},
        ).json()["accessToken"]
        client = httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=20
        )
        source = add_source(tenant.actor(), days=3)
        with client.stream("GET", STREAM, params={"after": 0}) as answer:
            lines = list(answer.iter_lines())  # ends by itself after about 2 s
        assert any(line == ": keep-alive" for line in lines)  # heartbeats while quiet
        seen = [e for e in _sse_events(iter(lines)) if e.get("event") == "history-entry"]
        assert len(seen) == 1
        missed = _change(tenant, source, 8_000_00)
        with client.stream("GET", STREAM, headers={"Last-Event-ID": seen[-1]["id"]}) as again:
            (event,) = _read(_sse_events(again.iter_lines()), 1)
        assert _entry_id(event) == missed
    finally:
        server.stop()
