"""Errors of access and identity, beside the ledger's own (re-exported here)."""

from __future__ import annotations

from uuid import UUID

from capital_app.auth.tokens import InvalidToken
from capital_app.db.unit_of_work import DatabaseUnavailable
from capital_app.domain.errors import (
    ChangeAfterRemoval,
    ErrorKind,
    FieldError,
    InvalidInput,
    LedgerError,
    NameTaken,
    NoChange,
    SequenceMismatch,
    SourceExists,
    SourceRemoved,
    WriteConflict,
)

__all__ = [
    "AuthenticationFailed",
    "ChangeAfterRemoval",
    "DatabaseUnavailable",
    "ErrorKind",
    "FieldError",
    "Forbidden",
    "IdempotencyKeyReused",
    "InvalidInput",
    "InvalidToken",
    "LedgerError",
    "NameTaken",
    "NoChange",
    "NotFound",
    "OrganizationNeeded",
    "SequenceMismatch",
    "SourceExists",
    "SourceRemoved",
    "TooManyAttempts",
    "Unauthenticated",
    "WriteConflict",
]


class NotFound(LedgerError):
    kind = ErrorKind.NOT_FOUND
    title = "Not found"


class Forbidden(LedgerError):
    kind = ErrorKind.FORBIDDEN
    title = "Not allowed"


class Unauthenticated(LedgerError):
    kind = ErrorKind.UNAUTHENTICATED
    title = "Not signed in"


class AuthenticationFailed(Unauthenticated):
    title = "Sign-in failed"


class OrganizationNeeded(LedgerError):
    """The password fits accounts with this email in several organizations: say which.

    `organizations` lists only those (id, name) pairs, and only to a caller who has
    just proved the password for each of them."""

    kind = ErrorKind.CONFLICT
    title = "Choose an organization"

    def __init__(self, organizations: list[tuple[UUID, str]]) -> None:
        super().__init__(
            "This email and password sign in to more than one organization."
            " Choose the organization to sign in to."
        )
        self.organizations = organizations


class TooManyAttempts(LedgerError):
    kind = ErrorKind.THROTTLED
    title = "Too many sign-in attempts"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(
            f"Too many failed sign-in attempts. Try again in about {minutes} minute"
            f"{'s' if minutes != 1 else ''}."
        )
        self.retry_after = retry_after


class IdempotencyKeyReused(LedgerError):
    kind = ErrorKind.CONFLICT
    title = "Idempotency key reused"
