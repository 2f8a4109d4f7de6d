"""Import and export over HTTP: the sample exports land exactly, all or nothing, and
the JSON export comes back as the same history (export → import → export)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text

from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.values import Action
from capital_app.service import history_queries as queries
from capital_app.service.users import update_user
from tests.api.conftest import Api
from tests.api.helpers import PROBLEM, assert_problem, seed_history, snapshot
from tests.support.api_server import start_api_server
from tests.support.factories import Tenant, add_source
from tests.support.imported import assert_stored_as_folded, probe_moments
from tests.support.prototype import (
    FIXTURES,
    dumps,
    independent_wacc,
    js_noise,
    load,
    parse_iso,
)

IMPORT = "/api/capital-history/import"
EXPORT = "/api/capital-history/export"
JSON_TYPE = {"Content-Type": "application/json"}


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def post_import(
    client: httpx.Client, content: bytes | str, *, dry_run: bool | None = None, **params: str
) -> httpx.Response:
    if dry_run is not None:
        params["dryRun"] = "true" if dry_run else "false"
    body = content.encode() if isinstance(content, str) else content
    return client.post(IMPORT, content=body, params=params, headers=JSON_TYPE, timeout=120)


def exact(answer: httpx.Response) -> object:
    """The body with fractions as Decimal, as the API writes them (exactly)."""
    return json.loads(answer.content, parse_float=Decimal)


def stored_rows(org: UUID) -> tuple[int, int, int]:
    """(history entries, projection rows, import log rows) of one organization."""
    with tenant_transaction(org, read_only=True) as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE organization_id = :org"), {"org": org}
            ).scalar_one()
            for table in ("capital_history", "capital_source", "import_log")
        )


def export(client: httpx.Client, fmt: str = "json") -> httpx.Response:
    answer = client.get(EXPORT, params={"format": fmt}, timeout=120)
    assert answer.status_code == 200, answer.text
    return answer


def assert_matches_independent_fold(api: Api, tenant: Tenant, raw: list[dict]) -> None:
    """Counts per action, each source's final state, and WACC (over HTTP) at several
    dates, all equal to an independent fold of the raw file."""
    assert_stored_as_folded(tenant, raw)
    client = api.as_user(tenant.viewer)
    moments = probe_moments(raw, datetime.now(UTC) - timedelta(seconds=1))
    for moment in moments:
        answer = client.get("/api/wacc", params={"asOf": moment.isoformat()})
        assert answer.status_code == 200, answer.text
        body = exact(answer)
        total, wacc = independent_wacc(raw, moment)
        assert body["totalCents"] == total, moment
        got = body["wacc"]
        assert (got is None and wacc is None) or Decimal(got).quantize(Decimal("1e-10")) == wacc


# --- the sample exports ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["demo-export.json", "large-export.json"])
def test_the_sample_exports_import_exactly_over_http(api: Api, tenant: Tenant, name: str) -> None:
    raw = load(name)
    content = fixture_bytes(name)
    if name == "large-export.json":
        assert len(content) > 1024 * 1024  # over the general body limit: the import's own cap
    answer = post_import(api.as_user(tenant.editor), content, fileName=name)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    report = exact(answer)
    assert (report["imported"], report["skipped"], report["errors"]) == (len(raw), 0, [])
    assert report["dryRun"] is False and report["entriesInFile"] == len(raw)
    counts = Counter(e["action"] for e in raw)
    assert report["importedByAction"] == {a.value: counts.get(a.value, 0) for a in Action}
    assert report["sourcesInFile"] == report["newSources"] == len({e["sourceId"] for e in raw})
    total, wacc = independent_wacc(raw)
    assert report["totalCents"] == total
    assert Decimal(report["wacc"]).quantize(Decimal("1e-10")) == wacc
    assert_matches_independent_fold(api, tenant, raw)
    with tenant_transaction(tenant.org_id, read_only=True) as conn:
        log = conn.execute(
            text("SELECT imported_by, file_name, imported_count FROM import_log")
        ).one()
    assert (log.imported_by, log.file_name, log.imported_count) == (
        tenant.editor.id,
        name,
        len(raw),
    )


def test_ids_dates_and_creators_come_back_as_they_were(api: Api, tenant: Tenant) -> None:
    raw = load("demo-export.json")
    assert post_import(api.as_user(tenant.editor), fixture_bytes("demo-export.json")).is_success
    entries = exact(api.as_user(tenant.viewer).get("/api/capital-history", params={"limit": 100}))
    by_id = {e["id"]: e for e in entries}  # type: ignore[union-attr]
    assert set(by_id) == {e["id"] for e in raw}
    for entry in raw:
        stored = by_id[entry["id"]]
        assert stored["sourceId"] == entry["sourceId"]
        # The prototype's own recording is kept apart; createdAt/By are this ledger's.
        assert parse_iso(stored["originalCreatedAt"]) == parse_iso(entry["createdAt"])
        assert parse_iso(stored["effectiveDate"]) == parse_iso(entry["effectiveDate"])
        assert stored["originalCreatedBy"] == entry.get("createdBy")
        assert stored["createdBy"] == stored["recordedBy"] == str(tenant.editor.id)
        assert stored["importId"] is not None
        assert parse_iso(stored["createdAt"]) > datetime.now(UTC) - timedelta(minutes=10)


# --- dry run, all or nothing, idempotence ----------------------------------------------------


def test_a_dry_run_reports_and_writes_nothing(api: Api, tenant: Tenant) -> None:
    client = api.as_user(tenant.editor)
    content = fixture_bytes("demo-export.json")
    revision = queries.current_revision(tenant.actor())
    dry = post_import(client, content, dry_run=True)
    assert dry.status_code == 200, dry.text
    assert stored_rows(tenant.org_id) == (0, 0, 0)
    assert queries.current_revision(tenant.actor()) == revision
    report = exact(dry)
    assert report["dryRun"] is True and report["importId"] is None
    assert (report["imported"], report["skipped"], report["errors"]) == (30, 0, [])
    real = exact(post_import(client, content, dry_run=False))
    for key in ("imported", "skipped", "importedByAction", "totalCents", "wacc", "newSources"):
        assert report[key] == real[key], key
    assert real["importId"] and stored_rows(tenant.org_id) == (30, 7, 1)


def test_a_dry_run_of_a_bad_file_lists_the_problems_with_200(api: Api, tenant: Tenant) -> None:
    raw = load("demo-export.json")
    raw[3]["availableCents"] = Decimal("1.5")
    answer = post_import(api.as_user(tenant.editor), dumps(raw), dry_run=True)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert [(e["index"], e["field"]) for e in report["errors"]] == [(3, "availableCents")]
    assert report["errors"][0]["entryId"] == raw[3]["id"] and report["errors"][0]["message"]
    assert report["imported"] == 0 and stored_rows(tenant.org_id) == (0, 0, 0)


def test_one_bad_entry_in_the_middle_writes_nothing_and_every_error_is_reported(
    api: Api, tenant: Tenant
) -> None:
    raw = load("large-export.json")
    raw[6000]["annualRate"] = Decimal("0.12345678")
    raw[6001]["bogus"] = True
    raw[6002]["effectiveDate"] = "not a date"
    answer = post_import(api.as_user(tenant.editor), dumps(raw))
    body = assert_problem(answer, 422)
    found = {(e["index"], e["field"]) for e in body["errors"]}
    assert {(6000, "annualRate"), (6001, "bogus"), (6002, "effectiveDate")} <= found
    assert all(e["message"] for e in body["errors"])
    assert body["imported"] == 0 and body["entriesInFile"] == len(raw)
    assert "nothing was imported" in body["detail"]
    assert stored_rows(tenant.org_id) == (0, 0, 0)


def test_re_importing_skips_everything(api: Api, tenant: Tenant) -> None:
    client = api.as_user(tenant.editor)
    content = fixture_bytes("large-export.json")
    assert post_import(client, content).status_code == 200
    before = snapshot(tenant)
    again = exact(post_import(client, content))
    assert (again["imported"], again["skipped"], again["errors"]) == (0, 12000, [])
    assert snapshot(tenant)["history"] == before["history"]
    assert stored_rows(tenant.org_id)[:2] == (12000, 40)


def test_a_different_entry_under_a_stored_id_is_refused(api: Api, tenant: Tenant) -> None:
    client = api.as_user(tenant.editor)
    raw = load("demo-export.json")
    assert post_import(client, dumps(raw)).status_code == 200
    before = snapshot(tenant)
    raw[5]["notes"] = "edited later"
    body = assert_problem(post_import(client, dumps(raw)), 422)
    assert [(e["index"], e["field"], e["entryId"]) for e in body["errors"]] == [
        (5, "notes", raw[5]["id"])
    ]
    assert snapshot(tenant)["history"] == before["history"]
    assert stored_rows(tenant.org_id) == (30, 7, 1)


# --- the file's details ------------------------------------------------------------------------


def test_float_noise_rates_are_stored_and_exported_exactly(api: Api, tenant: Tenant) -> None:
    raw = load("demo-export.json")
    noise = {i: js_noise(e["annualRate"]) for i, e in enumerate(raw)}
    content = dumps(raw, noise)
    assert js_noise(Decimal("0.2583")) in content
    assert post_import(api.as_user(tenant.editor), content).status_code == 200
    exported = export(api.as_user(tenant.viewer)).text
    assert '"annualRate": 0.2583,' in exported
    assert not re.search(r'Rate": 0\.\d{7,}', exported)
    source = exact(api.as_user(tenant.viewer).get("/api/capital-history/src_1705914000000_91dho"))
    assert source[-1]["annualRate"] == Decimal("0.1489")  # type: ignore[index]


def test_absent_optional_keys_are_filled_or_left_empty(api: Api, tenant: Tenant) -> None:
    raw = load("demo-export.json")
    for entry in raw:
        for key in ("previousRate", "previousAmount", "notes", "createdBy"):
            entry.pop(key, None)
    assert post_import(api.as_user(tenant.editor), dumps(raw)).status_code == 200
    history = exact(api.as_user(tenant.viewer).get("/api/capital-history/src_1709370000000_dn581"))
    rate_change = next(e for e in history if e["action"] == "RATE_CHANGED")  # type: ignore[union-attr]
    assert rate_change["previousRate"] == Decimal("0.1286")
    assert all(e["notes"] is None and e["originalCreatedBy"] is None for e in history)  # type: ignore[union-attr]


def test_unknown_fields_are_refused_by_name(api: Api, tenant: Tenant) -> None:
    raw = load("demo-export.json")
    raw[2]["currency"] = "USD"
    body = assert_problem(post_import(api.as_user(tenant.editor), dumps(raw)), 422)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(2, "currency")]
    wrapped = json.dumps({"entries": [], "version": 2})
    body = assert_problem(post_import(api.as_user(tenant.editor), wrapped), 422)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(None, "version")]
    assert stored_rows(tenant.org_id) == (0, 0, 0)


def test_an_entries_object_and_unicode_notes_are_kept(api: Api, tenant: Tenant) -> None:
    raw = load("demo-export.json")
    notes = 'Überbrückung — ok ✓ · 季度调整 · שלום · 🚀 "quoted"\nsecond line'
    raw[0]["notes"] = notes
    for entry in raw:
        if entry["sourceId"] == raw[0]["sourceId"]:
            entry["name"] = "Banque Überbrückung ✓"
    content = '{"entries": ' + dumps(raw) + "}"
    assert post_import(api.as_user(tenant.editor), content).status_code == 200
    first = exact(api.as_user(tenant.viewer).get(f"/api/capital-history/{raw[0]['sourceId']}"))[0]  # type: ignore[index]
    assert (first["notes"], first["name"]) == (notes, "Banque Überbrückung ✓")
    assert json.loads(export(api.as_user(tenant.viewer)).content)[0]["notes"] == notes


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'[{"id": "hist_1", ', "not valid JSON"),
        (b"{not json}", "JSON"),
        (b"", "empty"),
        (b'"a string"', "not a prototype export"),
        (b"\xff\xfe[]", "UTF-8"),
        (b"[] trailing", "after the end"),
    ],
)
def test_malformed_json_is_a_problem_and_writes_nothing(
    api: Api, tenant: Tenant, content: bytes, says: str
) -> None:
    body = assert_problem(post_import(api.as_user(tenant.editor), content), 422)
    assert body["errors"] and says.lower() in json.dumps(body["errors"]).lower(), body
    assert body["errors"][0]["index"] is None and body["errors"][0]["field"]
    assert stored_rows(tenant.org_id) == (0, 0, 0)


def test_a_form_upload_is_refused_with_a_hint(api: Api, tenant: Tenant) -> None:
    answer = api.as_user(tenant.editor).post(
        IMPORT, files={"file": ("export.json", fixture_bytes("demo-export.json"))}
    )
    body = assert_problem(answer, 415)
    assert "body" in body["detail"]
    assert stored_rows(tenant.org_id) == (0, 0, 0)


def test_bad_query_parameters_are_problems(api: Api, tenant: Tenant) -> None:
    client = api.as_user(tenant.editor)
    content = fixture_bytes("demo-export.json")
    assert_problem(client.post(IMPORT, content=content, params={"dryRun": "maybe"}), 422, "dryRun")
    assert_problem(client.post(IMPORT, content=content, params={"fileName": "a\x01b"}), 422)
    assert stored_rows(tenant.org_id) == (0, 0, 0)


# --- who may import, whose data ------------------------------------------------------------------


def test_only_editors_and_admins_may_import(api: Api, tenant: Tenant) -> None:
    content = fixture_bytes("demo-export.json")
    for dry_run in (True, False):
        assert_problem(post_import(api.as_user(tenant.viewer), content, dry_run=dry_run), 403)
    assert_problem(post_import(api.client(), content), 401)
    assert_problem(post_import(api.client(token="not-a-token"), content), 401)
    assert stored_rows(tenant.org_id) == (0, 0, 0)
    assert exact(post_import(api.as_user(tenant.editor), content))["imported"] == 30  # type: ignore[index]
    assert exact(post_import(api.as_user(tenant.admin), content))["skipped"] == 30  # type: ignore[index]


def test_a_viewer_hears_403_even_with_a_large_body(api: Api, tenant: Tenant) -> None:
    answer = post_import(api.as_user(tenant.viewer), fixture_bytes("large-export.json"))
    assert_problem(answer, 403)
    assert stored_rows(tenant.org_id) == (0, 0, 0)


def test_a_deactivated_editor_is_refused_at_once(api: Api, tenant: Tenant) -> None:
    client = api.as_user(tenant.editor)
    update_user(tenant.actor("ADMIN"), tenant.editor.id, active=False)
    assert_problem(post_import(client, fixture_bytes("demo-export.json")), 401)
    assert stored_rows(tenant.org_id) == (0, 0, 0)


def test_another_organization_is_untouched_and_sees_nothing(
    api: Api, tenant: Tenant, other_tenant: Tenant
) -> None:
    seed_history(other_tenant)
    theirs = snapshot(other_tenant)
    their_export = export(api.as_user(other_tenant.viewer)).content
    assert post_import(api.as_user(tenant.editor), fixture_bytes("demo-export.json")).is_success
    assert snapshot(other_tenant) == theirs
    assert export(api.as_user(other_tenant.viewer)).content == their_export
    assert_problem(
        api.as_user(other_tenant.viewer).get("/api/capital-history/src_1705914000000_91dho"), 404
    )
    # The same file imports into the other organization as its own, separate copy.
    again = exact(post_import(api.as_user(other_tenant.editor), fixture_bytes("demo-export.json")))
    assert (again["imported"], again["skipped"]) == (30, 0)  # type: ignore[index]
    ids = {e["id"] for e in json.loads(export(api.as_user(tenant.viewer)).content)}
    assert ids == {e["id"] for e in load("demo-export.json")}


# --- export ------------------------------------------------------------------------------------


def test_export_import_export_is_byte_identical_over_http(
    api: Api, tenant: Tenant, other_tenant: Tenant
) -> None:
    assert post_import(api.as_user(tenant.editor), fixture_bytes("large-export.json")).is_success
    first = export(api.as_user(tenant.viewer))
    assert first.headers["content-type"].startswith("application/json")
    disposition = first.headers["content-disposition"]
    assert re.fullmatch(
        r'attachment; filename="capital-history-[a-z0-9-]+-\d{4}-\d{2}-\d{2}\.json"', disposition
    )
    report = exact(post_import(api.as_user(other_tenant.editor), first.content))
    assert (report["imported"], report["skipped"], report["errors"]) == (12000, 0, [])  # type: ignore[index]
    second = export(api.as_user(other_tenant.viewer))
    assert second.content == first.content
    assert [json.loads(line.rstrip(",")) for line in second.text.splitlines()[1:-1]][:3] == [
        json.loads(line.rstrip(",")) for line in first.text.splitlines()[1:-1]
    ][:3]
    assert (
        export(api.as_user(other_tenant.viewer), "csv").content
        == export(api.as_user(tenant.viewer), "csv").content
    )


def test_a_history_made_through_the_api_round_trips(
    api: Api, tenant: Tenant, other_tenant: Tenant
) -> None:
    seed_history(tenant)
    first = export(api.as_user(tenant.viewer)).content
    assert json.loads(first)[0]["sequence"] == 1
    assert exact(post_import(api.as_user(other_tenant.editor), first))["imported"] == 6  # type: ignore[index]
    assert export(api.as_user(other_tenant.viewer)).content == first
    mine = api.as_user(tenant.viewer).get("/api/wacc").json()
    theirs = api.as_user(other_tenant.viewer).get("/api/wacc").json()
    assert (mine["totalCents"], mine["wacc"]) == (theirs["totalCents"], theirs["wacc"])


def test_csv_export_has_a_header_and_one_row_per_entry(api: Api, tenant: Tenant) -> None:
    assert post_import(api.as_user(tenant.editor), fixture_bytes("demo-export.json")).is_success
    answer = export(api.as_user(tenant.viewer), "csv")
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].endswith('.csv"')
    lines = answer.content.decode("utf-8-sig").split("\r\n")
    assert lines[0].startswith("id,sourceId,sequence,action,effectiveDate")
    assert len([line for line in lines[1:] if line]) == 30


def test_an_empty_organization_exports_an_empty_list(api: Api, tenant: Tenant) -> None:
    assert json.loads(export(api.as_user(tenant.viewer)).content) == []


def test_export_needs_a_known_format_and_a_token(api: Api, tenant: Tenant) -> None:
    client = api.as_user(tenant.viewer)
    for bad in ("xml", "", "JSONX"):
        assert_problem(client.get(EXPORT, params={"format": bad}), 422, "format")
    assert_problem(api.client().get(EXPORT), 401)


def test_export_and_import_are_not_taken_for_source_ids(api: Api, tenant: Tenant) -> None:
    client = api.as_user(tenant.viewer)
    add_source(tenant.actor(), name="Export")
    assert client.get(EXPORT).headers["content-type"].startswith("application/json")
    assert isinstance(client.get(EXPORT).json(), list)
    # GET of the import path is the history route's (no source has that id): a plain 404.
    assert_problem(client.get(IMPORT), 404)


# --- the body limit ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_cap_server(database_url: str) -> Iterator[str]:
    """A server whose import cap is 100 kB, to prove the cap without sending 64 MiB."""
    server = start_api_server({"CAPITAL_MAX_IMPORT_BYTES": "100000"})
    yield server.base_url
    server.stop()


def test_an_oversized_import_body_is_a_problem(
    api: Api, tenant: Tenant, small_cap_server: str
) -> None:
    token = api.token(tenant.editor)
    headers = {"Authorization": f"Bearer {token}", **JSON_TYPE}
    big = fixture_bytes("large-export.json")[:300_000]
    with httpx.Client(base_url=small_cap_server, headers=headers, timeout=60) as client:
        declared = client.post(IMPORT, content=big)
        body = assert_problem(declared, 413)
        assert "100,000 bytes" in body["detail"]

        def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            for start in range(0, len(big), 16_384):
                yield big[start : start + 16_384]

        streamed = client.post(IMPORT, content=chunked())
        assert_problem(streamed, 413)
        small = client.post(IMPORT, content=fixture_bytes("demo-export.json"))
        assert small.status_code == 200, small.text
        # Other routes keep the general limit.
        assert_problem(
            client.post("/api/capital-history/add-source", content=b" " * 2_000_000), 413
        )
    assert stored_rows(tenant.org_id) == (30, 7, 1)


def test_the_general_limit_does_not_apply_to_the_import(api: Api, tenant: Tenant) -> None:
    raw = load("large-export.json")
    content = dumps(raw).encode()
    assert len(content) > 3 * 1024 * 1024
    answer = post_import(api.as_user(tenant.editor), content, dry_run=True)
    assert answer.status_code == 200 and answer.json()["imported"] == 12000
    assert answer.headers["content-type"] != PROBLEM


def test_lone_surrogates_are_problems_not_failures(api: Api, tenant: Tenant) -> None:
    raw = load("demo-export.json")
    text_in = dumps(raw).replace('"createdBy": "demo-user"', '"createdBy": "\\ud800"', 1)
    text_in = text_in.replace('"hist_1705914000000_10epf"', '"hist_\\udc00"', 1)
    text_in = text_in.replace('"action": "ADDED"', '"\\ud801": 1, "action": "ADDED"', 1)
    for dry_run in (True, False):
        answer = post_import(api.as_user(tenant.editor), text_in, dry_run=dry_run)
        assert answer.status_code == (200 if dry_run else 422), answer.text
        fields = {(e["index"], e["field"]) for e in answer.json()["errors"]}
        assert {(0, "id"), (2, "createdBy")} <= fields
        assert len(answer.json()["errors"]) >= 3
    assert stored_rows(tenant.org_id) == (0, 0, 0)
