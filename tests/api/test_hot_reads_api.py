"""The hot reads on the event loop (service/hot_reads.py) over real servers.

One server answers them the async way (the default), a second one the sync way
(CAPITAL_ASYNC_READS=off, worker threads and SQLAlchemy): both must answer every
request byte for byte the same, refuse a deactivated user or a revoked key on the
very next request, and keep each organization to its own rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from capital_app.service import sessions
from tests.api.conftest import SUITE_LIMITS, Api
from tests.api.helpers import assert_problem, day, seed_history
from tests.support.api_server import ApiServer, start_api_server
from tests.support.factories import PASSWORD


@pytest.fixture(scope="module")
def sync_server(database_url: str) -> Iterator[ApiServer]:
    server = start_api_server({**SUITE_LIMITS, "CAPITAL_ASYNC_READS": "off"})
    yield server
    server.stop()


@pytest.fixture
def sync_api(sync_server: ApiServer) -> Iterator[Api]:
    session = Api(sync_server)
    yield session
    session.close()


def hot_paths(seeded) -> list[str]:
    kcb = quote(seeded.kcb, safe="")
    return [
        "/api/capital-history?limit=100",
        "/api/capital-history?limit=2",
        f"/api/capital-history?limit=100&sourceId={kcb}",
        f"/api/capital-history?limit=100&sourceId={kcb}&knownAt={quote(day(1))}",
        f"/api/capital-history?limit=100&action=RATE_CHANGED&asOf={quote(day(60))}",
        f"/api/capital-history/{kcb}",
        f"/api/capital-history/{kcb}?asOf={quote(day(200))}",
        f"/api/capital-history/{quote(seeded.kiva, safe='')}",
        "/api/capital-sources/active",
        "/api/wacc/series",
        f"/api/wacc/series?startDate={day(400)[:10]}&interval=week",
        f"/api/wacc/series?startDate={day(400)[:10]}&interval=week&include=reporting",
        f"/api/wacc/series?startDate={day(90)[:10]}&endDate={day(10)[:10]}&interval=day",
        # Refusals: problem+json, the same from both paths.
        f"/api/wacc/series?startDate={day(10)[:10]}&endDate={day(90)[:10]}",
        "/api/wacc/series?startDate=1900-01-01&interval=day",
        "/api/capital-history/src_not_ours",
        "/api/capital-history?limit=10&sourceId=src_not_ours",
        "/api/capital-history?limit=10&cursor=not-a-cursor",
        "/api/capital-history?limit=0",
        "/api/capital-history/" + "x" * 101,
    ]


def _same_answer(fast: httpx.Response, slow: httpx.Response, fast_url: str, slow_url: str):
    assert fast.status_code == slow.status_code, (fast.text, slow.text)
    assert fast.headers["content-type"] == slow.headers["content-type"]
    assert fast.content == slow.content
    link = fast.headers.get("link")
    other = slow.headers.get("link")
    assert (link or "").replace(fast_url, "") == (other or "").replace(slow_url, "")


def test_every_hot_read_answers_byte_for_byte_as_the_sync_path(api, sync_api, tenant):
    seeded = seed_history(tenant)
    for user in (tenant.viewer, tenant.admin):
        fast, slow = api.as_user(user), sync_api.as_user(user)
        for path in hot_paths(seeded):
            _same_answer(fast.get(path), slow.get(path), api.base_url, sync_api.base_url)
        # Following the next links page by page gives the same pages.
        fast_page, slow_page = fast.get("/api/capital-history?limit=2"), None
        path = "/api/capital-history?limit=2"
        pages = 0
        while path:
            fast_page, slow_page = fast.get(path), slow.get(path)
            _same_answer(fast_page, slow_page, api.base_url, sync_api.base_url)
            link = fast_page.headers.get("link")
            path = link.split(">")[0].lstrip("<").replace(api.base_url, "") if link else ""
            pages += 1
        assert pages == 3  # 6 entries, 2 a page


def test_wacc_now_answers_as_the_sync_path(api, sync_api, tenant):
    seed_history(tenant)
    fast = api.as_user(tenant.viewer).get("/api/wacc")
    slow = sync_api.as_user(tenant.viewer).get("/api/wacc")
    assert fast.status_code == slow.status_code == 200
    moments = ("asOf", "knownAt")
    assert {k: v for k, v in fast.json().items() if k not in moments} == {
        k: v for k, v in slow.json().items() if k not in moments
    }
    assert fast.json()["asOf"] == fast.json()["knownAt"]
    # The exact number text (no float), as the sync path writes it.
    assert fast.text.split('"wacc":')[1] == slow.text.split('"wacc":')[1]


def test_each_organization_reads_only_its_own(api, tenant, other_tenant):
    mine = seed_history(tenant)
    theirs = seed_history(other_tenant)
    me = api.as_user(tenant.viewer)
    page = me.get("/api/capital-history?limit=1000").json()
    assert page and {e["organizationId"] for e in page} == {str(tenant.org_id)}
    active = me.get("/api/capital-sources/active").json()
    assert {s["sourceId"] for s in active} == {mine.kcb, mine.equity}
    # Another organization's source does not exist for me, by either route.
    for source in (theirs.kcb, theirs.equity):
        assert_problem(me.get(f"/api/capital-history/{source}"), 404)
        assert_problem(me.get(f"/api/capital-history?limit=10&sourceId={source}"), 404)
    other = api.as_user(other_tenant.viewer)
    assert {s["sourceId"] for s in other.get("/api/capital-sources/active").json()} == {
        theirs.kcb,
        theirs.equity,
    }
    assert [e["sourceId"] for e in other.get(f"/api/capital-history/{theirs.kcb}").json()] == [
        theirs.kcb,
        theirs.kcb,
    ]


READS = [
    "/api/capital-history?limit=10",
    "/api/capital-sources/active",
    "/api/wacc",
    "/api/wacc/series",
]


def test_a_cached_series_follows_every_write_and_rate(api, sync_api, tenant):
    """The async series shares the revision-keyed cache: after a write, an FX rate or a
    tax rate, the very next answer is the new one, byte for byte the sync path's."""
    seeded = seed_history(tenant)
    fast, slow = api.as_user(tenant.admin), sync_api.as_user(tenant.admin)
    path = f"/api/wacc/series?startDate={day(400)[:10]}&interval=week&include=reporting"
    first = fast.get(path)
    assert first.status_code == 200, first.text
    _same_answer(fast.get(path), slow.get(path), api.base_url, sync_api.base_url)
    assert fast.get(path).content == first.content  # answered from the cache
    changed = fast.post(
        "/api/capital-history/update-amount",
        json={"sourceId": seeded.kcb, "availableCents": 1_000_000, "effectiveDate": day(5)},
    )
    assert changed.status_code == 201, changed.text
    after_write = fast.get(path)
    assert after_write.content != first.content
    _same_answer(after_write, slow.get(path), api.base_url, sync_api.base_url)
    taxed = fast.post("/api/tax-rates", json={"rate": "0.3", "effectiveDate": day(30)[:10]})
    assert taxed.status_code == 201, taxed.text
    after_tax = fast.get(path)
    assert after_tax.content != after_write.content
    _same_answer(after_tax, slow.get(path), api.base_url, sync_api.base_url)


