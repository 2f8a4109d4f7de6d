"""An import cannot rewrite what the ledger knew, nor pose as another author.

The reproduction of issue 17: export, add an AMOUNT_CHANGED claiming an old
`createdAt` and an ADMIN's id as `createdBy`, import it as an EDITOR. Before the
fix the row was stored with the file's recording time, so "as known at" a moment
before the import changed; now the database stamps its own time and author.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from capital_app.db.unit_of_work import tenant_transaction
from tests.api.conftest import Api
from tests.api.test_import_export_api import EXPORT, exact, fixture_bytes, post_import
from tests.support.factories import Tenant
from tests.support.prototype import parse_iso


def _wacc(api: Api, tenant: Tenant, **params: str) -> tuple[object, object]:
    body = exact(api.as_user(tenant.viewer).get("/api/wacc", params=params))
    return body["totalCents"], body["wacc"]  # type: ignore[index]


def test_a_forged_recording_time_and_author_change_no_known_at_answer(
    api: Api, tenant: Tenant
) -> None:
    editor = api.as_user(tenant.editor)
    assert post_import(editor, fixture_bytes("demo-export.json")).status_code == 200
    time.sleep(0.05)
    before_attack = datetime.now(UTC)
    time.sleep(0.05)
    as_of = "2025-06-30T23:59:59Z"
    known_before = _wacc(api, tenant, asOf=as_of, knownAt=before_attack.isoformat())

    exported = json.loads(editor.get(EXPORT, params={"format": "json"}).content)
    target = exported[-1]["sourceId"]  # an active source: its last entry is a change
    last = max((e for e in exported if e["sourceId"] == target), key=lambda e: e["sequence"])
    assert last["action"] == "AMOUNT_CHANGED"
    effective = "2025-06-29T00:00:00Z"  # backdated: it changes the answer as of June
    then = max(
        (e for e in exported if e["sourceId"] == target and e["effectiveDate"] <= effective),
        key=lambda e: (e["effectiveDate"], e["sequence"]),
    )
    forged = dict(
        last,
        id="hist_forged_by_an_editor",
        sequence=last["sequence"] + 1,
        effectiveDate=effective,
        previousAmount=then["availableCents"],
        availableCents=then["availableCents"] + 1_000_000_000_000,
        createdAt="2025-03-01T00:00:00Z",
        createdBy=str(tenant.admin.id),
    )
    answer = post_import(editor, json.dumps([*exported, forged]))
    assert answer.status_code == 200, answer.text
    assert answer.json()["imported"] == 1

    # What the ledger knew before the import is what it knew then.
    assert _wacc(api, tenant, asOf=as_of, knownAt=before_attack.isoformat()) == known_before
    # Known now, the change is there.
    assert _wacc(api, tenant, asOf=as_of) != known_before

    history = exact(api.as_user(tenant.viewer).get(f"/api/capital-history/{last['sourceId']}"))
    stored = next(e for e in history if e["id"] == forged["id"])  # type: ignore[union-attr]
    assert parse_iso(stored["createdAt"]) >= before_attack
    assert stored["createdBy"] == stored["recordedBy"] == str(tenant.editor.id)
    assert parse_iso(stored["originalCreatedAt"]) == parse_iso(forged["createdAt"])
    assert stored["originalCreatedBy"] == str(tenant.admin.id)  # kept, but only as a claim
    assert stored["importId"] is not None

    # The export still says what the file said: export → import → export is lossless.
    again = json.loads(editor.get(EXPORT, params={"format": "json"}).content)
    assert next(e for e in again if e["id"] == forged["id"]) == forged


def test_the_runtime_role_cannot_choose_a_recording_time_in_sql(tenant: Tenant) -> None:
    """Even SQL run as the app's role (an injection, say) gets the transaction time."""
    with tenant_transaction(tenant.org_id) as conn:
        now = conn.execute(text("SELECT now()")).scalar_one()
        stored = conn.execute(
            text(
                "INSERT INTO capital_history (organization_id, id, source_id, sequence, action,"
                " effective_date, name, annual_rate, available_cents, created_at, created_by,"
                " recorded_by, revision)"
                " VALUES (:org, 'sql-entry', 'sql-source', 1, 'ADDED', now() - interval '9 days',"
                " 'Injected', 0.1, 100, :past, 'someone else', :editor, 0)"
                " RETURNING created_at, created_by"
            ),
            {
                "org": tenant.org_id,
                "past": now - timedelta(days=400),
                "editor": tenant.editor.id,
            },
        ).one()
    assert stored.created_at == now
    assert stored.created_by == str(tenant.editor.id)
