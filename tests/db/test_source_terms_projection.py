"""A source's currency and kind on its projection row (migration 0014) are its ADDED
entry's, whichever way the source got there: a command, an import, a bulk insert, a
rebuild, a restore. Reads take them from the projection, so a wrong copy would show."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from capital_app.db.engine import owner_engine
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.currencies import Kind
from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from capital_app.service import reports
from capital_app.service.backup import BackupRefused, backup_organization, restore_backup
from capital_app.service.history_import import import_history
from capital_app.service.projections import rebuild_projections, verify_projections
from capital_app.service.spreadsheet_import import import_spreadsheet
from tests.support.bulk_history import seed_bulk_history
from tests.support.factories import Tenant, days_ago
from tests.support.prototype import FIXTURES

# Every source's terms on both sides, and the sources where they differ (or one is
# missing): read as the owner, so RLS hides nothing from the comparison.
_BOTH = text(
    """
    SELECT coalesce(s.source_id, h.source_id) AS source_id, s.currency, s.kind,
           h.currency AS added_currency, h.kind AS added_kind
      FROM (SELECT * FROM capital_source WHERE organization_id = :org) s
      FULL JOIN (SELECT * FROM capital_history
                  WHERE organization_id = :org AND action = 'ADDED') h
        ON h.source_id = s.source_id
     ORDER BY 1
    """
)


def projection_terms(org: UUID) -> dict[str, tuple[str, str]]:
    """Source id → (currency, kind) of its projection row; fails if any row's terms are
    not its ADDED entry's, or a row or an entry has no counterpart."""
    engine = owner_engine()
    with engine.connect() as conn:
        rows = conn.execute(_BOTH, {"org": org}).all()
    engine.dispose()
    wrong = [r for r in rows if (r.currency, r.kind) != (r.added_currency, r.added_kind)]
    assert wrong == []
    return {r.source_id: (r.currency, r.kind) for r in rows}


def _mixed_sources(tenant: Tenant) -> dict[str, tuple[str, str]]:
    """A source in the organization's currency (KES, debt by default), a USD equity one
    and a EUR debt one, each changed and one removed: source id → expected terms."""
    editor = tenant.actor()
    expected: dict[str, tuple[str, str]] = {}
    for name, currency, kind in (("KCB loan", None, None), ("IFC equity", "USD", "equity"),
                                 ("EIB line", "EUR", "debt")):  # fmt: skip
        extra = {"currency": currency, "kind": kind} if currency else {}
        sid = commands.add_source(
            editor,
            name=name,
            annual_rate=Decimal("0.12"),
            available_cents=1_000_000_00,
            effective_date=days_ago(40),
            **extra,
        ).source_id
        commands.update_rate(
            editor, source_id=sid, annual_rate=Decimal("0.13"), effective_date=days_ago(20)
        )
        expected[sid] = (currency or "KES", kind or "debt")
    commands.remove_source(editor, source_id=next(iter(expected)), effective_date=days_ago(5))
    return expected


def test_commands_copy_the_added_entrys_terms_and_every_read_shows_them(tenant: Tenant) -> None:
    expected = _mixed_sources(tenant)
    assert projection_terms(tenant.org_id) == expected
    viewer = tenant.actor("VIEWER")
    want = {sid: (c, Kind(k)) for sid, (c, k) in expected.items()}
    active = {sid: t for sid, t in want.items() if sid != next(iter(expected))}
    assert {s.source_id: (s.currency, s.kind) for s in queries.active_sources(viewer)} == active
    past = queries.active_sources(viewer, as_of=days_ago(30))
    assert {s.source_id: (s.currency, s.kind) for s in past} == want
    lines = reports.source_list(viewer).sources
    assert {s.source_id: (s.currency, s.kind) for s in lines} == want
    for sid, (currency, kind) in want.items():
        detail = reports.source_detail(viewer, sid)
        assert (detail.currency, detail.line and detail.line.kind) == (currency, kind)
    page = reports.history_view(viewer, limit=2, order="recorded_desc")
    assert {e.source_id for e in page.entries} == set(page.currencies)
    assert page.currencies == {e.source_id: want[e.source_id][0] for e in page.entries}
    dashboard = reports.dashboard_summary(viewer)
    assert dashboard.currencies == {e.source_id: want[e.source_id][0] for e in dashboard.recent}


