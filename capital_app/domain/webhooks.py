"""Webhooks, the pure part: what an endpoint may be, what is sent, when to retry.

Event types name a history action (`source.added`, ...) or an alert that a change
triggered (`alert.triggered`, domain/alerts.py). A message is either a history entry
or an alert log row; both have their place in the outbox order (revision, id). A receiver URL must be
https (plain http only by setting) with a host; whether its addresses are public is
decided here from the resolved addresses (the resolving is I/O, done by the caller).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

from capital_app.domain.alerts import AlertKind, TriggeredAlert
from capital_app.domain.errors import InvalidInput
from capital_app.domain.events import HistoryEntry
from capital_app.domain.values import Action

EVENT_TYPES: dict[Action, str] = {
    Action.ADDED: "source.added",
    Action.AMOUNT_CHANGED: "source.amount_changed",
    Action.RATE_CHANGED: "source.rate_changed",
    Action.REMOVED: "source.removed",
}
ALERT_TRIGGERED = "alert.triggered"
ALL_EVENT_TYPES: tuple[str, ...] = (*EVENT_TYPES.values(), ALERT_TRIGGERED)

Message = HistoryEntry | TriggeredAlert
MAX_URL_LENGTH = 2000


def check_event_types(value: object, field: str = "eventTypes") -> list[str]:
    """A non-empty list of known event types (None: all of them), in canonical order."""
    if value is None:
        return list(ALL_EVENT_TYPES)
    if not isinstance(value, list | tuple) or not value:
        raise InvalidInput.one(field, "List at least one event type.")
    unknown = [v for v in value if v not in ALL_EVENT_TYPES]
    if unknown:
        raise InvalidInput.one(
            field,
            f"Unknown event type {unknown[0]!r}; known: {', '.join(ALL_EVENT_TYPES)}.",
        )
    return [t for t in ALL_EVENT_TYPES if t in value]


def check_url(value: object, *, allow_http: bool, field: str = "url") -> tuple[str, str]:
    """(url, host): an absolute https URL (http only when allowed), no credentials."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput.one(field, "A receiver URL is required.")
    url = value.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput.one(field, f"The URL must be at most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput.one(field, "This is not a valid URL.") from None
    del port
    allowed = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in allowed:
        raise InvalidInput.one(field, "The receiver URL must start with https://.")
    if not parts.hostname:
        raise InvalidInput.one(field, "The receiver URL must name a host.")
    if parts.username or parts.password:
        raise InvalidInput.one(field, "The receiver URL must not carry a user name or password.")
    return url, parts.hostname


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, shared, multicast, reserved addresses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def refused_address(addresses: Iterable[str]) -> str | None:
    """The first address that is not public (one is enough to refuse: DNS picks)."""
    for address in addresses:
        if not is_public_address(address):
            return address
    return None


def backoff_seconds(attempts: int, base: float, maximum: float) -> float:
    """Exponential: base, 2·base, 4·base, … capped at maximum (attempts counts from 1)."""
    return min(maximum, base * 2.0 ** max(0, attempts - 1))


def event_type(message: Message) -> str:
    if isinstance(message, TriggeredAlert):
        return ALERT_TRIGGERED
    return EVENT_TYPES[message.action]


def message_id(message: Message) -> str:
    """The message's id in the outbox order (with its revision): the cursor's second part."""
    return message.event_id if isinstance(message, TriggeredAlert) else message.id


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def alert_payload(alert: TriggeredAlert, now: datetime) -> dict[str, object]:
    """`alert.triggered`: the rule, the values it crossed with (exact decimal text), the
    figures after the change, and the change that caused it (an entry or an import)."""
    terms = alert.terms
    thresholds: dict[AlertKind, dict[str, object]] = {
        AlertKind.WACC_ABOVE: {"thresholdRate": _text(terms.threshold)},
        AlertKind.WACC_CHANGE: {
            "thresholdBasisPoints": int(terms.threshold),
            "windowDays": terms.window_days,
        },
        AlertKind.TOTAL_BELOW: {"thresholdCents": int(terms.threshold)},
    }
    threshold = thresholds[terms.kind]
    return {
        "type": ALERT_TRIGGERED,
        "timestamp": now.isoformat(),
        "data": {
            "organizationId": str(alert.organization_id),
            "alertId": str(alert.id),
            "ruleId": str(alert.rule_id),
            "kind": terms.kind.value,
            **threshold,
            "rule": alert.description,
            "valueBefore": _text(alert.value_before),
            "valueAfter": _text(alert.value_after),
            "totalCents": alert.total_cents,
            "wacc": _text(alert.wacc),
            "triggeredAt": _iso(alert.triggered_at),
            "revision": alert.revision,
            "entryId": alert.entry_id,
            "sourceId": alert.source_id,
            "sequence": alert.sequence,
            "importId": None if alert.import_id is None else str(alert.import_id),
        },
    }


def payload(message: Message, now: datetime) -> dict[str, object]:
    """The Standard Webhooks body: type, timestamp, data (money exact: cents, rate text)."""
    if isinstance(message, TriggeredAlert):
        return alert_payload(message, now)
    entry = message
    iso = _iso
    return {
        "type": event_type(entry),
        "timestamp": now.isoformat(),
        "data": {
            "organizationId": str(entry.organization_id),
            "revision": entry.revision,
            "entryId": entry.id,
            "sourceId": entry.source_id,
            "sequence": entry.sequence,
            "action": entry.action.value,
            "effectiveDate": iso(entry.effective_date),
            "name": entry.name,
            "annualRate": str(entry.annual_rate),
            "availableCents": entry.available_cents,
            "previousRate": None if entry.previous_rate is None else str(entry.previous_rate),
            "previousAmountCents": entry.previous_amount,
            "notes": entry.notes,
            "createdAt": iso(entry.created_at),
            "createdBy": entry.created_by,
        },
    }
