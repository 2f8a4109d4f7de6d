"""Alert rules: what a rule may be, and that alerts fire on crossing only, then re-arm."""

from __future__ import annotations

import itertools
import uuid
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capital_app.domain.alerts import (
    AlertKind,
    AlertRule,
    Figures,
    RuleTerms,
    check_rule,
    crossings,
    describe,
    event_id,
    holds,
    measure,
    windows,
)
from capital_app.domain.errors import InvalidInput


def rule(kind: AlertKind, threshold: str, days: int | None = None, active: bool = True):
    return AlertRule(uuid.uuid4(), RuleTerms(kind, Decimal(threshold), days), active=active)


def figures(total: int, wacc: str | None, then: dict[int, str | None] | None = None) -> Figures:
    return Figures(
        total,
        None if wacc is None else Decimal(wacc),
        {d: None if w is None else Decimal(w) for d, w in (then or {}).items()},
    )


# --- checking rules --------------------------------------------------------------------


def test_a_wacc_level_is_a_rate_fraction():
    terms = check_rule("wacc_above", threshold_rate=Decimal("0.125"))
    assert terms == RuleTerms(AlertKind.WACC_ABOVE, Decimal("0.125000"), None)


def test_a_wacc_change_needs_basis_points_and_days():
    terms = check_rule("wacc_change", threshold_basis_points=50, window_days=30)
    assert terms == RuleTerms(AlertKind.WACC_CHANGE, Decimal(50), 30)
    with pytest.raises(InvalidInput) as missing:
        check_rule("wacc_change")
    assert {e.field for e in missing.value.errors} == {"thresholdBasisPoints", "windowDays"}


def test_a_total_floor_is_whole_minor_units():
    assert check_rule("total_below", threshold_cents=100_000_00).threshold == Decimal(10_000_000)
    with pytest.raises(InvalidInput) as fraction:
        check_rule("total_below", threshold_cents=Decimal("10.5"))
    assert fraction.value.errors[0].field == "thresholdCents"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"threshold_rate": Decimal(0)}, "thresholdRate"),
        ({"threshold_rate": Decimal("1.5")}, "thresholdRate"),
        ({"threshold_rate": Decimal("0.1234567")}, "thresholdRate"),
        ({"threshold_rate": 0.12}, "thresholdRate"),  # a float is never a rate
        ({"threshold_rate": "0.12"}, "thresholdRate"),
        ({"threshold_rate": True}, "thresholdRate"),
    ],
)
def test_bad_wacc_levels_are_refused_by_field(fields, field):
    with pytest.raises(InvalidInput) as refused:
        check_rule("wacc_above", **fields)
    assert [e.field for e in refused.value.errors] == [field]


@pytest.mark.parametrize(
    ("points", "days", "fields"),
    [
        (0, 30, {"thresholdBasisPoints"}),
        (10_001, 30, {"thresholdBasisPoints"}),
        (Decimal("2.5"), 30, {"thresholdBasisPoints"}),
        (50, 0, {"windowDays"}),
        (50, 3661, {"windowDays"}),
        (True, True, {"thresholdBasisPoints", "windowDays"}),
    ],
)
def test_bad_change_rules_name_every_field(points, days, fields):
    with pytest.raises(InvalidInput) as refused:
        check_rule("wacc_change", threshold_basis_points=points, window_days=days)
    assert {e.field for e in refused.value.errors} == fields


def test_unknown_kinds_and_foreign_fields_are_refused():
    with pytest.raises(InvalidInput) as unknown:
        check_rule("wacc_below", threshold_rate=Decimal("0.1"))
    assert unknown.value.errors[0].field == "kind"
    assert "wacc_above" in unknown.value.errors[0].message
    with pytest.raises(InvalidInput) as foreign:
        check_rule("wacc_above", threshold_rate=Decimal("0.1"), threshold_cents=5)
    assert [e.field for e in foreign.value.errors] == ["thresholdCents"]


def test_rules_read_in_words():
    assert describe(RuleTerms(AlertKind.WACC_ABOVE, Decimal("0.125000"))) == "WACC above 12.5 %"
    assert describe(RuleTerms(AlertKind.WACC_CHANGE, Decimal(50), 30)) == (
        "WACC moved more than 50 bp over 30 days"
    )
    assert describe(RuleTerms(AlertKind.TOTAL_BELOW, Decimal(123_456_789))) == (
        "Total capital below 1,234,567.89"
    )


# --- evaluating -------------------------------------------------------------------------


def test_wacc_above_fires_when_crossed_not_while_above():
    above = rule(AlertKind.WACC_ABOVE, "0.12")
    low, high, higher = figures(100, "0.11"), figures(100, "0.125"), figures(100, "0.13")
    [crossing] = crossings([above], low, high)
    assert crossing.value_before == Decimal("0.11") and crossing.value_after == Decimal("0.125")
    assert crossings([above], high, higher) == []  # still above: no second alert
    assert crossings([above], higher, low) == []  # falling back re-arms, fires nothing
    assert len(crossings([above], low, higher)) == 1  # re-armed: fires again


def test_the_threshold_itself_is_not_above():
    above = rule(AlertKind.WACC_ABOVE, "0.12")
    assert crossings([above], figures(100, "0.11"), figures(100, "0.12")) == []
    assert len(crossings([above], figures(100, "0.12"), figures(100, "0.1200000001"))) == 1


def test_total_below_fires_when_capital_falls_under_the_floor():
    floor = rule(AlertKind.TOTAL_BELOW, "1000")
    [crossing] = crossings([floor], figures(1000, "0.1"), figures(999, "0.1"))
    assert (crossing.value_before, crossing.value_after) == (Decimal(1000), Decimal(999))
    assert crossings([floor], figures(999, "0.1"), figures(10, "0.1")) == []


