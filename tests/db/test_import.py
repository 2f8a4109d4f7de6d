"""Importing prototype exports into real PostgreSQL: exact, all-or-nothing, idempotent."""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

import capital_app.service.history_import as history_import
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.values import Action
from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from capital_app.service.errors import Forbidden, Unauthenticated, WriteConflict
from capital_app.service.history_export import export_history
from capital_app.service.history_import import ImportRefused, ImportReport, import_history
from capital_app.service.projections import rebuild_projections
from capital_app.service.users import update_user
from tests.support.factories import Tenant, add_source, make_tenant
from tests.support.imported import assert_stored_as_folded, probe_moments
from tests.support.prototype import (
    FIXTURES,
    dumps,
    independent_wacc,
    js_noise,
    load,
    parse_iso,
    random_history,
)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def run(tenant: Tenant, content: bytes | str, **kwargs: object) -> ImportReport:
    return import_history(tenant.actor(), content, file_name="export.json", **kwargs)


def stored_rows(org: UUID) -> tuple[int, int, int]:
    """(history entries, projection rows, import log rows) of one organization."""
    with tenant_transaction(org, read_only=True) as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE organization_id = :org"), {"org": org}
            ).scalar_one()
            for table in ("capital_history", "capital_source", "import_log")
        )


def export_text(tenant: Tenant, fmt: str = "json") -> str:
    from capital_app.domain.export_format import ExportFormat

    return "".join(export_history(tenant.actor("VIEWER"), ExportFormat(fmt)))


def assert_matches_independent_fold(tenant: Tenant, raw: list[dict]) -> None:
    assert_stored_as_folded(tenant, raw)
    actor = tenant.actor("VIEWER")
    for moment in probe_moments(raw, datetime.now(UTC)):
        answer = queries.wacc(actor, as_of=moment)
        total, wacc = independent_wacc(raw, moment)
        assert (answer.summary.total_cents, answer.summary.wacc) == (total, wacc), moment


# --- the sample exports ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["demo-export.json", "large-export.json"])
def test_the_sample_exports_import_exactly(tenant: Tenant, name: str) -> None:
    raw = load(name)
    report = run(tenant, fixture_bytes(name))
    assert report.ok and not report.dry_run
    assert (report.entries_in_file, report.imported, report.skipped) == (len(raw), len(raw), 0)
    counts = Counter(e["action"] for e in raw)
    assert {a.value: n for a, n in report.imported_by_action.items()} == {
        a.value: counts.get(a.value, 0) for a in Action
    }
    assert report.sources_in_file == report.new_sources == len({e["sourceId"] for e in raw})
    total, wacc = independent_wacc(raw)
    assert report.after is not None
    assert (report.after.total_cents, report.after.wacc) == (total, wacc)
    assert_matches_independent_fold(tenant, raw)
    assert rebuild_projections(tenant.org_id).corrected == 0  # projection == fold of history


def test_ids_dates_and_creators_are_kept_and_the_importer_recorded(tenant: Tenant) -> None:
    raw = load("demo-export.json")
    content = fixture_bytes("demo-export.json")
    report = run(tenant, content)
    with tenant_transaction(tenant.org_id, read_only=True) as conn:
        log = (
            conn.execute(
                text("SELECT * FROM import_log WHERE organization_id = :org"),
                {"org": tenant.org_id},
            )
            .mappings()
            .one()
        )
        rows = {
            r["id"]: r
            for r in conn.execute(
                text("SELECT * FROM capital_history WHERE organization_id = :org"),
                {"org": tenant.org_id},
            ).mappings()
        }
    assert log["id"] == report.import_id
    assert log["imported_by"] == tenant.editor.id
    assert log["file_name"] == "export.json"
    assert log["content_sha256"] == hashlib.sha256(content).hexdigest()
    assert (log["entries_in_file"], log["imported_count"], log["skipped_count"]) == (30, 30, 0)
    assert log["revision"] == report.revision
    assert set(rows) == {e["id"] for e in raw}
    for entry in raw:
        row = rows[entry["id"]]
        assert row["source_id"] == entry["sourceId"]
        assert row["effective_date"] == parse_iso(entry["effectiveDate"])
        # The file's own recording is kept apart; the database stamped its own.
        assert row["original_created_at"] == parse_iso(entry["createdAt"])
        assert row["original_created_by"] == entry.get("createdBy")
        assert row["created_at"] == log["imported_at"]
        assert row["created_by"] == str(tenant.editor.id)
        assert row["notes"] == entry.get("notes")
        assert row["recorded_by"] == tenant.editor.id
        assert row["import_id"] == report.import_id
        assert row["revision"] == report.revision


