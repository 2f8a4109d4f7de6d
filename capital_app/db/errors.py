"""Turn the database's own refusals (constraints, triggers) into typed ledger errors.

Python checks every rule first and gives the nicer message; these catch what
slips past it — a race, or a bug — so the user still gets a clear answer.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from capital_app.domain.errors import (
    ChangeAfterRemoval,
    InvalidInput,
    LedgerError,
    NameTaken,
    SourceExists,
    WriteConflict,
)

_BY_CONSTRAINT: dict[str, LedgerError] = {
    "capital_source_active_name_key": NameTaken(
        "Another active source already has this name (names are compared ignoring case)."
    ),
    "capital_history_one_added_key": SourceExists("This source was already added."),
    "capital_history_pkey": SourceExists("An entry with this id already exists."),
    "capital_history_source_sequence_key": WriteConflict(
        "Someone else changed this source at the same moment; reload and try again."
    ),
    "capital_history_sequence_gapless": WriteConflict(
        "Someone else changed this source at the same moment; reload and try again."
    ),
    "capital_history_effective_not_future": InvalidInput.one(
        "effectiveDate", "Effective date cannot be in the future."
    ),
    "capital_history_not_before_added": InvalidInput.one(
        "effectiveDate", "Effective date cannot be before the source was added."
    ),
    "capital_history_nothing_after_removed": ChangeAfterRemoval(
        "Nothing can take effect on or after the source's removal."
    ),
    "app_user_org_email_key": NameTaken("A user with this email already exists."),
    "app_user_email_key": NameTaken("A user with this email already exists."),
    "organization_name_key": NameTaken("An organization with this name already exists."),
}


def translate(error: DBAPIError) -> LedgerError | None:
    """The ledger error a database error stands for, or None if it is unexpected."""
    diag = getattr(error.orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None) if diag else None
    return _BY_CONSTRAINT.get(constraint or "")
