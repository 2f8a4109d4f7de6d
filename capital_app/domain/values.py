"""Value rules: rates, cents, names, notes, dates — checked the same way everywhere.

Each `check_*` takes what a caller received and returns the clean value or raises
InvalidInput with a plain-words message. Floats are refused on purpose: money and
rates are exact decimals from the moment they enter the system.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from capital_app.domain.errors import InvalidInput

RATE_PLACES = 6
RATE_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)
MIN_CENTS = 1
MAX_CENTS = 10**15
MAX_NAME_LENGTH = 200
MAX_NOTES_LENGTH = 2000
MAX_ID_LENGTH = 100
EARLIEST_DATE = datetime(1900, 1, 1, tzinfo=UTC)

MAX_IDEMPOTENCY_KEY_LENGTH = 200
MAX_SEQUENCE = 2**31 - 1  # capital_history.sequence is an INTEGER
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1000

# Control characters have no place in names; notes may keep line breaks and tabs.
# Lone surrogates (JSON can spell "\ud800") are not text: PostgreSQL cannot store them.
_NAME_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_NOTES_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# Invisible and text-direction characters: a name of only U+200B shows as a blank row,
# U+202E shows "exe.txt" for "txt.exe". Refused everywhere a person types a label
# (names, notes, user names), never silently removed.
_INVISIBLE_OR_BIDI = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u061c\u180e]"
)
_IDEMPOTENCY_KEY = re.compile(rf"^[\x21-\x7e]{{1,{MAX_IDEMPOTENCY_KEY_LENGTH}}}$")


class Action(StrEnum):
    ADDED = "ADDED"
    AMOUNT_CHANGED = "AMOUNT_CHANGED"
    RATE_CHANGED = "RATE_CHANGED"
    REMOVED = "REMOVED"


class Role(StrEnum):
    ADMIN = "ADMIN"
    EDITOR = "EDITOR"
    VIEWER = "VIEWER"

    @classmethod
    def named(cls, name: str) -> Role | None:
        """The role a stored or session name stands for; None for no (or an unknown) role."""
        try:
            return cls(name)
        except ValueError:
            return None

    @property
    def can_administer(self) -> bool:
        """Manage the organization: users, API keys, webhooks, settings."""
        return self is Role.ADMIN

    @property
    def can_write_history(self) -> bool:
        return self in (Role.ADMIN, Role.EDITOR)

    @property
    def can_manage_users(self) -> bool:
        return self is Role.ADMIN


def check_rate(value: object, field: str = "annualRate") -> Decimal:
    """A decimal fraction 0 ≤ rate ≤ 1 with at most 6 decimal places."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise InvalidInput.one(field, "Rate must be a number between 0% and 100%.")
    rate = Decimal(value)
    if not rate.is_finite():
        raise InvalidInput.one(field, "Rate must be a number between 0% and 100%.")
    if rate < 0 or rate > 1:
        raise InvalidInput.one(field, "Rate must be between 0% and 100%.")
    if rate != rate.quantize(RATE_QUANTUM):
        raise InvalidInput.one(
            field, "Rate can have at most 6 decimal places (4 when written in percent)."
        )
    return rate.quantize(RATE_QUANTUM)


# A JavaScript double meant a 6-place rate when it is this close to one: 2.14 / 100
# prints as 0.021400000000000002. The prototype's files and client are full of them.
FLOAT_NOISE = Decimal("1e-9")


def rate_meant(value: Decimal) -> Decimal | None:
    """The 6-place rate a float-noisy `value` (0 ≤ value ≤ 1) stands for, or None when
    it is no closer than FLOAT_NOISE to one (then its extra places are real)."""
    nearest = value.quantize(RATE_QUANTUM)
    return nearest if abs(value - nearest) <= FLOAT_NOISE else None


def check_cents(value: object, field: str = "availableCents") -> int:
    """A whole number of cents, 1 ≤ cents ≤ 10^15; never a float, string or bool."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput.one(field, "Amount must be a whole number of cents.")
    if value < MIN_CENTS or value > MAX_CENTS:
        raise InvalidInput.one(
            field, "Amount must be at least 0.01 and at most 10,000,000,000,000.00."
        )
    return value


def _invisible_problem(text: str, what: str) -> str | None:
    """Why `text` would not show as typed, or None."""
    found = _INVISIBLE_OR_BIDI.search(text)
    if found:
        return (
            f"{what} must not contain invisible or text-direction characters "
            f"(found U+{ord(found.group()):04X})."
        )
    if all(unicodedata.category(c) in ("Cf", "Zs", "Zl", "Zp") for c in text):
        return f"{what} must contain visible characters."
    return None


def check_name(value: object, field: str = "name") -> str:
    """1–200 characters after trimming, no control characters."""
    if not isinstance(value, str):
        raise InvalidInput.one(field, "Name must be text.")
    name = value.strip()
    if not name:
        raise InvalidInput.one(field, "Name is required.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput.one(field, f"Name must be at most {MAX_NAME_LENGTH} characters.")
    if _NAME_FORBIDDEN.search(name):
        raise InvalidInput.one(field, "Name must not contain control characters.")
    if problem := _invisible_problem(name, "Name"):
        raise InvalidInput.one(field, problem)
    return name


def check_notes(value: object, field: str = "notes") -> str | None:
    """Optional free text up to 2,000 characters; blank means none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput.one(field, "Notes must be text.")
    notes = value.strip()
    if not notes:
        return None
    if len(notes) > MAX_NOTES_LENGTH:
        raise InvalidInput.one(field, f"Notes must be at most {MAX_NOTES_LENGTH} characters.")
    if _NOTES_FORBIDDEN.search(notes):
        raise InvalidInput.one(field, "Notes must not contain control characters.")
    if problem := _invisible_problem(notes, "Notes"):
        raise InvalidInput.one(field, problem)
    return notes


