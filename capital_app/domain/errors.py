"""Typed errors for every rule, each with a message written for people.

`kind` says what sort of failure it is; the API turns kinds into HTTP statuses,
the UI into toasts and inline messages. Nothing here knows about either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

T = TypeVar("T")


class ErrorKind(StrEnum):
    INVALID = "invalid"  # the input breaks a rule (422)
    CONFLICT = "conflict"  # the input clashes with what is stored (409)
    NOT_FOUND = "not-found"  # 404
    FORBIDDEN = "forbidden"  # 403
    UNAUTHENTICATED = "unauthenticated"  # 401
    THROTTLED = "throttled"  # 429
    UNAVAILABLE = "unavailable"  # 503


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class LedgerError(Exception):
    """Base of every expected failure; `str()` is the plain-words message."""

    kind: ErrorKind = ErrorKind.INVALID
    title: str = "Invalid request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def field_errors(self) -> list[FieldError]:
        return []


class InvalidInput(LedgerError):
    """One or more fields break a rule; all of them are reported at once."""

    title = "Invalid input"

    def __init__(self, errors: list[FieldError]) -> None:
        if not errors:
            raise ValueError("InvalidInput needs at least one FieldError")
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)

    @property
    def field_errors(self) -> list[FieldError]:
        return self.errors

    @classmethod
    def one(cls, field: str, message: str) -> InvalidInput:
        return cls([FieldError(field, message)])


class NoChange(InvalidInput):
    title = "Nothing to change"


class NameTaken(LedgerError):
    kind = ErrorKind.CONFLICT
    title = "Name already in use"


class SourceRemoved(LedgerError):
    kind = ErrorKind.CONFLICT
    title = "Source removed"


class ChangeAfterRemoval(LedgerError):
    kind = ErrorKind.CONFLICT
    title = "Change after removal"


class SourceExists(LedgerError):
    kind = ErrorKind.CONFLICT
    title = "Source already exists"


class SequenceMismatch(LedgerError):
    """The source changed since the caller last read it (optimistic concurrency)."""

    kind = ErrorKind.CONFLICT
    title = "Source changed since you last read it"

    def __init__(self, expected: int, current: int, latest_entry: Any = None) -> None:
        super().__init__(
            f"Expected the source at sequence {expected}, but it is at {current}: "
            "someone else changed it. Reload to see the current values."
        )
        self.expected = expected
        self.current = current
        self.latest_entry = latest_entry


class WriteConflict(LedgerError):
    """Another write got in first in a way no rule above describes."""

    kind = ErrorKind.CONFLICT
    title = "Conflicting write"


class RateMissing(LedgerError):
    """A total in the reporting currency needs an FX rate that is not recorded."""

    kind = ErrorKind.CONFLICT
    title = "FX rate missing"

    def __init__(self, missing_rates: tuple[str, ...]) -> None:
        super().__init__(
            "Totals are in the reporting currency and need every rate: "
            + "; ".join(missing_rates)
            + ". Record the rate (POST /api/fx-rates), or ask with include=reporting."
        )
        self.missing_rates = list(missing_rates)


class ErrorCollector:
    """Run several checks and report every failure together, not just the first."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def check(self, check: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        try:
            return check(*args, **kwargs)
        except InvalidInput as error:
            self.errors.extend(error.errors)
            return None

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)
