"""How alerts read on screen, and the Alerts page's form parsing (no Reflex)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from capital_app.domain.alerts import AlertKind, AlertRule, RuleTerms, TriggeredAlert
from capital_app.domain.errors import InvalidInput
from capital_app.ui.alert_presenters import (
    KIND_LABELS,
    RuleForm,
    alert_text,
    cause_text,
    measure_text,
    parse_rule_form,
    rule_row,
    rule_text,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def alert(terms: RuleTerms, before: str | None, after: str, **more) -> TriggeredAlert:
    return TriggeredAlert(
        id=uuid.uuid4(),
        organization_id=uuid.uuid4(),
        rule_id=uuid.uuid4(),
        terms=terms,
        triggered_at=NOW,
        revision=12,
        event_id="e.alert.r",
        value_before=None if before is None else Decimal(before),
        value_after=Decimal(after),
        total_cents=100,
        wacc=None,
        **more,
    )


def test_each_kind_reads_with_the_figure_before_and_after():
    above = RuleTerms(AlertKind.WACC_ABOVE, Decimal("0.120000"))
    assert alert_text(alert(above, "0.1", "0.1325"), "KES") == (
        "WACC above 12 %: 13.25 % (was 10.00 %)"
    )
    moved = RuleTerms(AlertKind.WACC_CHANGE, Decimal(50), 30)
    assert alert_text(alert(moved, "40.0000", "-51.2500"), "KES") == (
        "WACC moved more than 50 bp over 30 days: -51.2 bp (was +40 bp)"
    )
    floor = RuleTerms(AlertKind.TOTAL_BELOW, Decimal(100_000_000))
    assert alert_text(alert(floor, "120000000", "99999999"), "USD") == (
        "Total capital below USD 1,000,000.00: USD 999,999.99 (was USD 1,200,000.00)"
    )
    assert alert_text(alert(above, None, "0.2"), "KES").endswith("(was —)")


def test_the_cause_names_a_change_or_an_import():
    above = RuleTerms(AlertKind.WACC_ABOVE, Decimal("0.12"))
    assert cause_text(alert(above, None, "0.2", entry_id="e")) == "a change (revision 12)"
    assert cause_text(alert(above, None, "0.2", import_id=uuid.uuid4())) == (
        "an import (revision 12)"
    )


def test_rules_list_in_words_with_their_status():
    rule = AlertRule(uuid.uuid4(), RuleTerms(AlertKind.TOTAL_BELOW, Decimal(5_00)), active=False)
    row = rule_row(rule, "KES", "2 Mar 2026")
    assert (row.text, row.status, row.active) == ("Total capital below KES 5.00", "inactive", False)
    assert row.kind == KIND_LABELS["total_below"]
    assert rule_text(RuleTerms(AlertKind.WACC_ABOVE, Decimal("0.125")), "KES") == (
        "WACC above 12.5 %"
    )
    assert measure_text(AlertKind.WACC_CHANGE, Decimal("0.04"), "KES") == "0 bp"


def test_the_form_reads_what_people_type():
    assert parse_rule_form("wacc_above", "12.5 %", "", "", "") == RuleForm(
        "wacc_above", threshold_rate=Decimal("0.125000")
    )
    assert parse_rule_form("wacc_change", "", "50", "30", "") == RuleForm(
        "wacc_change", threshold_basis_points=50, window_days=30
    )
    assert parse_rule_form("total_below", "", "", "", "KES 1,000,000.50") == RuleForm(
        "total_below", threshold_cents=100_000_050
    )


@pytest.mark.parametrize(
    ("kind", "fields", "expected"),
    [
        ("wacc_above", ("", "", "", ""), {"thresholdRate"}),
        ("wacc_above", ("abc", "", "", ""), {"thresholdRate"}),
        ("wacc_above", ("150", "", "", ""), {"thresholdRate"}),
        ("wacc_change", ("", "2.5", "", ""), {"thresholdBasisPoints", "windowDays"}),
        ("wacc_change", ("", "-5", "x", ""), {"thresholdBasisPoints", "windowDays"}),
        ("total_below", ("", "", "", "1.234"), {"thresholdCents"}),
        ("nothing", ("", "", "", ""), {"kind"}),
    ],
)
def test_bad_form_input_names_each_field(kind, fields, expected):
    with pytest.raises(InvalidInput) as refused:
        parse_rule_form(kind, *fields)
    assert {e.field for e in refused.value.errors} == expected
