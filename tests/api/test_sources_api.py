"""Active sources, WACC and the WACC series: now, as of a past date, as known at a moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from capital_app.service import history_commands as commands
from tests.api.helpers import assert_problem, seed_history
from tests.support.factories import add_source

ACTIVE_FIELDS = {
    "sourceId",
    "name",
    "annualRate",
    "availableCents",
    "sequence",
    "addedDate",
    "lastChangedDate",
}


def test_active_sources_now(api, tenant):
    seeded = seed_history(tenant)
    answer = api.as_user(tenant.viewer).get("/api/capital-sources/active")
    assert answer.status_code == 200
    sources = answer.json()
    assert all(set(s) == ACTIVE_FIELDS for s in sources)
    assert [s["sourceId"] for s in sources] == [seeded.kcb, seeded.equity]  # largest first
    kcb = sources[0]
    assert kcb["annualRate"] == 0.1325 and kcb["availableCents"] == 25_000_000_000
    assert kcb["sequence"] == 2
    assert '"annualRate":0.1325' in answer.text


def test_active_sources_as_of_a_past_date(api, tenant):
    seeded = seed_history(tenant)
    client = api.as_user(tenant.viewer)
    before_repricing = (datetime.now(UTC) - timedelta(days=120)).date().isoformat()
    sources = client.get("/api/capital-sources/active", params={"asOf": before_repricing}).json()
    by_id = {s["sourceId"]: s for s in sources}
    assert set(by_id) == {seeded.kcb, seeded.equity, seeded.kiva}  # Kiva not yet removed
    assert by_id[seeded.kcb]["annualRate"] == 0.14
    assert by_id[seeded.equity]["availableCents"] == 8_000_000_000
    long_ago = client.get("/api/capital-sources/active", params={"asOf": "2000-01-01"}).json()
    assert long_ago == []


def test_a_bare_as_of_date_includes_that_whole_day(api, tenant):
    added = datetime.now(UTC).replace(hour=15, minute=0, second=0, microsecond=0) - timedelta(
        days=3
    )
    commands.add_source(
        tenant.actor(),
        name="Afternoon loan",
        annual_rate=Decimal("0.1"),
        available_cents=100,
        effective_date=added,
    )
    client = api.as_user(tenant.viewer)
    same_day = client.get("/api/capital-sources/active", params={"asOf": added.date().isoformat()})
    assert [s["name"] for s in same_day.json()] == ["Afternoon loan"]
    an_hour_before = (added - timedelta(hours=1)).isoformat()
    assert client.get("/api/capital-sources/active", params={"asOf": an_hour_before}).json() == []


def test_known_at_hides_what_was_recorded_later(api, tenant):
    source = add_source(tenant.actor(), cents=100_00, rate="0.1", days=60)
    recorded_before = datetime.now(UTC).isoformat()
    commands.update_amount(
        tenant.actor(),
        source_id=source,
        available_cents=300_00,
        effective_date=datetime.now(UTC) - timedelta(days=30),  # backdated correction
    )
    client = api.as_user(tenant.viewer)
    as_of = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    now_known = client.get("/api/wacc", params={"asOf": as_of}).json()
    then_known = client.get("/api/wacc", params={"asOf": as_of, "knownAt": recorded_before}).json()
    assert now_known["totalCents"] == 300_00
    assert then_known["totalCents"] == 100_00
    old = client.get(
        "/api/capital-sources/active", params={"asOf": as_of, "knownAt": recorded_before}
    ).json()
    assert old[0]["availableCents"] == 100_00 and old[0]["sequence"] == 1


def test_wacc_is_exact(api, tenant):
    add_source(tenant.actor(), cents=100, rate="0.1", days=5)
    add_source(tenant.actor(), cents=300, rate="0.2", days=5)
    add_source(tenant.actor(), cents=200, rate="0.133333", days=5)
    answer = api.as_user(tenant.viewer).get("/api/wacc")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"asOf", "knownAt", "totalCents", "wacc", "sourceCount"}
    assert body["totalCents"] == 600 and body["sourceCount"] == 3
    # (10 + 60 + 26.6666) / 600 = 0.161111
    assert '"wacc":0.161111,' in answer.text


def test_wacc_is_null_without_active_sources(api, tenant):
    answer = api.as_user(tenant.viewer).get("/api/wacc", params={"asOf": "2020-06-30"})
    body = answer.json()
    assert body["wacc"] is None and body["totalCents"] == 0 and body["sourceCount"] == 0
    assert body["asOf"] == "2020-06-30T23:59:59.999999Z"


def test_wacc_series_monthly(api, tenant):
    seed_history(tenant)
    today = datetime.now(UTC).date()
    start = today - timedelta(days=400)
    answer = api.as_user(tenant.viewer).get(
        "/api/wacc/series",
        params={"startDate": start.isoformat(), "endDate": today.isoformat(), "interval": "month"},
    )
    assert answer.status_code == 200, answer.text
    points = answer.json()
    assert all(set(p) == {"date", "totalCents", "wacc"} for p in points)
    assert points[0]["date"] == start.isoformat() and points[-1]["date"] == today.isoformat()
    assert points[0] == {"date": start.isoformat(), "totalCents": 0, "wacc": None}
    latest = api.as_user(tenant.viewer).get("/api/wacc").json()
    assert points[-1]["totalCents"] == latest["totalCents"]
    assert points[-1]["wacc"] == latest["wacc"]
    assert 13 <= len(points) <= 15


def test_wacc_series_defaults_to_a_year_monthly(api, tenant):
    points = api.as_user(tenant.viewer).get("/api/wacc/series").json()
    assert points[-1]["date"] == datetime.now(UTC).date().isoformat()
    assert 12 <= len(points) <= 14


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"interval": "fortnight"}, "interval"),
        ({"startDate": "2026-05-01", "endDate": "2026-04-01"}, "endDate"),
        ({"startDate": "2000-01-01", "endDate": "2026-01-01", "interval": "day"}, "interval"),
        ({"startDate": "01/05/2026"}, "startDate"),
    ],
)
def test_wacc_series_rules(api, tenant, params, field):
    assert_problem(api.as_user(tenant.viewer).get("/api/wacc/series", params=params), 422, field)


@pytest.mark.parametrize("path", ["/api/capital-sources/active", "/api/wacc"])
@pytest.mark.parametrize("param", ["asOf", "knownAt"])
def test_bad_moments_are_422(api, tenant, path, param):
    assert_problem(api.as_user(tenant.viewer).get(path, params={param: "soon"}), 422, param)


def test_week_interval(api, tenant):
    end = date(2026, 3, 31)
    points = (
        api.as_user(tenant.viewer)
        .get(
            "/api/wacc/series",
            params={"startDate": "2026-03-01", "endDate": end.isoformat(), "interval": "week"},
        )
        .json()
    )
    assert [p["date"] for p in points] == [
        "2026-03-01",
        "2026-03-08",
        "2026-03-15",
        "2026-03-22",
        "2026-03-29",
        "2026-03-31",
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"endDate": "0001-01-06", "interval": "day"},
        {"startDate": "9999-11-15", "endDate": "9999-12-31", "interval": "month"},
        {"startDate": "9999-12-01", "endDate": "9999-12-31", "interval": "week"},
        {"startDate": "9999-12-30", "endDate": "9999-12-31", "interval": "day"},
    ],
)
def test_wacc_series_at_the_ends_of_the_calendar(api, tenant, params):
    answer = api.as_user(tenant.viewer).get("/api/wacc/series", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.json()[-1]["date"] == params["endDate"]