def test_a_deactivated_user_is_refused_on_the_next_request(api, sync_api, tenant):
    seeded = seed_history(tenant)
    paths = [*READS, f"/api/capital-history/{seeded.kcb}"]
    viewer = api.as_user(tenant.viewer)
    slow_viewer = sync_api.as_user(tenant.viewer)
    for path in paths:
        assert viewer.get(path).status_code == 200
    answer = api.as_user(tenant.admin).patch(
        f"/api/users/{tenant.viewer.id}", json={"active": False}
    )
    assert answer.status_code == 200, answer.text
    for path in paths:
        problem = viewer.get(path)
        assert_problem(problem, 401)
        assert "not active" in problem.json()["detail"]
        _same_answer(problem, slow_viewer.get(path), api.base_url, sync_api.base_url)
    # Active again: the same token reads again, at once.
    api.as_user(tenant.admin).patch(f"/api/users/{tenant.viewer.id}", json={"active": True})
    assert viewer.get(paths[0]).status_code == 200


def test_a_revoked_key_is_refused_on_the_next_request(api, sync_api, tenant):
    seeded = seed_history(tenant)
    paths = [*READS, f"/api/capital-history/{seeded.kcb}"]
    created = api.as_user(tenant.admin).post(
        "/api/api-keys", json={"name": "Dashboard", "scopes": ["read"]}
    )
    assert created.status_code == 201, created.text
    key = api.client(token=created.json()["secret"])
    slow_key = sync_api.client(token=created.json()["secret"])
    for path in paths:
        fast, slow = key.get(path), slow_key.get(path)
        assert fast.status_code == 200, fast.text
        if path != "/api/wacc":
            _same_answer(fast, slow, api.base_url, sync_api.base_url)
    revoked = api.as_user(tenant.admin).delete(f"/api/api-keys/{created.json()['id']}")
    assert revoked.status_code == 200
    for path in paths:
        problem = key.get(path)
        assert_problem(problem, 401)
        assert "revoked" in problem.json()["detail"]
        _same_answer(problem, slow_key.get(path), api.base_url, sync_api.base_url)


def test_a_sign_out_ends_earlier_tokens_on_the_next_hot_read(api, sync_api, tenant):
    """The standing (user row and latest sign-out, one statement) is read per request:
    a token already verified (and remembered) is refused right after a sign-out."""
    seeded = seed_history(tenant)
    paths = [*READS, f"/api/capital-history/{seeded.kcb}"]
    token = api.token(tenant.admin)
    reader, slow_reader = api.client(token=token), sync_api.client(token=token)
    for path in paths:
        assert reader.get(path).status_code == 200
    time.sleep(1.1)  # tokens carry whole seconds
    ui_token = sessions.sign_in(tenant.admin.email, PASSWORD, api.fresh_address()).token
    sessions.sign_out(ui_token, "127.0.0.1")
    for path in paths:
        problem = reader.get(path)
        assert_problem(problem, 401)
        assert "signed out" in problem.json()["detail"]
        _same_answer(problem, slow_reader.get(path), api.base_url, sync_api.base_url)
    fresh = api.client().post(
        "/api/auth/token", json={"email": tenant.admin.email, "password": PASSWORD}
    )
    assert api.client(token=fresh.json()["accessToken"]).get(paths[0]).status_code == 200
