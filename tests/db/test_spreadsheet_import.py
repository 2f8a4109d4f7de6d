"""Spreadsheet import into real PostgreSQL: the prototype import's guarantees, from rows."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import openpyxl
import pytest
from sqlalchemy import text

from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.spreadsheet_rows import ColumnMapping, Field, RateUnit
from capital_app.domain.values import Action
from capital_app.service import history_queries as queries
from capital_app.service.audit import list_audit_events
from capital_app.service.errors import Forbidden
from capital_app.service.history_import import ImportRefused
from capital_app.service.organizations import update_organization_settings
from capital_app.service.projections import rebuild_projections
from capital_app.service.spreadsheet_import import import_spreadsheet, preview_spreadsheet
from tests.support.factories import Tenant, add_source

HEADER = "Source,Action,Amount,Rate,Effective date,Notes\n"
GOOD = (
    HEADER + 'KCB term loan,add,"2,500,000.00",13.25,2025-01-15,first\n'
    'Equity overdraft,add,"500,000.00",14.5,2025-02-01,\n'
    'KCB term loan,change amount,"2,000,000.00",,2025-06-30,repaid in part\n'
    "Equity overdraft,change rate,,15,2025-07-01,\n"
    "Equity overdraft,remove,,,2025-09-30,closed\n"
)


def stored(org: UUID) -> tuple[int, int, int, int]:
    """(entries, projection rows, import log rows, audit rows) of one organization."""
    with tenant_transaction(org, read_only=True) as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE organization_id = :org"), {"org": org}
            ).scalar_one()
            for table in ("capital_history", "capital_source", "import_log", "audit_event")
        )


def by_name(tenant: Tenant) -> dict[str, object]:
    return {s.name: s for s in queries.active_sources(tenant.actor("VIEWER"))}


def test_a_csv_of_sources_and_changes_imports_exactly(tenant: Tenant) -> None:
    result = import_spreadsheet(tenant.actor(), GOOD.encode(), file_name="sources.csv")
    report = result.report
    assert report.ok and report.imported == 5 and report.new_sources == 2
    assert report.imported_by_action == {
        Action.ADDED: 2,
        Action.AMOUNT_CHANGED: 1,
        Action.RATE_CHANGED: 1,
        Action.REMOVED: 1,
    }
    active = by_name(tenant)
    assert list(active) == ["KCB term loan"]
    kcb = active["KCB term loan"]
    assert (kcb.available_cents, kcb.annual_rate) == (200000000, Decimal("0.1325"))
    assert report.after is not None and report.after.total_cents == 200000000
    # As of 1 Jul 2025 both sources were active, at their terms of that day.
    then = queries.wacc(tenant.actor("VIEWER"), as_of=datetime(2025, 7, 1, 12, tzinfo=UTC))
    assert then.summary.total_cents == 200000000 + 50000000
    assert rebuild_projections(tenant.org_id).corrected == 0
    history = queries.list_history(tenant.actor("VIEWER"), limit=10).entries
    assert {e.notes for e in history} >= {"first", "repaid in part", "closed"}
    assert all(e.recorded_by == tenant.editor.id and e.import_id for e in history)


def test_the_audit_entry_names_the_file_format_and_mapping(tenant: Tenant) -> None:
    result = import_spreadsheet(tenant.actor(), GOOD.encode(), file_name="sources.csv")
    (event,) = [
        e for e in list_audit_events(tenant.actor("ADMIN")) if e.action == "history.imported"
    ]
    assert event.details["importId"] == str(result.report.import_id)
    assert event.details["fileName"] == "sources.csv"
    assert event.details["format"] == "csv" and event.details["rows"] == 5
    assert event.details["mapping"]["columns"]["amount"] == "Amount"


def test_a_bad_row_at_the_end_leaves_nothing_stored(tenant: Tenant) -> None:
    add_source(tenant.actor(), name="Stanbic", cents=100_00, days=400)
    before = stored(tenant.org_id)
    content = (GOOD + "KCB term loan,change rate,,abc,2025-10-01,\n").encode()
    with pytest.raises(ImportRefused) as refused:
        import_spreadsheet(tenant.actor(), content, file_name="sources.csv")
    report = refused.value.report
    assert [(p.index, p.field) for p in report.errors] == [(7, "rate")]
    assert report.imported == 0 and report.after is None
    assert stored(tenant.org_id) == before
    assert list(by_name(tenant)) == ["Stanbic"]


def test_a_dry_run_lists_every_problem_and_writes_nothing(tenant: Tenant) -> None:
    before = stored(tenant.org_id)
    content = (
        HEADER + "A,add,-1,13,2025-01-01,\n"
        "B,add,100,120,2025-01-01,\n"
        "C,add,100,10,03/04/2025,\n"
        "D,change amount,5,,2025-01-01,\n"
        "E,add,100,10,2025-01-01,\n"
        "E,add,100,10,2025-01-01,\n"
    ).encode()
    result = import_spreadsheet(tenant.actor(), content, dry_run=True)
    assert result.report.dry_run and not result.report.ok
    assert [(p.index, p.field) for p in result.report.errors] == [
        (2, "amount"),
        (3, "rate"),
        (4, "effectiveDate"),
        (5, "source"),
        (7, None),
    ]
    assert stored(tenant.org_id) == before
    clean = import_spreadsheet(tenant.actor(), GOOD.encode(), dry_run=True)
    assert clean.report.ok and clean.report.imported == 5
    assert stored(tenant.org_id) == before


def test_changes_of_stored_sources_and_a_backdated_one(tenant: Tenant) -> None:
    source_id = add_source(
        tenant.actor(), name="NCBA facility", cents=1_000_000_00, rate="0.12", days=300
    )
    day = (datetime.now(UTC) - timedelta(days=200)).date().isoformat()
    earlier = (datetime.now(UTC) - timedelta(days=250)).date().isoformat()
    content = (
        HEADER + f"ncba FACILITY,change rate,,12.5,{day},\n"
        f"NCBA facility,change amount,900000,,{earlier},backdated\n"
    ).encode()
    result = import_spreadsheet(tenant.actor(), content)
    assert result.report.ok and result.report.new_sources == 0
    state = queries.get_source(tenant.actor("VIEWER"), source_id)
    assert (state.sequence, state.available_cents, state.annual_rate) == (
        3,
        90000000,
        Decimal("0.125"),
    )
    entries = queries.source_history(tenant.actor("VIEWER"), source_id)
    backdated = next(e for e in entries if e.notes == "backdated")
    assert backdated.annual_rate == Decimal("0.12")  # the rate in effect on its date
    assert rebuild_projections(tenant.org_id).corrected == 0


def test_a_name_already_active_here_is_a_problem(tenant: Tenant) -> None:
    add_source(tenant.actor(), name="KCB term loan")
    result = import_spreadsheet(tenant.actor(), GOOD.encode(), dry_run=True)
    first, second = result.report.errors
    assert (first.index, first.field) == (2, "source") and "already has it" in first.message
    # Row 4 then names the stored source, added 30 days ago: its change is too early.
    assert (second.index, second.field) == (4, "effectiveDate")
    assert "before the source was added" in second.message


def test_another_organizations_sources_are_invisible(tenant: Tenant, other_tenant: Tenant) -> None:
    add_source(other_tenant.actor(), name="Secret loan", cents=777_00)
    before = stored(other_tenant.org_id)
    content = (HEADER + "Secret loan,change amount,1,,2025-01-01,\n").encode()
    with pytest.raises(ImportRefused) as refused:
        import_spreadsheet(tenant.actor(), content)
    assert "No source called “Secret loan”" in refused.value.report.errors[0].message
    # and the same name is free to add here
    adds = (HEADER + "Secret loan,add,1,1,2025-01-01,\n").encode()
    assert import_spreadsheet(tenant.actor(), adds).report.ok
    assert stored(other_tenant.org_id) == before
    assert by_name(other_tenant)["Secret loan"].available_cents == 777_00


def test_viewers_may_not_import_or_preview(tenant: Tenant) -> None:
    with pytest.raises(Forbidden):
        import_spreadsheet(tenant.actor("VIEWER"), GOOD.encode(), dry_run=True)
    with pytest.raises(Forbidden):
        preview_spreadsheet(tenant.actor("VIEWER"), GOOD.encode())
    assert stored(tenant.org_id)[0] == 0


def test_an_xlsx_with_a_chosen_mapping_and_fraction_rates(tenant: Tenant) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Facility", "Limit (KES)", "Cost", "Start", "Ignored"])
    sheet.append(["Absa revolver", 1_500_000.25, 0.1175, datetime(2025, 3, 1), "x"])
    sheet.append(["I&M bond", 3_000_000, 0.095, datetime(2025, 4, 1), "y"])
    out = io.BytesIO()
    book.save(out)
    content = out.getvalue()
    preview = preview_spreadsheet(tenant.actor(), content)
    assert preview.header == ("Facility", "Limit (KES)", "Cost", "Start", "Ignored")
    assert preview.data_rows == 2 and preview.sample[0][0] == "Absa revolver"
    mapping = ColumnMapping(
        {Field.SOURCE: 0, Field.AMOUNT: 1, Field.RATE: 2, Field.EFFECTIVE_DATE: 3},
        RateUnit.FRACTION,
    )
    result = import_spreadsheet(tenant.actor(), content, file_name="f.xlsx", mapping=mapping)
    assert result.report.ok and result.kind.value == "xlsx"
    active = by_name(tenant)
    assert active["Absa revolver"].available_cents == 150000025
    assert active["Absa revolver"].annual_rate == Decimal("0.1175")
    assert active["I&M bond"].annual_rate == Decimal("0.095")
    # As percent the same cells are 0.1175 % and 0.095 %: valid, but re-importing
    # would clash with the now active names.
    again = import_spreadsheet(tenant.actor(), content, mapping=mapping, dry_run=True)
    assert [p.field for p in again.report.errors] == ["source", "source"]


def test_a_mapping_problem_is_reported_without_rows(tenant: Tenant) -> None:
    mapping = ColumnMapping({Field.SOURCE: 0})
    result = import_spreadsheet(tenant.actor(), GOOD.encode(), mapping=mapping, dry_run=True)
    assert {p.field for p in result.report.errors} == {"effectiveDate", "amount", "rate"}
    assert all(p.index is None for p in result.report.errors)


def test_a_stored_source_removed_and_added_again_under_its_name(tenant: Tenant) -> None:
    old_id = add_source(tenant.actor(), name="KCB term loan", cents=100_00, rate="0.1", days=100)
    day = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    content = (
        HEADER + f"kcb term loan,remove,,,{day},refinanced\nKCB term loan,add,200.00,9,{day},new\n"
    ).encode()
    result = import_spreadsheet(tenant.actor(), content)
    assert result.report.ok and result.report.new_sources == 1
    assert not queries.get_source(tenant.actor("VIEWER"), old_id).active
    (new,) = queries.active_sources(tenant.actor("VIEWER"))
    assert new.source_id != old_id and (new.name, new.available_cents) == ("KCB term loan", 20000)
    assert rebuild_projections(tenant.org_id).corrected == 0


def test_amounts_have_as_many_decimals_as_the_organizations_currency(tenant: Tenant) -> None:
    """A yen organization: whole yen, and a fraction of a yen is a problem, never rounded."""
    update_organization_settings(tenant.actor("ADMIN"), currency="JPY")
    fraction = HEADER + 'Mizuho loan,add,"250,000,000.5",1.25,2025-01-15,\n'
    with pytest.raises(ImportRefused) as refused:
        import_spreadsheet(tenant.actor(), fraction.encode(), file_name="yen.csv")
    [problem] = refused.value.report.errors
    assert problem.field == "amount" and "JPY" in problem.message
    assert stored(tenant.organization.id)[0] == 0
    whole = HEADER + 'Mizuho loan,add,"250,000,000",1.25,2025-01-15,\n'
    assert import_spreadsheet(tenant.actor(), whole.encode(), file_name="yen.csv").report.ok
    [source] = queries.active_sources(tenant.actor("VIEWER"))
    assert source.available_cents == 250_000_000  # minor units of JPY: whole yen