def test_imports_and_bulk_inserts_copy_the_terms(tenant: Tenant) -> None:
    import_history(tenant.actor(), (FIXTURES / "demo-export.json").read_bytes())
    import_spreadsheet(
        tenant.actor(),
        b"Source,Action,Amount,Rate,Effective date\nSheet loan,add,100.00,10,2025-01-15\n",
        file_name="sources.csv",
    )
    seed_bulk_history(tenant.org_id, tenant.editor.id, sources=5, per_source=4)
    terms = projection_terms(tenant.org_id)
    assert len(terms) > 7 and set(terms.values()) == {("KES", "debt")}
    assert verify_projections(tenant.org_id).clean


def test_the_runtime_role_may_not_write_the_terms(tenant: Tenant) -> None:
    sid = list(_mixed_sources(tenant))[1]
    with pytest.raises(DBAPIError, match="permission denied"):
        with tenant_transaction(tenant.org_id) as conn:
            conn.execute(
                text("UPDATE capital_source SET currency = 'JPY' WHERE source_id = :sid"),
                {"sid": sid},
            )


def _set_projection_currency(org: UUID, source_id: str, currency: str) -> None:
    engine = owner_engine()
    with engine.begin() as conn:  # a bug or a bad manual fix
        conn.execute(
            text(
                "UPDATE capital_source SET currency = :c"
                " WHERE organization_id = :org AND source_id = :sid"
            ),
            {"c": currency, "org": org, "sid": source_id},
        )
    engine.dispose()


def test_verify_finds_a_wrong_copy_and_rebuild_repairs_it(tenant: Tenant) -> None:
    expected = _mixed_sources(tenant)
    usd = next(sid for sid, terms in expected.items() if terms[0] == "USD")
    _set_projection_currency(tenant.org_id, usd, "GBP")
    found = verify_projections(tenant.org_id).differences
    assert [(d.source_id, d.problem, d.fields) for d in found] == [(usd, "differs", ("currency",))]
    assert rebuild_projections(tenant.org_id).corrected == 1
    assert projection_terms(tenant.org_id) == expected
    assert verify_projections(tenant.org_id).clean


@pytest.fixture
def work_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="capital-terms-backup-") as path:
        yield Path(path)


def _tamper(source: Path, target: Path, old: bytes, new: bytes) -> None:
    """A copy of a backup whose capital_source rows say `new` where they said `old`, its
    manifest's checksum updated to match (a consistent archive with a wrong copy)."""
    with tarfile.open(source) as archive:
        members = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]
    name = "tables/capital_source.copy"
    assert old in members[name]
    members[name] = members[name].replace(old, new)
    manifest = json.loads(members["manifest.json"])
    for entry in manifest["files"]:
        if entry["file"] == name:
            entry["sha256"] = hashlib.sha256(members[name]).hexdigest()
            entry["bytes"] = len(members[name])
    members["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(target, "w:gz") as out:
        for member_name, data in members.items():
            info = tarfile.TarInfo(member_name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))


def test_a_restore_keeps_the_terms_and_refuses_a_backup_whose_copy_is_wrong(
    tenant: Tenant, work_dir: Path
) -> None:
    expected = _mixed_sources(tenant)
    archive = work_dir / "org.tar.gz"
    backup_organization(str(tenant.org_id), archive)
    restored = restore_backup(archive, replace=True)
    assert restored.replaced
    assert projection_terms(tenant.org_id) == expected
    assert verify_projections(tenant.org_id).clean

    tampered = work_dir / "tampered.tar.gz"
    _tamper(archive, tampered, b"\tUSD\tequity", b"\tGBP\tequity")
    with pytest.raises(BackupRefused, match="does not match its history"):
        restore_backup(tampered, replace=True)
    assert projection_terms(tenant.org_id) == expected
