"""The history entry (one immutable event) and the state of a source it folds into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from capital_app.domain.values import Action


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One row of capital_history.

    `annual_rate` and `available_cents` are the source's terms just after this
    event as of its effective date; `previous_*` is set only by the action that
    changes that value.
    """

    id: str
    source_id: str
    sequence: int
    action: Action
    effective_date: datetime
    name: str
    annual_rate: Decimal
    available_cents: int
    previous_rate: Decimal | None = None
    previous_amount: int | None = None
    notes: str | None = None
    created_at: datetime | None = None
    created_by: str | None = None
    organization_id: UUID | None = None
    revision: int | None = None
    recorded_by: UUID | None = None
    # What an imported file said of the entry (the database's own time and author are
    # `created_at` and `created_by`, stamped by its trigger); None for entries made here.
    original_created_at: datetime | None = None
    original_created_by: str | None = None
    import_id: UUID | None = None
    api_key_id: UUID | None = None  # written with this API key (its name below)
    api_key_name: str | None = None

    @property
    def first_recorded_at(self) -> datetime | None:
        """When the entry was first recorded anywhere: the prototype's time if imported."""
        return self.original_created_at or self.created_at

    @property
    def first_recorded_by(self) -> str | None:
        """Who first recorded it anywhere: the prototype's author if imported."""
        return self.original_created_by if self.original_created_at else self.created_by

    @property
    def fold_key(self) -> tuple[datetime, int]:
        """Events apply in (effective date, sequence) order."""
        return (self.effective_date, self.sequence)


@dataclass(frozen=True, slots=True)
class SourceState:
    """A source as of some moment: what the projection row holds for 'now'."""

    source_id: str
    name: str
    annual_rate: Decimal
    available_cents: int
    active: bool
    added_date: datetime
    removed_date: datetime | None
    rate_effective_date: datetime
    amount_effective_date: datetime
    last_effective_date: datetime
    sequence: int
    latest_entry_id: str

    @property
    def terms(self) -> tuple[int, Decimal]:
        return (self.available_cents, self.annual_rate)
