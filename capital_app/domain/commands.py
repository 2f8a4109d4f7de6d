"""The four commands that append to the capital history, as data.

The API's request models and the UI's change dialog build these; the service's one
handler (`service/history_commands.execute`) checks and runs them. A command's
idempotency fingerprint is computed here, once, from the command itself: the bytes
are those the REST API has always hashed (the command's name, a newline, then the
request body as canonical JSON: sorted camelCase keys, exact decimals, instants in
UTC with `Z`), so keys stored before commands were data still replay.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

import orjson

from capital_app.domain.money import decimal_text


@dataclass(frozen=True, slots=True)
class SourceTerms:
    """What a new source is: its name, annual rate (a fraction) and amount in cents."""

    name: str
    annual_rate: Decimal
    available_cents: int
    # ISO 4217 code and "debt" / "equity" (migration 0013); None: the organization's
    # currency and debt. Left out of the wire body when None, so older fingerprints hold.
    currency: str | None = None
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class AddSource:
    source: SourceTerms
    effective_date: datetime
    notes: str | None = None

    name: ClassVar[str] = "add-source"


@dataclass(frozen=True, slots=True)
class ChangeAmount:
    source_id: str
    available_cents: int
    effective_date: datetime
    notes: str | None = None
    expected_sequence: int | None = None

    name: ClassVar[str] = "update-amount"


@dataclass(frozen=True, slots=True)
class ChangeRate:
    source_id: str
    annual_rate: Decimal
    effective_date: datetime
    notes: str | None = None
    expected_sequence: int | None = None

    name: ClassVar[str] = "update-rate"


@dataclass(frozen=True, slots=True)
class RemoveSource:
    source_id: str
    effective_date: datetime
    notes: str | None = None
    expected_sequence: int | None = None

    name: ClassVar[str] = "remove-source"


Command = AddSource | ChangeAmount | ChangeRate | RemoveSource


def wire_body(command: Command) -> dict[str, Any]:
    """The command as its REST request body (camelCase, typed values)."""
    common: dict[str, Any] = {"effectiveDate": command.effective_date, "notes": command.notes}
    if isinstance(command, AddSource):
        terms = command.source
        source = {
            "name": terms.name,
            "annualRate": terms.annual_rate,
            "availableCents": terms.available_cents,
        }
        if terms.currency is not None:
            source["currency"] = terms.currency
        if terms.kind is not None:
            source["kind"] = terms.kind
        return {"source": source, **common}
    change = {"sourceId": command.source_id, **common}
    change["expectedSequence"] = command.expected_sequence
    if isinstance(command, ChangeAmount):
        change["availableCents"] = command.available_cents
    elif isinstance(command, ChangeRate):
        change["annualRate"] = command.annual_rate
    return change


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(decimal_text(value))
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _in_utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    if isinstance(value, dict):
        return {key: _in_utc(item) for key, item in value.items()}
    return value


def fingerprint(command: Command) -> str:
    """The idempotency fingerprint: sha256 of the name, a newline, the canonical body."""
    canonical = orjson.dumps(
        _in_utc(wire_body(command)),
        default=_default,
        option=orjson.OPT_UTC_Z | orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(command.name.encode() + b"\n" + canonical).hexdigest()