# --- round trip and idempotence --------------------------------------------------------------


def test_export_import_export_is_byte_identical(tenant: Tenant, other_tenant: Tenant) -> None:
    run(tenant, fixture_bytes("large-export.json"))
    first = export_text(tenant)
    report = run(other_tenant, first)
    assert (report.imported, report.skipped, report.errors) == (12000, 0, [])
    assert export_text(other_tenant) == first
    assert export_text(other_tenant, "csv") == export_text(tenant, "csv")


def test_a_history_made_here_round_trips_with_its_sequences(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    actor = tenant.actor()
    loan = add_source(actor, name="Loan ✓", cents=100_000_00, rate="0.1", days=90)
    now = datetime.now(UTC)
    commands.update_amount(
        actor, source_id=loan, available_cents=150_000_00, effective_date=now - timedelta(days=10)
    )
    commands.update_rate(  # backdated: recorded after, effective before
        actor, source_id=loan, annual_rate=Decimal("0.125"), effective_date=now - timedelta(days=60)
    )
    commands.update_amount(  # same effective date as an earlier change
        actor,
        source_id=loan,
        available_cents=90_000_00,
        effective_date=now - timedelta(days=10),
        notes='correction, "second"\nline',
    )
    other = add_source(actor, name="Equity", cents=5_000_00, rate="0.2", days=20)
    commands.remove_source(actor, source_id=other, effective_date=now - timedelta(days=1))
    first = export_text(tenant)
    run(other_tenant, first)
    assert export_text(other_tenant) == first
    for source_id in (loan, other):
        assert queries.get_source(other_tenant.actor(), source_id) == queries.get_source(
            tenant.actor(), source_id
        )


def test_re_importing_the_same_file_adds_nothing(tenant: Tenant) -> None:
    content = fixture_bytes("large-export.json")
    run(tenant, content)
    before = queries.current_revision(tenant.actor())
    again = run(tenant, content)
    assert (again.imported, again.skipped, again.errors) == (0, 12000, [])
    assert stored_rows(tenant.org_id)[:2] == (12000, 40)
    assert again.after is not None
    assert again.after.total_cents == independent_wacc(load("large-export.json"))[0]
    assert queries.current_revision(tenant.actor()) >= before


def test_a_longer_export_adds_only_the_new_entries(tenant: Tenant) -> None:
    raw = load("demo-export.json")
    run(tenant, dumps(raw[:17]))
    report = run(tenant, dumps(raw))
    assert (report.imported, report.skipped) == (13, 17)
    assert_matches_independent_fold(tenant, raw)


def test_an_entry_edited_since_it_was_imported_is_refused(tenant: Tenant) -> None:
    raw = load("demo-export.json")
    run(tenant, dumps(raw))
    raw[5]["notes"] = "edited later"
    with pytest.raises(ImportRefused) as refused:
        run(tenant, dumps(raw))
    assert [(p.index, p.field) for p in refused.value.report.errors] == [(5, "notes")]
    assert stored_rows(tenant.org_id) == (30, 7, 1)


def test_new_entries_cannot_land_behind_changes_made_here(tenant: Tenant) -> None:
    raw = load("demo-export.json")
    run(tenant, dumps(raw))
    source = "src_1719738000000_saj08"  # Kiva zero-interest pool, still active
    commands.update_amount(
        tenant.actor(), source_id=source, available_cents=1, effective_date=datetime.now(UTC)
    )
    assert run(tenant, dumps(raw)).imported == 0  # the same file again is still fine
    later = dict(
        raw[-1],
        id="hist_new",
        effectiveDate="2025-09-01T09:00:00.000Z",
        createdAt="2025-09-01T09:00:00.000Z",
        previousAmount=32715572500,
        availableCents=5,
    )
    with pytest.raises(ImportRefused) as refused:
        run(tenant, dumps([*raw, later]))
    assert [(p.index, p.field) for p in refused.value.report.errors] == [(30, "sequence")]


def test_a_second_organization_imports_the_same_file(tenant: Tenant, other_tenant: Tenant) -> None:
    content = fixture_bytes("demo-export.json")
    assert run(tenant, content).imported == 30
    assert run(other_tenant, content).imported == 30
    assert export_text(tenant) == export_text(other_tenant)
    assert stored_rows(tenant.org_id) == stored_rows(other_tenant.org_id) == (30, 7, 1)


# --- all or nothing ---------------------------------------------------------------------------


def test_one_bad_entry_in_the_middle_writes_nothing_and_every_error_is_reported(
    tenant: Tenant,
) -> None:
    raw = load("large-export.json")
    raw[6000]["annualRate"] = Decimal("0.12345678")
    raw[6001]["bogus"] = True
    raw[7000]["previousAmount"] = 1
    with pytest.raises(ImportRefused) as refused:
        run(tenant, dumps(raw))
    report = refused.value.report
    found = {(p.index, p.field) for p in report.errors}
    assert {(6000, "annualRate"), (6001, "bogus")} <= found
    assert any(p.index == 7000 for p in report.errors) or raw[7000]["action"] != "AMOUNT_CHANGED"
    assert report.after is None and report.import_id is None
    assert stored_rows(tenant.org_id) == (0, 0, 0)
    assert {f.field for f in refused.value.field_errors} >= {"[6000].annualRate", "[6001].bogus"}


def test_a_bad_last_entry_of_a_large_streamed_file_leaves_nothing_stored(
    tenant: Tenant,
) -> None:
    """Two copies of the 12,000-entry sample (other ids), read in 4 KB chunks as a request
    body arrives: the one problem is the very last entry, after every other was read."""
    raw = load("large-export.json")
    copy = [
        {**e, "id": f"{e['id']}-b", "sourceId": f"{e['sourceId']}-b", "name": f"{e['name']} B"}
        for e in raw
    ]
    entries = raw + copy
    last = len(entries) - 1
    entries[last] = {**entries[last], "availableCents": "12"}  # text, not a number
    content = dumps(entries).encode()
    assert len(content) > 5_000_000

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(content), 4096):
            yield content[start : start + 4096]

    with pytest.raises(ImportRefused) as refused:
        run(tenant, chunks())
    report = refused.value.report
    assert [(p.index, p.field) for p in report.errors] == [(last, "availableCents")]
    assert report.entries_in_file == len(entries) and report.imported == 0
    assert stored_rows(tenant.org_id) == (0, 0, 0)
    dry = run(tenant, chunks(), dry_run=True)
    assert [(p.index, p.field) for p in dry.errors] == [(last, "availableCents")]
    assert stored_rows(tenant.org_id) == (0, 0, 0)