def test_removing_the_last_source_is_a_total_below_alert_not_a_wacc_one():
    rules = [
        rule(AlertKind.TOTAL_BELOW, "1"),
        rule(AlertKind.WACC_ABOVE, "0.01"),
        rule(AlertKind.WACC_CHANGE, "1", 30),
    ]
    gone = figures(0, None, {30: "0.05"})
    found = crossings(rules, figures(500, "0.2", {30: "0.05"}), gone)
    assert [c.rule.kind for c in found] == [AlertKind.TOTAL_BELOW]


def test_wacc_change_counts_both_directions_in_basis_points():
    moved = rule(AlertKind.WACC_CHANGE, "50", 30)
    calm = figures(100, "0.1040", {30: "0.1000"})  # +40 bp
    up = figures(100, "0.1051", {30: "0.1000"})  # +51 bp
    down = figures(100, "0.0949", {30: "0.1000"})  # −51 bp
    [rise] = crossings([moved], calm, up)
    assert rise.value_before == Decimal("40.0000") and rise.value_after == Decimal("51.0000")
    [fall] = crossings([moved], calm, down)
    assert fall.value_after == Decimal("-51.0000")
    assert crossings([moved], up, down) == []  # held throughout (|Δ| > 50 both times)
    exactly = figures(100, "0.1050", {30: "0.1000"})
    assert not holds(moved.terms, exactly)  # "more than" 50 bp


def test_wacc_change_without_a_past_figure_does_not_hold():
    moved = rule(AlertKind.WACC_CHANGE, "10", 7)
    assert measure(moved.terms, figures(100, "0.2", {7: None})) is None
    assert crossings([moved], figures(100, "0.1", {7: None}), figures(100, "0.2", {7: None})) == []


def test_inactive_rules_never_fire():
    off = rule(AlertKind.WACC_ABOVE, "0.12", active=False)
    assert crossings([off], figures(1, "0.1"), figures(1, "0.2")) == []


def test_windows_are_the_distinct_look_backs():
    rules = [rule(AlertKind.WACC_CHANGE, "5", 30), rule(AlertKind.WACC_CHANGE, "9", 7)]
    rules += [rule(AlertKind.WACC_CHANGE, "1", 30), rule(AlertKind.WACC_ABOVE, "0.1")]
    assert windows(rules) == [7, 30]


def test_an_alert_follows_its_cause_in_the_outbox_order():
    cause = str(uuid.uuid4())
    later = event_id(cause, uuid.uuid4())
    assert later.startswith(cause) and later > cause


# --- properties ---------------------------------------------------------------------------

waccs = st.one_of(
    st.none(),
    st.decimals(min_value=0, max_value=1, places=10, allow_nan=False, allow_infinity=False),
)
totals = st.integers(min_value=0, max_value=10**15)
kinds = st.sampled_from(list(AlertKind))


@st.composite
def rules_(draw):
    kind = draw(kinds)
    if kind is AlertKind.WACC_ABOVE:
        level = draw(st.decimals(min_value="0.000001", max_value=1, places=6))
        return rule(kind, str(level))
    if kind is AlertKind.WACC_CHANGE:
        return rule(kind, str(draw(st.integers(1, 10_000))), draw(st.sampled_from([7, 30])))
    return rule(kind, str(draw(st.integers(1, 10**15))))


figures_ = st.builds(Figures, totals, waccs, st.fixed_dictionaries({7: waccs, 30: waccs}))


def independent_holds(terms: RuleTerms, f: Figures) -> bool:
    """The same conditions, computed with exact fractions and written out afresh."""
    if terms.kind is AlertKind.TOTAL_BELOW:
        return Fraction(f.total_cents) < Fraction(terms.threshold)
    if f.wacc is None:
        return False
    if terms.kind is AlertKind.WACC_ABOVE:
        return Fraction(f.wacc) > Fraction(terms.threshold)
    then = f.wacc_then[terms.window_days]
    if then is None:
        return False
    return abs(Fraction(f.wacc) - Fraction(then)) * 10_000 > Fraction(terms.threshold)


@given(rules_(), figures_)
def test_holds_agrees_with_an_exact_independent_computation(r, f):
    assert holds(r.terms, f) == independent_holds(r.terms, f)


@given(st.lists(rules_(), max_size=6), figures_)
def test_a_change_that_changes_nothing_never_fires(rules, f):
    assert crossings(rules, f, f) == []


@given(rules_(), st.lists(figures_, min_size=2, max_size=25))
def test_over_any_history_alerts_equal_the_false_to_true_transitions(r, history):
    """Re-arming: each alert needs a state where the rule did not hold before it, so
    alerts are exactly the rising edges, and never two without a fall between."""
    fired = [bool(crossings([r], a, b)) for a, b in itertools.pairwise(history)]
    states = [independent_holds(r.terms, f) for f in history]
    rising = [not a and b for a, b in itertools.pairwise(states)]
    assert fired == rising
    assert sum(fired) <= (len(history) + 1) // 2


@given(st.lists(rules_(), max_size=8), figures_, figures_)
def test_each_crossing_reports_the_measures_it_crossed_with(rules, before, after):
    for crossing in crossings(rules, before, after):
        assert crossing.value_after == measure(crossing.rule.terms, after)
        assert crossing.value_before == measure(crossing.rule.terms, before)
        assert holds(crossing.rule.terms, after) and not holds(crossing.rule.terms, before)
