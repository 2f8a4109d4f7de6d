"""Threshold alerts, the pure part: what a rule may be and when a change crosses it.

Three kinds of rule (each an organization's, set by an EDITOR or ADMIN):

- `wacc_above`: the WACC (now) is above X (a fraction, 0.12 = 12 %);
- `wacc_change`: the WACC moved by more than N basis points over the last D days
  (|WACC now − WACC D days ago| × 10,000 > N, either direction);
- `total_below`: the total capital (now) is below Y minor units (cents).

A rule *holds* for a set of figures; it *triggers* when a change makes it hold that
did not hold just before the change (both read at the same moment, in the change's
own transaction). While it keeps holding, further changes do not trigger it again.
It re-arms when a change makes it stop holding; the next crossing triggers again.
So an alert is always caused by one change (its revision), never by time passing:
a `wacc_change` window that slides into or out of a jump is not an alert until a
change moves the figure across. A rule created while it already holds is armed only
after a change makes it stop holding.

No WACC (no active source): `wacc_above` and `wacc_change` do not hold; the total is
then 0, so `total_below` holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from capital_app.domain.errors import ErrorCollector, FieldError, InvalidInput
from capital_app.domain.values import MAX_CENTS, MIN_CENTS, check_rate

BASIS_POINTS = Decimal(10_000)
MAX_BASIS_POINTS = 10_000  # 100 %: a WACC is between 0 and 1
MAX_WINDOW_DAYS = 3660  # ten years


class AlertKind(StrEnum):
    WACC_ABOVE = "wacc_above"
    WACC_CHANGE = "wacc_change"
    TOTAL_BELOW = "total_below"


@dataclass(frozen=True, slots=True)
class RuleTerms:
    """What a rule watches. `threshold`: a fraction (wacc_above), whole basis points
    (wacc_change) or whole minor units (total_below); `window_days` only for wacc_change."""

    kind: AlertKind
    threshold: Decimal
    window_days: int | None = None


@dataclass(frozen=True, slots=True)
class AlertRule:
    id: UUID
    terms: RuleTerms
    active: bool = True
    created_by: UUID | None = None
    created_at: datetime | None = None
    deactivated_at: datetime | None = None
    deactivated_by: UUID | None = None

    @property
    def kind(self) -> AlertKind:
        return self.terms.kind


@dataclass(frozen=True, slots=True)
class Figures:
    """The organization's figures at one moment, as known then.

    `wacc_then[d]`: the WACC `d` days earlier (None: no active source then).
    `total_cents` None: not known in the reporting currency (an FX rate is missing)."""

    total_cents: int | None
    wacc: Decimal | None
    wacc_then: Mapping[int, Decimal | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Crossing:
    """A rule that a change made hold: the rule's measure just before and after."""

    rule: AlertRule
    value_before: Decimal | None
    value_after: Decimal


@dataclass(frozen=True, slots=True)
class Cause:
    """The write that made rules cross: one command's entry, or one import."""

    revision: int
    last_entry_id: str  # the revision's last history id: its alerts follow it in the outbox
    entry_id: str | None = None
    source_id: str | None = None
    sequence: int | None = None
    import_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class TriggeredAlert:
    """One row of the alert log: a rule a change made cross, with the figures then."""

    id: UUID
    organization_id: UUID
    rule_id: UUID
    terms: RuleTerms
    triggered_at: datetime
    revision: int
    event_id: str  # its place in the webhook outbox, after (revision, cause's last id)
    value_before: Decimal | None
    value_after: Decimal
    total_cents: int
    wacc: Decimal | None
    entry_id: str | None = None
    source_id: str | None = None
    sequence: int | None = None
    import_id: UUID | None = None

    @property
    def description(self) -> str:
        return describe(self.terms)


def event_id(cause_id: str, rule_id: UUID) -> str:
    """An alert's id in the webhook outbox: the cause's id extended, so that in the
    (revision, id) order it follows the entry that caused it (a prefix sorts first)."""
    return f"{cause_id}.alert.{rule_id}"


# --- checking a new rule -------------------------------------------------------------


def check_kind(value: object, field_name: str = "kind") -> AlertKind:
    if isinstance(value, AlertKind):
        return value
    if isinstance(value, str):
        try:
            return AlertKind(value)
        except ValueError:
            pass
    known = ", ".join(kind.value for kind in AlertKind)
    raise InvalidInput.one(field_name, f"Choose the kind of alert: one of {known}.")


def _whole(value: object, field_name: str, lowest: int, highest: int, what: str) -> int:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput.one(field_name, f"{what} must be a whole number.")
    if not lowest <= value <= highest:
        raise InvalidInput.one(field_name, f"{what} must be between {lowest:,} and {highest:,}.")
    return value


def check_threshold_rate(value: object, field_name: str = "thresholdRate") -> Decimal:
    """A WACC level: above 0 %, at most 100 %, at most 6 decimal places (as a rate)."""
    rate = check_rate(value, field_name)
    if rate <= 0:
        raise InvalidInput.one(field_name, "The WACC level must be above 0 %.")
    return rate


