"""Words for alert rules and triggered alerts (pure: no state, no I/O).

The banner, the toast and the Alerts page say the same thing the same way: the rule,
then what the change did to its figure ("WACC above 12 %: 13.25 % (was 11.00 %)").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from decimal import ROUND_HALF_EVEN, Decimal

from capital_app.domain.alerts import AlertKind, AlertRule, RuleTerms, TriggeredAlert, describe
from capital_app.domain.dates import format_datetime
from capital_app.domain.errors import ErrorCollector, FieldError, InvalidInput
from capital_app.domain.money import format_money, format_rate
from capital_app.domain.values import parse_money, parse_percent

KIND_LABELS: dict[str, str] = {
    AlertKind.WACC_ABOVE.value: "WACC above a level",
    AlertKind.WACC_CHANGE.value: "WACC moves more than N bp over D days",
    AlertKind.TOTAL_BELOW.value: "Total capital below an amount",
}


def rule_text(terms: RuleTerms, currency: str) -> str:
    if terms.kind is AlertKind.TOTAL_BELOW:
        return f"Total capital below {format_money(int(terms.threshold), currency)}"
    return describe(terms)


def measure_text(kind: AlertKind, value: Decimal | None, currency: str) -> str:
    """The rule's measure as people read it: a rate, signed basis points, or money."""
    if value is None:
        return "—"
    if kind is AlertKind.WACC_ABOVE:
        return format_rate(value)
    if kind is AlertKind.WACC_CHANGE:
        shown = value.quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
        return f"{'+' if shown > 0 else ''}{shown.normalize():f} bp"
    return format_money(int(value), currency)


def alert_text(alert: TriggeredAlert, currency: str) -> str:
    """'WACC above 12 %: 13.25 % (was 11.00 %)'."""
    kind = alert.terms.kind
    now = measure_text(kind, alert.value_after, currency)
    was = measure_text(kind, alert.value_before, currency)
    return f"{rule_text(alert.terms, currency)}: {now} (was {was})"


def cause_text(alert: TriggeredAlert) -> str:
    if alert.import_id is not None:
        return f"an import (revision {alert.revision})"
    return f"a change (revision {alert.revision})"


@dataclass
class RuleRow:
    id: str = ""
    text: str = ""
    kind: str = ""
    active: bool = True
    status: str = ""
    created: str = ""


def rule_row(rule: AlertRule, currency: str, created: str) -> RuleRow:
    return RuleRow(
        id=str(rule.id),
        text=rule_text(rule.terms, currency),
        kind=KIND_LABELS[rule.kind.value],
        active=rule.active,
        status="active" if rule.active else "inactive",
        created=created,
    )


@dataclass(frozen=True, slots=True)
class RuleForm:
    """What the Alerts page's form parsed: the service's keyword arguments."""

    kind: str
    threshold_rate: Decimal | None = None
    threshold_basis_points: int | None = None
    window_days: int | None = None
    threshold_cents: int | None = None


def _whole(text: str, field: str, what: str) -> int:
    raw = text.strip().replace(",", "")
    if not raw:
        raise InvalidInput.one(field, f"{what} is required.")
    if not raw.isdigit():
        raise InvalidInput.one(field, f"{what} must be a whole number, like 30.")
    return int(raw)


def parse_rule_form(kind: str, rate: str, points: str, days: str, amount: str) -> RuleForm:
    """The form's text fields as people type them (12.5 for 12.5 %, shillings for the
    floor) → the rule's fields; every problem at once, named by the API's field names
    (the service checks the ranges again)."""
    errors = ErrorCollector()
    if kind == AlertKind.WACC_ABOVE.value:
        value = errors.check(parse_percent, rate, "thresholdRate")
        errors.raise_if_any()
        return RuleForm(kind, threshold_rate=value)
    if kind == AlertKind.WACC_CHANGE.value:
        bp = errors.check(_whole, points, "thresholdBasisPoints", "The change in basis points")
        window = errors.check(_whole, days, "windowDays", "The number of days")
        errors.raise_if_any()
        return RuleForm(kind, threshold_basis_points=bp, window_days=window)
    if kind == AlertKind.TOTAL_BELOW.value:
        cents = errors.check(parse_money, amount, "thresholdCents")
        errors.raise_if_any()
        return RuleForm(kind, threshold_cents=cents)
    raise InvalidInput([FieldError("kind", "Choose the kind of alert.")])


MAX_LIVE_ALERTS = 5  # the banner shows the newest; the Alerts page has them all


@dataclass
class LiveAlert:
    """One alert in the live banner of every page."""

    id: str = ""
    text: str = ""
    when: str = ""


def live_alert(alert: TriggeredAlert, currency: str, tz: tzinfo) -> LiveAlert:
    return LiveAlert(
        id=str(alert.id),
        text=alert_text(alert, currency),
        when=format_datetime(alert.triggered_at, tz),
    )


def with_news(shown: list[LiveAlert], news: list[LiveAlert]) -> list[LiveAlert]:
    """The banner after news arrived (oldest first): newest first, no alert twice."""
    seen = {row.id for row in shown}
    fresh = [row for row in news if row.id not in seen]
    return ([*reversed(fresh), *shown])[:MAX_LIVE_ALERTS]