def test_a_database_refusal_in_a_late_batch_undoes_the_earlier_ones(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = history_import._statements

    def corrupted(plan):  # the last source of the last statement skips a sequence
        statements = real(plan)
        source_id, low, high = statements[-1][-1]
        assert low < high - 1
        statements[-1][-1:] = [(source_id, low, high - 2), (source_id, high, high)]
        return statements

    monkeypatch.setattr(history_import, "_statements", corrupted)
    with pytest.raises(WriteConflict):
        run(tenant, fixture_bytes("large-export.json"))
    assert stored_rows(tenant.org_id) == (0, 0, 0)


def test_a_projection_that_disagrees_with_the_file_undoes_the_import(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    real = history_import._plan

    def skewed(conn, org, legacy):
        plan = real(conn, org, legacy)
        source_id = next(iter(plan.final))
        plan.final[source_id] = replace(plan.final[source_id], available_cents=1)
        return plan

    monkeypatch.setattr(history_import, "_plan", skewed)
    with pytest.raises(WriteConflict):
        run(tenant, fixture_bytes("demo-export.json"))
    assert stored_rows(tenant.org_id) == (0, 0, 0)


# --- dry run -------------------------------------------------------------------------------------


def test_a_dry_run_reports_what_the_import_does_and_writes_nothing(tenant: Tenant) -> None:
    content = fixture_bytes("demo-export.json")
    revision = queries.current_revision(tenant.actor())
    dry = run(tenant, content, dry_run=True)
    assert stored_rows(tenant.org_id) == (0, 0, 0)
    assert queries.current_revision(tenant.actor()) == revision
    assert dry.dry_run and dry.import_id is None
    real = run(tenant, content)
    for field in (
        "entries_in_file",
        "imported",
        "skipped",
        "imported_by_action",
        "errors",
        "sources_in_file",
        "new_sources",
        "first_effective_date",
        "last_effective_date",
        "after",
        "content_sha256",
    ):
        assert getattr(dry, field) == getattr(real, field), field
    assert dry.first_effective_date == datetime(2024, 1, 22, 9, tzinfo=UTC)
    assert dry.last_effective_date == datetime(2025, 8, 24, 9, tzinfo=UTC)
    now = queries.wacc(tenant.actor()).summary
    assert real.after == now


def test_a_dry_run_of_a_bad_file_reports_the_problems_without_raising(tenant: Tenant) -> None:
    raw = load("demo-export.json")
    raw[3]["availableCents"] = Decimal("1.5")
    report = run(tenant, dumps(raw), dry_run=True)
    assert [(p.index, p.field) for p in report.errors] == [(3, "availableCents")]
    assert report.after is None
    assert stored_rows(tenant.org_id) == (0, 0, 0)


# --- the file's details ------------------------------------------------------------------------


def test_float_noise_is_stored_and_exported_exactly(tenant: Tenant) -> None:
    raw = load("demo-export.json")
    noise = {i: js_noise(e["annualRate"]) for i, e in enumerate(raw)}
    text_in = dumps(raw, noise)
    assert js_noise(Decimal("0.2583")) in text_in and len(js_noise(Decimal("0.2583"))) > 18
    run(tenant, text_in)
    exported = export_text(tenant)
    assert '"annualRate": 0.2583,' in exported
    assert not re.search(r'Rate": 0\.\d{7,}', exported)
    state = queries.get_source(tenant.actor(), "src_1705914000000_91dho")
    assert str(state.annual_rate) == "0.148900"


def test_absent_optional_keys_are_filled_or_left_empty(tenant: Tenant) -> None:
    raw = load("demo-export.json")
    for entry in raw:
        entry.pop("previousRate", None)
        entry.pop("previousAmount", None)
        entry.pop("notes", None)
        entry.pop("createdBy", None)
    run(tenant, dumps(raw))
    history = queries.source_history(tenant.actor(), "src_1709370000000_dn581")
    rate_change = next(e for e in history if e.action is Action.RATE_CHANGED)
    amount_change = next(e for e in history if e.action is Action.AMOUNT_CHANGED)
    assert rate_change.previous_rate == Decimal("0.1286")
    assert amount_change.previous_amount == 24997809800
    assert all(e.notes is None and e.original_created_by is None for e in history)


def test_unknown_fields_are_refused_by_name(tenant: Tenant) -> None:
    raw = load("demo-export.json")
    raw[2]["currency"] = "USD"
    with pytest.raises(ImportRefused) as refused:
        run(tenant, dumps(raw))
    assert [(p.index, p.field) for p in refused.value.report.errors] == [(2, "currency")]
    assert stored_rows(tenant.org_id) == (0, 0, 0)


def test_unicode_notes_and_names_are_kept_exactly(tenant: Tenant) -> None:
    raw = load("demo-export.json")
    notes = 'Überbrückung — ok ✓ · 季度调整 · שלום · 🚀 "quoted"\nsecond line'
    raw[0]["notes"] = notes
    for entry in raw:
        if entry["sourceId"] == raw[0]["sourceId"]:
            entry["name"] = "Banque Überbrückung ✓"
    run(tenant, dumps(raw))
    [first, *_] = queries.source_history(tenant.actor(), raw[0]["sourceId"])
    assert (first.notes, first.name) == (notes, "Banque Überbrückung ✓")
    assert json.loads(export_text(tenant))[0]["notes"] == notes


def test_a_name_used_by_an_active_source_here_is_a_problem(tenant: Tenant) -> None:
    add_source(tenant.actor(), name="kcb TERM loan")
    with pytest.raises(ImportRefused) as refused:
        run(tenant, fixture_bytes("demo-export.json"))
    assert [(p.index, p.field) for p in refused.value.report.errors] == [(18, "name")]


def test_a_removed_source_here_does_not_block_its_name(tenant: Tenant) -> None:
    source = add_source(tenant.actor(), name="KCB term loan", days=400)
    commands.remove_source(tenant.actor(), source_id=source, effective_date=datetime.now(UTC))
    assert run(tenant, fixture_bytes("demo-export.json")).ok


def test_a_removed_and_a_re_added_source_of_one_name_import_together(tenant: Tenant) -> None:
    raw = load("demo-export.json")
    angel = "src_1712826000000_0ce9u"  # removed on 15 Jul 2025
    raw.append(
        {
            "id": "hist_again",
            "effectiveDate": "2025-08-30T09:00:00.000Z",
            "sourceId": "src_again",
            "name": "Angel round notes",
            "annualRate": Decimal("0.1"),
            "availableCents": 5,
            "action": "ADDED",
            "createdAt": "2025-08-30T09:05:00.000Z",
        }
    )
    report = run(tenant, dumps(raw))
    assert report.ok
    assert not queries.get_source(tenant.actor(), angel).active
    assert queries.get_source(tenant.actor(), "src_again").active


# --- who may import, and what listeners hear ----------------------------------------------------


def test_a_viewer_may_not_import_even_as_a_dry_run(tenant: Tenant) -> None:
    for dry_run in (True, False):
        with pytest.raises(Forbidden):
            import_history(
                tenant.actor("VIEWER"), fixture_bytes("demo-export.json"), dry_run=dry_run
            )
    assert stored_rows(tenant.org_id) == (0, 0, 0)
    assert run(tenant, fixture_bytes("demo-export.json")).ok  # an editor may
    assert import_history(tenant.actor("ADMIN"), fixture_bytes("demo-export.json")).skipped == 30


def test_a_deactivated_user_may_not_import(tenant: Tenant) -> None:
    update_user(tenant.actor("ADMIN"), tenant.editor.id, active=False)
    with pytest.raises(Unauthenticated):
        run(tenant, fixture_bytes("demo-export.json"))


def test_an_import_wakes_listeners_once_per_statement(database_url: str) -> None:
    tenant = make_tenant("Listen")
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute("LISTEN capital_history")
        report = run(tenant, fixture_bytes("large-export.json"))
        payloads = [json.loads(n.payload) for n in listener.notifies(timeout=3)]
    mine = [p for p in payloads if p["organizationId"] == str(tenant.org_id)]
    # One per statement (3), fewer when PostgreSQL folds identical payloads; not 12,000.
    statements = -(-12000 // history_import.BATCH_ROWS)
    assert 1 <= len(mine) <= statements
    assert {p["entries"] for p in mine} == {
        history_import.BATCH_ROWS,
        12000 % history_import.BATCH_ROWS,
    }
    assert {p["revision"] for p in mine} == {report.revision}
    assert all(p["sourceId"] is None and p["entryId"] is None for p in mine)


# --- any consistent history --------------------------------------------------------------------


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10**6), sources=st.integers(1, 4), changes=st.integers(0, 40))
def test_any_consistent_history_imports_as_its_independent_fold(
    database_url: str, seed: int, sources: int, changes: int
) -> None:
    """Backdated corrections, same-day changes, removals: the stored answers match."""
    raw = random_history(random.Random(seed), sources=sources, changes=changes)
    tenant = make_tenant("Any")
    content = dumps(raw)
    report = run(tenant, content)
    assert (report.imported, report.errors) == (len(raw), [])
    assert_matches_independent_fold(tenant, raw)
    assert rebuild_projections(tenant.org_id).corrected == 0
    assert run(tenant, content).skipped == len(raw)


def test_an_entry_slipped_in_before_imported_ones_is_refused(tenant: Tenant) -> None:
    raw = load("demo-export.json")
    run(tenant, dumps(raw))
    added = next(e for e in raw if e["sourceId"] == "src_1719738000000_saj08")
    early = {  # consistent on its own: an amount "change" to the same amount
        **added,
        "id": "hist_slipped",
        "action": "AMOUNT_CHANGED",
        "previousAmount": added["availableCents"],
        "effectiveDate": "2024-07-01T00:00:00.000Z",
        "createdAt": "2024-07-01T00:00:00.000Z",
    }
    with pytest.raises(ImportRefused) as refused:
        run(tenant, dumps([*raw, early]))
    problems = refused.value.report.errors
    assert problems and {p.field for p in problems} == {"sequence"}
    assert any("cannot be reordered" in p.message for p in problems)
    assert stored_rows(tenant.org_id) == (30, 7, 1)


def test_a_command_during_an_import_waits_for_it_and_comes_after(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both take the revision counter first: they queue, they never deadlock or interleave."""
    real_write = history_import._write
    written, release = threading.Event(), threading.Event()

    def write_then_hold(*args: object, **kwargs: object) -> None:
        real_write(*args, **kwargs)
        written.set()
        assert release.wait(20)

    monkeypatch.setattr(history_import, "_write", write_then_hold)
    results: dict[str, object] = {}
    importer = threading.Thread(
        target=lambda: results.update(report=run(tenant, fixture_bytes("demo-export.json")))
    )
    importer.start()
    assert written.wait(20)
    command = threading.Thread(
        target=lambda: results.update(source=add_source(tenant.actor(), name="Added meanwhile"))
    )
    command.start()
    command.join(0.5)
    assert command.is_alive()  # queued behind the import's lock
    release.set()
    importer.join(20)
    command.join(20)
    report = results["report"]
    [entry] = queries.source_history(tenant.actor(), results["source"])  # type: ignore[arg-type]
    assert entry.revision is not None and report.revision is not None  # type: ignore[attr-defined]
    assert entry.revision > report.revision  # type: ignore[attr-defined]
    assert stored_rows(tenant.org_id) == (31, 8, 1)


def test_content_may_come_as_text_a_file_or_chunks(tenant: Tenant, other_tenant: Tenant) -> None:
    data = fixture_bytes("demo-export.json")
    pieces = iter([data[i : i + 777] for i in range(0, len(data), 777)])
    seen: list[tuple[str, int, int]] = []
    report = import_history(
        tenant.actor(),
        pieces,
        progress=lambda phase, done, total: seen.append((phase, done, total)),
    )
    assert report.imported == 30
    assert report.content_sha256 == hashlib.sha256(data).hexdigest()
    assert seen[-1] == ("writing", 30, 30) and ("checking", 30, 30) in seen
    with (FIXTURES / "demo-export.json").open("rb") as handle:
        assert import_history(other_tenant.actor(), handle, dry_run=True).imported == 30
    assert import_history(other_tenant.actor(), data.decode(), dry_run=True).imported == 30