def check_basis_points(value: object, field_name: str = "thresholdBasisPoints") -> int:
    return _whole(value, field_name, 1, MAX_BASIS_POINTS, "The change in basis points")


def check_window_days(value: object, field_name: str = "windowDays") -> int:
    return _whole(value, field_name, 1, MAX_WINDOW_DAYS, "The number of days")


def check_threshold_cents(value: object, field_name: str = "thresholdCents") -> int:
    return _whole(value, field_name, MIN_CENTS, MAX_CENTS, "The amount in cents")


def check_rule(
    kind: object,
    *,
    threshold_rate: object = None,
    threshold_basis_points: object = None,
    window_days: object = None,
    threshold_cents: object = None,
) -> RuleTerms:
    """A rule's terms from its input fields; every problem reported at once, by field.

    Only the fields of the kind are read; a field of another kind is refused (a client
    that sends `thresholdCents` with `wacc_above` has misunderstood something)."""
    checked_kind = check_kind(kind)
    errors = ErrorCollector()
    given = {
        "thresholdRate": threshold_rate,
        "thresholdBasisPoints": threshold_basis_points,
        "windowDays": window_days,
        "thresholdCents": threshold_cents,
    }
    wanted = {
        AlertKind.WACC_ABOVE: ("thresholdRate",),
        AlertKind.WACC_CHANGE: ("thresholdBasisPoints", "windowDays"),
        AlertKind.TOTAL_BELOW: ("thresholdCents",),
    }[checked_kind]
    for name, value in given.items():
        if value is not None and name not in wanted:
            errors.errors.append(FieldError(name, f"A {checked_kind.value} alert has no {name}."))
    if checked_kind is AlertKind.WACC_ABOVE:
        rate = errors.check(check_threshold_rate, threshold_rate)
        errors.raise_if_any()
        assert rate is not None
        return RuleTerms(checked_kind, rate)
    if checked_kind is AlertKind.WACC_CHANGE:
        points = errors.check(check_basis_points, threshold_basis_points)
        days = errors.check(check_window_days, window_days)
        errors.raise_if_any()
        assert points is not None and days is not None
        return RuleTerms(checked_kind, Decimal(points), days)
    cents = errors.check(check_threshold_cents, threshold_cents)
    errors.raise_if_any()
    assert cents is not None
    return RuleTerms(checked_kind, Decimal(cents))


# --- evaluating ----------------------------------------------------------------------


def windows(rules: Iterable[AlertRule]) -> list[int]:
    """The distinct look-back windows (days) the rules need figures for, ascending."""
    return sorted({r.terms.window_days for r in rules if r.terms.window_days is not None})


def measure(terms: RuleTerms, figures: Figures) -> Decimal | None:
    """The number a rule compares with its threshold (None: there is none).

    wacc_above: the WACC; wacc_change: the signed change in basis points;
    total_below: the total in minor units."""
    if terms.kind is AlertKind.TOTAL_BELOW:
        return None if figures.total_cents is None else Decimal(figures.total_cents)
    if figures.wacc is None:
        return None
    if terms.kind is AlertKind.WACC_ABOVE:
        return figures.wacc
    assert terms.window_days is not None
    then = figures.wacc_then.get(terms.window_days)
    if then is None:
        return None
    return (figures.wacc - then) * BASIS_POINTS


def holds(terms: RuleTerms, figures: Figures) -> bool:
    value = measure(terms, figures)
    if value is None:
        return False
    if terms.kind is AlertKind.WACC_ABOVE:
        return value > terms.threshold
    if terms.kind is AlertKind.WACC_CHANGE:
        return abs(value) > terms.threshold
    return value < terms.threshold


def crossings(rules: Iterable[AlertRule], before: Figures, after: Figures) -> list[Crossing]:
    """The active rules this change makes hold that did not hold just before it."""
    found: list[Crossing] = []
    for rule in rules:
        if not rule.active or holds(rule.terms, before) or not holds(rule.terms, after):
            continue
        value = measure(rule.terms, after)
        assert value is not None  # it holds
        found.append(Crossing(rule, measure(rule.terms, before), value))
    return found


def describe(terms: RuleTerms) -> str:
    """The rule in words, as the alert history and the banner show it."""
    if terms.kind is AlertKind.WACC_ABOVE:
        return f"WACC above {_percent(terms.threshold)}"
    if terms.kind is AlertKind.WACC_CHANGE:
        days = terms.window_days
        return (
            f"WACC moved more than {terms.threshold.normalize():f} bp"
            f" over {days} day{'s' if days != 1 else ''}"
        )
    return f"Total capital below {_minor_units(int(terms.threshold))}"


def _percent(fraction: Decimal) -> str:
    text = f"{(fraction * 100).normalize():f}"
    return f"{text} %"


def _minor_units(cents: int) -> str:
    return f"{cents // 100:,}.{cents % 100:02d}"