def check_source_id(value: object, field: str = "sourceId") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput.one(field, "Source id is required.")
    if len(value) > MAX_ID_LENGTH or _NAME_FORBIDDEN.search(value):
        raise InvalidInput.one(field, "Source id is not valid.")
    return value


def check_idempotency_key(value: object, field: str = "Idempotency-Key") -> str:
    """A client's retry key: 1–200 visible ASCII characters (a UUID is typical)."""
    if not isinstance(value, str) or not _IDEMPOTENCY_KEY.match(value):
        raise InvalidInput.one(
            field,
            f"Idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII "
            "characters, such as a UUID.",
        )
    return value


def check_expected_sequence(value: object, field: str = "expectedSequence") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SEQUENCE:
        raise InvalidInput.one(field, "Expected sequence must be a positive whole number.")
    return value


def check_effective_date(value: datetime, now: datetime, field: str = "effectiveDate") -> datetime:
    """An aware instant, not in the future and not before 1900."""
    if value.tzinfo is None:
        raise InvalidInput.one(field, "Date-times must include a time zone offset (e.g. Z).")
    value = value.astimezone(UTC)
    if value > now:
        raise InvalidInput.one(field, "Effective date cannot be in the future.")
    if value < EARLIEST_DATE:
        raise InvalidInput.one(field, "Effective date cannot be before 1900.")
    return value


def parse_instant(text: str, field: str, *, end_of_day: bool = False) -> datetime:
    """Parse `2026-03-01` or an ISO date-time with offset into an aware UTC instant.

    A bare date means the start of that day (UTC) for effective dates, and its end
    for as-of / known-at bounds, so "as of 31 Jan" includes everything on 31 Jan.
    """
    raw = text.strip() if isinstance(text, str) else ""
    if not raw:
        raise InvalidInput.one(field, "Date is required.")
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            if end_of_day:
                return datetime.combine(day, time.max, tzinfo=UTC)
            return datetime.combine(day, time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise InvalidInput.one(
            field, "Date must look like 2026-03-01 or 2026-03-01T09:00:00Z."
        ) from None
    if parsed.tzinfo is None:
        raise InvalidInput.one(field, "Date-times must include a time zone offset (e.g. Z).")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise InvalidInput.one(field, "Date is out of range.") from None


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def parse_percent(text: str, field: str = "annualRate") -> Decimal:
    """'13.25' or '13.25 %' (percent, as people type it) → Decimal('0.1325')."""
    raw = text.strip().removesuffix("%").strip().replace(",", "") if isinstance(text, str) else ""
    if not raw:
        raise InvalidInput.one(field, "Rate is required.")
    try:
        percent = Decimal(raw)
    except InvalidOperation:
        raise InvalidInput.one(field, "Rate must be a number, like 13.25.") from None
    if not percent.is_finite():
        raise InvalidInput.one(field, "Rate must be a number, like 13.25.")
    return check_rate(percent.scaleb(-2), field)


def parse_money(text: str, field: str = "availableCents") -> int:
    """'1,234,567.89' (shillings, as people type them) → 123456789 cents."""
    raw = text.strip().upper().removeprefix("KES").strip().replace(",", "").replace(" ", "")
    if not raw:
        raise InvalidInput.one(field, "Amount is required.")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise InvalidInput.one(field, "Amount must be a number, like 1,250,000.00.") from None
    if not amount.is_finite():
        raise InvalidInput.one(field, "Amount must be a number, like 1,250,000.00.")
    if amount and amount.adjusted() > 20:  # 1e999999 would overflow the arithmetic below
        return check_cents(MAX_CENTS + 1, field)
    cents = amount.scaleb(2)
    if cents != cents.to_integral_value():
        raise InvalidInput.one(field, "Amount can have at most 2 decimal places.")
    return check_cents(int(cents), field)


# --- users -----------------------------------------------------------------------

# No spaces or control characters (PostgreSQL cannot store NUL or lone surrogates).
_NOT_IN_EMAIL = r"@\s\x00-\x1f\x7f\ud800-\udfff"
_EMAIL = re.compile(rf"^[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+\.[^{_NOT_IN_EMAIL}]+$")


_CURRENCY = re.compile(r"^[A-Z]{3}$")


def check_currency(value: object, field: str = "currency") -> str:
    """A three-letter ISO 4217-style code in capitals (KES, USD); surrounding spaces trimmed."""
    if not isinstance(value, str) or not _CURRENCY.match(value.strip()):
        raise InvalidInput.one(field, "Currency must be a three-letter code such as KES.")
    return value.strip()


def check_email(value: object, field: str = "email") -> str:
    if not isinstance(value, str):
        raise InvalidInput.one(field, "Email must be text.")
    email = value.strip().lower()
    if len(email) > 320 or not _EMAIL.match(email):
        raise InvalidInput.one(field, "Enter a valid email address, like jane@example.co.ke.")
    return email


def check_role(value: object, field: str = "role") -> Role:
    if isinstance(value, str):
        try:
            return Role(value)
        except ValueError:
            pass
    raise InvalidInput.one(field, "Role must be ADMIN, EDITOR or VIEWER.")


def check_active(value: object, field: str = "active") -> bool:
    if not isinstance(value, bool):
        raise InvalidInput.one(field, "Active must be true or false.")
    return value


def check_password_rules(password: object, field: str = "password") -> str:
    if not isinstance(password, str):
        raise InvalidInput.one(field, "Password must be text.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput.one(
            field, f"Password must be at least {MIN_PASSWORD_LENGTH} characters."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput.one(field, f"Password must be at most {MAX_PASSWORD_LENGTH} characters.")
    return password
