"""GET /api/capital-history (filters, paging, exact numbers) and one source's history."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from capital_app.service import history_commands as commands
from tests.api.helpers import assert_problem, seed_history
from tests.support.bulk_history import seed_bulk_history
from tests.support.factories import add_source

ENTRY_FIELDS = {
    "id",
    "organizationId",
    "sourceId",
    "sequence",
    "effectiveDate",
    "name",
    "annualRate",
    "availableCents",
    "action",
    "previousRate",
    "previousAmount",
    "notes",
    "createdAt",
    "createdBy",
    # Added by issue 17: who recorded it here, which import, and an import's own claims.
    "recordedBy",
    "importId",
    "originalCreatedAt",
    "originalCreatedBy",
    # Added by issue 13: the API key that wrote the entry, if one did.
    "apiKeyId",
    "apiKeyName",
}


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_history_is_ordered_by_effective_date_then_sequence(api, tenant):
    seeded = seed_history(tenant)
    answer = api.as_user(tenant.viewer).get("/api/capital-history")
    assert answer.status_code == 200
    assert "link" not in answer.headers
    entries = answer.json()
    assert len(entries) == 6
    assert all(set(e) == ENTRY_FIELDS for e in entries)
    keys = [(_instant(e["effectiveDate"]), e["sequence"]) for e in entries]
    assert keys == sorted(keys)
    assert [e["action"] for e in entries] == [
        "ADDED",
        "ADDED",
        "ADDED",
        "RATE_CHANGED",
        "AMOUNT_CHANGED",
        "REMOVED",
    ]
    repriced = next(e for e in entries if e["action"] == "RATE_CHANGED")
    assert repriced["sourceId"] == seeded.kcb
    assert repriced["organizationId"] == str(tenant.org_id)
    assert repriced["createdBy"] == str(tenant.editor.id)
    assert repriced["sequence"] == 2
    assert repriced["notes"] == "repriced"
    assert repriced["previousAmount"] is None
    assert repriced["effectiveDate"].endswith("Z") and repriced["createdAt"].endswith("Z")


def test_numbers_are_written_exactly(api, tenant):
    seed_history(tenant)
    text = api.as_user(tenant.viewer).get("/api/capital-history").text
    assert '"annualRate":0.1325,' in text
    assert '"previousRate":0.14,' in text
    assert '"annualRate":0.155,' in text
    assert '"annualRate":0,' in text
    assert '"availableCents":25000000000,' in text
    assert not re.search(r"\d\.\d*0[,}]", text.replace('"', "")), "trailing zeros"
    assert not re.search(r":-?\d+(\.\d+)?[eE][+-]?\d+", text), "exponent notation"


def test_tiny_and_whole_rates_are_plain_numbers(api, tenant):
    source = add_source(tenant.actor(), rate="0.000001")
    commands.update_rate(
        tenant.actor(),
        source_id=source,
        annual_rate=Decimal("1"),
        effective_date=datetime.now(UTC) - timedelta(days=1),
    )
    text = api.as_user(tenant.viewer).get(f"/api/capital-history/{source}").text
    assert '"annualRate":0.000001,' in text
    assert '"annualRate":1,' in text and '"previousRate":0.000001,' in text


def test_filters_combine(api, tenant):
    seeded = seed_history(tenant)
    client = api.as_user(tenant.viewer)
    by_source = client.get("/api/capital-history", params={"sourceId": seeded.kcb}).json()
    assert [e["action"] for e in by_source] == ["ADDED", "RATE_CHANGED"]
    by_action = client.get("/api/capital-history", params={"action": "ADDED"}).json()
    assert len(by_action) == 3
    both = client.get(
        "/api/capital-history", params={"sourceId": seeded.equity, "action": "AMOUNT_CHANGED"}
    ).json()
    assert len(both) == 1 and both[0]["availableCents"] == 12_000_000_000
    assert (
        client.get(
            "/api/capital-history", params={"sourceId": seeded.kiva, "action": "RATE_CHANGED"}
        ).json()
        == []
    )


def test_date_bounds_are_inclusive_and_accept_dates_or_date_times(api, tenant):
    seed_history(tenant)
    client = api.as_user(tenant.viewer)
    everything = client.get("/api/capital-history").json()
    repriced = next(e for e in everything if e["action"] == "RATE_CHANGED")
    moment = _instant(repriced["effectiveDate"])
    the_day = moment.date().isoformat()
    # A bare endDate includes the whole day; a bare startDate starts at midnight.
    up_to = client.get("/api/capital-history", params={"endDate": the_day}).json()
    assert up_to[-1]["id"] == repriced["id"]
    from_day = client.get("/api/capital-history", params={"startDate": the_day}).json()
    assert from_day[0]["id"] == repriced["id"]
    exact = client.get(
        "/api/capital-history",
        params={"startDate": moment.isoformat(), "endDate": moment.isoformat()},
    ).json()
    assert [e["id"] for e in exact] == [repriced["id"]]
    # The same instant written with another offset.
    nairobi = moment.astimezone(__import__("zoneinfo").ZoneInfo("Africa/Nairobi")).isoformat()
    assert client.get("/api/capital-history", params={"startDate": nairobi}).json() == from_day
    assert client.get(
        "/api/capital-history", params={"endDate": (moment - timedelta(seconds=1)).isoformat()}
    ).json() == [e for e in everything if _instant(e["effectiveDate"]) < moment]


def test_paging_follows_link_headers_to_the_end(api, tenant):
    seed_history(tenant)
    client = api.as_user(tenant.viewer)
    everything = client.get("/api/capital-history").json()
    seen = []
    url = "/api/capital-history?limit=4&action=ADDED"
    first = client.get(url)
    assert first.headers.get("link") is None  # only 3 ADDED entries
    url = "/api/capital-history?limit=4"
    pages = 0
    while url:
        answer = client.get(url)
        assert answer.status_code == 200
        seen.extend(answer.json())
        pages += 1
        link = answer.headers.get("link")
        if link:
            match = re.fullmatch(r'<([^>]+)>; rel="next"', link)
            assert match, link
            url = match.group(1)
            assert "limit=4" in url
        else:
            url = None
    assert pages == 2
    assert seen == everything


def test_paging_by_one_visits_every_entry_once(api, tenant):
    seed_history(tenant)
    client = api.as_user(tenant.viewer)
    everything = client.get("/api/capital-history").json()
    ids, url = [], "/api/capital-history?limit=1"
    while url:
        answer = client.get(url)
        ids.extend(e["id"] for e in answer.json())
        link = answer.headers.get("link")
        url = re.fullmatch(r"<([^>]+)>.*", link).group(1) if link else None
    assert ids == [e["id"] for e in everything]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
        ({"cursor": "!!!"}, "cursor"),
        ({"action": "DELETED"}, "action"),
        ({"startDate": "yesterday"}, "startDate"),
        ({"endDate": "2026-02-30"}, "endDate"),
        ({"endDate": "2026-03-01T10:00:00"}, "endDate"),
        ({"sourceId": "x" * 101}, "sourceId"),
    ],
)
def test_bad_query_parameters_answer_422(api, tenant, params, field):
    assert_problem(
        api.as_user(tenant.viewer).get("/api/capital-history", params=params), 422, field
    )


def test_limit_bounds_are_accepted(api, tenant):
    seed_history(tenant)
    client = api.as_user(tenant.viewer)
    assert len(client.get("/api/capital-history", params={"limit": 1}).json()) == 1
    assert len(client.get("/api/capital-history", params={"limit": 1000}).json()) == 6


def test_unknown_source_filter_is_404(api, tenant):
    assert_problem(
        api.as_user(tenant.viewer).get("/api/capital-history", params={"sourceId": "src_nope"}),
        404,
    )


def test_one_sources_history(api, tenant):
    seeded = seed_history(tenant)
    client = api.as_user(tenant.viewer)
    answer = client.get(f"/api/capital-history/{seeded.kiva}")
    assert answer.status_code == 200
    entries = answer.json()
    assert [(e["sequence"], e["action"]) for e in entries] == [(1, "ADDED"), (2, "REMOVED")]
    assert all(e["sourceId"] == seeded.kiva for e in entries)
    assert_problem(client.get("/api/capital-history/src_1737000000000_nope"), 404)
    assert_problem(client.get(f"/api/capital-history/{'y' * 101}"), 422, "sourceId")


def test_without_limit_the_whole_history_comes_as_one_array(api, tenant):
    """The browser prototype's client reads GET /api/capital-history as one plain array
    and never pages: past MAX_PAGE entries nothing may be cut off."""
    written = seed_bulk_history(tenant.org_id, tenant.editor.id, sources=61, per_source=40)
    assert written == 2440
    client = api.as_user(tenant.viewer)
    answer = client.get("/api/capital-history")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert "link" not in answer.headers
    everything = answer.json()
    assert len(everything) == written
    assert len({e["id"] for e in everything}) == written
    paged, url = [], "/api/capital-history?limit=1000"
    while url:
        page = client.get(url)
        paged.extend(page.json())
        link = page.headers.get("link")
        url = re.fullmatch(r"<([^>]+)>.*", link).group(1) if link else None
    assert everything == paged
    removals = client.get("/api/capital-history", params={"action": "REMOVED"}).json()
    assert [e["action"] for e in removals] == ["REMOVED"] * 6


def test_the_whole_history_refuses_before_streaming(api, tenant, other_tenant):
    add_source(tenant.actor(), name="Only ours")
    assert api.as_user(other_tenant.viewer).get("/api/capital-history").json() == []
    unknown = api.as_user(tenant.viewer).get(
        "/api/capital-history", params={"sourceId": "src_nobody"}
    )
    assert_problem(unknown, 404)
    assert_problem(api.client().get("/api/capital-history"), 401)
