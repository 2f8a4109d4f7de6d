"""`capital-app verify`: the rebuild's comparison, read-only, exit 1 on any difference."""

from __future__ import annotations

import json

from sqlalchemy import text

from capital_app.db.unit_of_work import owner_tenant_transaction
from tests.cli.test_cli import one_line_error, run
from tests.support.factories import add_source, make_tenant


def _projection(org_id):
    with owner_tenant_transaction(org_id, read_only=True) as conn:
        return conn.execute(
            text(
                "SELECT source_id, available_cents, name FROM capital_source"
                " WHERE organization_id = :org ORDER BY source_id"
            ),
            {"org": org_id},
        ).all()


def test_clean_is_0_and_a_corrupted_projection_is_1_naming_org_and_source(database_url):
    tenant = make_tenant("Verify")
    editor = tenant.actor("EDITOR")
    changed = add_source(editor, name="Changed loan", cents=500_00)
    repriced = add_source(editor, name="Repriced loan", rate="0.1")
    add_source(editor, name="Fine loan")

    clean = run("verify", "--org", tenant.organization.name)
    assert clean.returncode == 0, clean.stderr
    report = json.loads(clean.stdout)
    assert report == {
        "organizationId": str(tenant.org_id),
        "name": tenant.organization.name,
        "sources": 3,
        "clean": True,
        "differences": [],
    }

    # Corrupt the projection as the table owner (the runtime role may not write it).
    with owner_tenant_transaction(tenant.org_id) as conn:
        conn.execute(
            text(
                "UPDATE capital_source SET available_cents = 1, name = 'Tampered'"
                " WHERE organization_id = :org AND source_id = :id"
            ),
            {"org": tenant.org_id, "id": changed},
        )
        conn.execute(
            text(
                "UPDATE capital_source SET annual_rate = 0.5"
                " WHERE organization_id = :org AND source_id = :id"
            ),
            {"org": tenant.org_id, "id": repriced},
        )
        # A row no history stands behind (it would count in WACC).
        conn.execute(
            text(
                "INSERT INTO capital_source (organization_id, source_id, name, annual_rate,"
                " available_cents, status, added_date, rate_effective_date,"
                " amount_effective_date, last_effective_date, latest_sequence,"
                " latest_entry_id, revision, currency, kind)"
                " VALUES (:org, 'ghost', 'Ghost loan', 0.2, 100, 'ACTIVE', now(), now(),"
                " now(), now(), 1, 'none', 1, 'KES', 'debt')"
            ),
            {"org": tenant.org_id},
        )
    corrupted = _projection(tenant.org_id)

    found = run("verify", "--org", tenant.organization.name)
    assert found.returncode == 1, found
    report = json.loads(found.stdout)
    assert report["clean"] is False
    by_source = {d["sourceId"]: d for d in report["differences"]}
    assert set(by_source) == {changed, repriced, "ghost"}
    assert by_source["ghost"] == {"sourceId": "ghost", "problem": "extra", "fields": []}
    assert by_source[changed] == {
        "sourceId": changed,
        "problem": "differs",
        "fields": ["name", "available_cents"],
    }
    assert by_source[repriced]["fields"] == ["annual_rate"]
    line = one_line_error(found)
    assert tenant.organization.name in line and str(tenant.org_id) in line
    assert changed in line and repriced in line and "ghost" in line
    assert _projection(tenant.org_id) == corrupted  # verify wrote nothing

    # Without --org every organization is checked: this one still differs.
    every = run("verify")
    assert every.returncode == 1
    lines = [json.loads(x) for x in every.stdout.splitlines()]
    assert [x["clean"] for x in lines if x["organizationId"] == str(tenant.org_id)] == [False]

    rebuilt = run("rebuild-projections", "--org", tenant.organization.name)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)["corrected"] == 3
    again = run("verify", "--org", tenant.organization.name)
    assert again.returncode == 0, again.stderr


def test_an_unknown_organization_is_one_clear_line(database_url):
    assert "No organization" in one_line_error(run("verify", "--org", "Nope Ltd"))
