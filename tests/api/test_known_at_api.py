"""knownAt (recording time) and asOf (effective time) on every read, not only /api/wacc.

A backdated change is recorded today but takes effect weeks ago: known at a moment
before it was recorded, every read must answer as if it did not exist yet.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

from capital_app.service import history_commands as commands
from tests.api.conftest import Api
from tests.api.test_import_export_api import EXPORT
from tests.support.factories import Tenant, add_source, days_ago


def _backdated(tenant: Tenant) -> tuple[str, str, str]:
    """(source id, a moment between the add and the backdated change, that change's id)."""
    actor = tenant.actor("EDITOR")
    source = add_source(actor, cents=100_000_00, rate="0.1", days=60)
    time.sleep(0.05)
    between = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    change = commands.update_amount(
        actor,
        source_id=source,
        available_cents=300_000_00,
        effective_date=days_ago(30),  # backdated: effective a month before it was recorded
    )
    return source, between, change.entry.id


def _ids(body: list[dict]) -> list[str]:
    return [e["id"] for e in body]


def test_capital_history_answers_as_known_at_and_as_of(api: Api, tenant: Tenant) -> None:
    source, between, change_id = _backdated(tenant)
    viewer = api.as_user(tenant.viewer)
    now = _ids(viewer.get("/api/capital-history").json())
    assert change_id in now and len(now) == 2
    known_before = viewer.get("/api/capital-history", params={"knownAt": between})
    assert known_before.status_code == 200
    assert change_id not in _ids(known_before.json()) and len(known_before.json()) == 1
    paged = viewer.get("/api/capital-history", params={"knownAt": between, "limit": 10})
    assert _ids(paged.json()) == _ids(known_before.json())
    of_source = viewer.get(f"/api/capital-history/{source}", params={"knownAt": between})
    assert _ids(of_source.json()) == _ids(known_before.json())
    # asOf: effective time. 45 days ago the change had not taken effect (known now).
    as_of = viewer.get("/api/capital-history", params={"asOf": days_ago(45).isoformat()})
    assert change_id not in _ids(as_of.json()) and len(as_of.json()) == 1
    as_of_later = viewer.get("/api/capital-history", params={"asOf": days_ago(10).isoformat()})
    assert change_id in _ids(as_of_later.json())


def test_wacc_series_answers_as_known_at(api: Api, tenant: Tenant) -> None:
    _source, between, _change = _backdated(tenant)
    viewer = api.as_user(tenant.viewer)
    params = {"startDate": days_ago(20).date().isoformat(), "interval": "week"}
    known_now = viewer.get("/api/wacc/series", params=params).json()
    known_before = viewer.get("/api/wacc/series", params={**params, "knownAt": between}).json()
    assert [p["date"] for p in known_now] == [p["date"] for p in known_before]
    assert {p["totalCents"] for p in known_now} == {300_000_00}
    assert {p["totalCents"] for p in known_before} == {100_000_00}
    # The same answer /api/wacc gives for the last point's moment.
    wacc = viewer.get("/api/wacc", params={"knownAt": between}).json()
    assert wacc["totalCents"] == known_before[-1]["totalCents"]
    assert Decimal(str(wacc["wacc"])) == Decimal(str(known_before[-1]["wacc"]))


def test_export_answers_as_known_at_and_as_of(api: Api, tenant: Tenant) -> None:
    _source, between, change_id = _backdated(tenant)
    viewer = api.as_user(tenant.viewer)
    whole = json.loads(viewer.get(EXPORT).content)
    assert change_id in _ids(whole)
    before = viewer.get(EXPORT, params={"knownAt": between})
    assert before.status_code == 200
    assert (
        change_id not in _ids(json.loads(before.content)) and len(json.loads(before.content)) == 1
    )
    csv = viewer.get(EXPORT, params={"knownAt": between, "format": "csv"}).text
    assert change_id not in csv and len(csv.strip().splitlines()) == 2  # header + one entry
    as_of = json.loads(viewer.get(EXPORT, params={"asOf": days_ago(45).isoformat()}).content)
    assert _ids(as_of) == _ids(json.loads(before.content))


def test_known_at_must_be_a_date(api: Api, tenant: Tenant) -> None:
    viewer = api.as_user(tenant.viewer)
    for path in ("/api/capital-history", "/api/wacc/series", EXPORT):
        answer = viewer.get(path, params={"knownAt": "yesterday"})
        assert answer.status_code == 422, (path, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
