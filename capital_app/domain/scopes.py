"""What an API key may do: its scopes, and the rules for choosing them.

`read` reads everything of the organization; `write` also appends to the capital
history; `admin` also manages users and webhooks. `write` and `admin` include
`read`. No scope lets a key create or revoke keys: that takes a signed-in ADMIN.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from capital_app.domain.errors import InvalidInput


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


SCOPE_WORDS = "read, write or admin"


def check_scopes(value: object, field: str = "scopes") -> frozenset[Scope]:
    """A non-empty list of known scopes (duplicates are harmless)."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInput.one(field, f"Scopes must be a list of {SCOPE_WORDS}.")
    scopes: set[Scope] = set()
    for item in value:
        try:
            scopes.add(Scope(item))
        except ValueError:
            raise InvalidInput.one(
                field, f"Unknown scope {str(item)[:40]!r}: use {SCOPE_WORDS}."
            ) from None
    if not scopes:
        raise InvalidInput.one(field, f"Choose at least one scope: {SCOPE_WORDS}.")
    return frozenset(scopes)


def check_expiry(
    value: datetime | None, now: datetime, field: str = "expiresAt"
) -> datetime | None:
    """No expiry, or a moment in the future."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidInput.one(field, "The expiry needs a time zone (or send a date).")
    if value <= now:
        raise InvalidInput.one(field, "The expiry must be in the future.")
    return value


def ordered(scopes: Iterable[Scope | str]) -> list[str]:
    """Scopes in their documented order, for storage and display."""
    chosen = {Scope(s) for s in scopes}
    return [s.value for s in Scope if s in chosen]
