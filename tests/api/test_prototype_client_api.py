"""The browser prototype's own client code, replayed call for call against the API.

During the move its pages keep working unchanged (issue 6): they sign in for a
bearer token, `POST /api/capital-history/add-source` with `{source, effectiveDate,
notes}` as `JSON.stringify` writes it (rates carrying a double's rounding noise,
dates from `toISOString()` or an `<input type=date>`, `notes` empty or left out)
and read `sourceId` back; then `GET /api/capital-history` and read it as a plain
array of entries in the prototype's shape (DESIGN.md).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.api.conftest import Api
from tests.support.factories import PASSWORD, Tenant

# The fields the prototype's entries have (DESIGN.md) and its pages read.
PROTOTYPE_FIELDS = {
    "id",
    "sourceId",
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
}


def js_iso(moment: datetime) -> str:
    """`new Date(...).toISOString()`: milliseconds and Z."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def test_the_prototype_client_adds_sources_and_reads_the_history(api: Api, tenant: Tenant) -> None:
    client = api.client()
    # 1. Sign in: fetch('/api/auth/token', {method: 'POST', body: JSON.stringify({email, password})})
    signed_in = client.post(
        "/api/auth/token",
        content=json.dumps({"email": tenant.editor.email, "password": PASSWORD}),
        headers={"Content-Type": "application/json"},
    )
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["accessToken"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    # 2. addSource(): the body exactly as JSON.stringify writes it.
    when = datetime.now(UTC) - timedelta(minutes=5)
    calls = [
        (
            '{"source":{"name":"KCB term loan","annualRate":0.021400000000000002,'
            '"availableCents":25000000000},"effectiveDate":"' + js_iso(when) + '",'
            '"notes":"opened in the prototype ✓"}',
            ("KCB term loan", Decimal("0.0214"), 25000000000, "opened in the prototype ✓"),
        ),
        (  # notes left out (undefined is dropped by JSON.stringify), a date input's value
            '{"source":{"name":"Founder equity","annualRate":0.1325,'
            '"availableCents":1250000},"effectiveDate":"2025-03-01"}',
            ("Founder equity", Decimal("0.1325"), 1250000, None),
        ),
        (  # an empty notes box
            '{"source":{"name":"Kiva pool","annualRate":0,"availableCents":500000},'
            '"effectiveDate":"' + js_iso(when) + '","notes":""}',
            ("Kiva pool", Decimal("0"), 500000, None),
        ),
    ]
    source_ids = {}
    for body, expected in calls:
        answer = client.post("/api/capital-history/add-source", content=body, headers=headers)
        assert answer.status_code == 201, answer.text
        source_id = answer.json()["sourceId"]  # const { sourceId } = await res.json()
        assert isinstance(source_id, str) and source_id
        source_ids[source_id] = expected

    # 3. loadHistory(): GET, read as a plain array of entries.
    listed = client.get("/api/capital-history", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200, listed.text
    entries = json.loads(listed.content, parse_float=Decimal)
    assert isinstance(entries, list) and len(entries) == 3
    for entry in entries:
        assert set(entry) >= PROTOTYPE_FIELDS
        assert entry["action"] == "ADDED"
        name, rate, cents, notes = source_ids[entry["sourceId"]]
        assert (entry["name"], entry["annualRate"], entry["availableCents"], entry["notes"]) == (
            name,
            rate,
            cents,
            notes,
        )
        assert datetime.fromisoformat(entry["createdAt"].replace("Z", "+00:00")) <= datetime.now(
            UTC
        )
    # The rate comes back as the number the prototype meant, written exactly.
    assert b'"annualRate":0.0214,' in listed.content
    effective = {e["sourceId"]: e["effectiveDate"] for e in entries}
    founder = next(s for s, v in source_ids.items() if v[0] == "Founder equity")
    assert effective[founder].startswith("2025-03-01T00:00:00")


def test_the_prototype_client_hears_problems_it_can_show(api: Api, tenant: Tenant) -> None:
    """Its error path reads `detail` (and `errors`) from what a refused call answers."""
    token = api.token(tenant.editor)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    client = api.client()
    body = '{"source":{"name":"X","annualRate":0.12345678,"availableCents":1},"effectiveDate":"2025-03-01"}'
    answer = client.post("/api/capital-history/add-source", content=body, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["detail"] and answer.json()["errors"][0]["field"] == "source.annualRate"
    viewer = {"Authorization": f"Bearer {api.token(tenant.viewer)}"}
    refused = client.post(
        "/api/capital-history/add-source",
        content='{"source":{"name":"Y","annualRate":0.1,"availableCents":1},"effectiveDate":"2025-03-01"}',
        headers={**viewer, "Content-Type": "application/json"},
    )
    assert refused.status_code == 403 and refused.json()["detail"]
    assert client.get("/api/capital-history", headers=viewer).json() == []
