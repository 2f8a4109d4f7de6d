"""SQLModel tables: the schema as Python sees it.

The migrations in alembic/versions are the authority (they also create triggers,
policies, grants and partial indexes); a test checks these models agree with them.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    CHAR,
    BigInteger,
    Column,
    DateTime,
    Identity,
    Integer,
    Numeric,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata


def _ts(nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class Organization(SQLModel, table=True):
    __tablename__ = "organization"
    id: UUID = Field(primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False))
    currency: str = Field(sa_column=Column(CHAR(3), nullable=False))
    created_at: datetime = Field(sa_column=_ts())


class OrganizationRevision(SQLModel, table=True):
    __tablename__ = "organization_revision"
    organization_id: UUID = Field(primary_key=True, foreign_key="organization.id")
    revision: int = Field(sa_column=Column(BigInteger, nullable=False))


class AppUser(SQLModel, table=True):
    __tablename__ = "app_user"
    organization_id: UUID = Field(primary_key=True, foreign_key="organization.id")
    id: UUID = Field(primary_key=True)
    email: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    role: str = Field(sa_column=Column(Text, nullable=False))
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    active: bool
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())


class ImportLog(SQLModel, table=True):
    __tablename__ = "import_log"
    organization_id: UUID = Field(primary_key=True, foreign_key="organization.id")
    id: UUID = Field(primary_key=True)
    imported_by: UUID
    imported_at: datetime = Field(sa_column=_ts())
    file_name: str | None = Field(sa_column=Column(Text, nullable=True))
    content_sha256: str = Field(sa_column=Column(Text, nullable=False))
    entries_in_file: int
    imported_count: int
    skipped_count: int
    revision: int | None = Field(sa_column=Column(BigInteger, nullable=True))


class CapitalSource(SQLModel, table=True):
    """Projection: the current terms of one source."""

    __tablename__ = "capital_source"
    organization_id: UUID = Field(primary_key=True, foreign_key="organization.id")
    source_id: str = Field(sa_column=Column(Text, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    annual_rate: Decimal = Field(sa_column=Column(Numeric(10, 6), nullable=False))
    available_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    added_date: datetime = Field(sa_column=_ts())
    removed_date: datetime | None = Field(sa_column=_ts(nullable=True))
    rate_effective_date: datetime = Field(sa_column=_ts())
    amount_effective_date: datetime = Field(sa_column=_ts())
    last_effective_date: datetime = Field(sa_column=_ts())
    latest_sequence: int = Field(sa_column=Column(Integer, nullable=False))
    latest_entry_id: str = Field(sa_column=Column(Text, nullable=False))
    revision: int = Field(sa_column=Column(BigInteger, nullable=False))
    # The source's terms, copied from its ADDED entry by the insert trigger (migration 0014).
    currency: str = Field(sa_column=Column(CHAR(3), nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))


class CapitalHistory(SQLModel, table=True):
    """One immutable event of a source's life."""

    __tablename__ = "capital_history"
    organization_id: UUID = Field(primary_key=True)
    id: str = Field(sa_column=Column(Text, primary_key=True))
    source_id: str = Field(sa_column=Column(Text, nullable=False))
    sequence: int = Field(sa_column=Column(Integer, nullable=False))
    action: str = Field(sa_column=Column(Text, nullable=False))
    effective_date: datetime = Field(sa_column=_ts())
    name: str = Field(sa_column=Column(Text, nullable=False))
    annual_rate: Decimal = Field(sa_column=Column(Numeric(10, 6), nullable=False))
    available_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    previous_rate: Decimal | None = Field(sa_column=Column(Numeric(10, 6), nullable=True))
    previous_amount: int | None = Field(sa_column=Column(BigInteger, nullable=True))
    notes: str | None = Field(sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_ts())
    created_by: str | None = Field(sa_column=Column(Text, nullable=True))
    recorded_by: UUID | None = None
    import_id: UUID | None = None
    revision: int = Field(sa_column=Column(BigInteger, nullable=False))
    original_created_at: datetime | None = Field(sa_column=_ts(nullable=True))
    original_created_by: str | None = Field(sa_column=Column(Text, nullable=True))
    api_key_id: UUID | None = None
    api_key_name: str | None = Field(sa_column=Column(Text, nullable=True))
    # The source's terms, on its ADDED entry only (migration 0013).
    currency: str | None = Field(sa_column=Column(CHAR(3), nullable=True))
    kind: str | None = Field(sa_column=Column(Text, nullable=True))


class CapitalWaccDayDelta(SQLModel, table=True):
    """Per-day change of the active sources' WACC sums (migration 0010; derived data)."""

    __tablename__ = "capital_wacc_day_delta"
    organization_id: UUID = Field(primary_key=True, foreign_key="organization.id")
    bucket: str = Field(sa_column=Column(Text, primary_key=True))
    day: date = Field(primary_key=True)
    total_cents: Decimal = Field(sa_column=Column(Numeric, nullable=False))
    weighted_cents: Decimal = Field(sa_column=Column(Numeric, nullable=False))
    source_count: int = Field(sa_column=Column(BigInteger, nullable=False))


class FxRate(SQLModel, table=True):
    """One dated exchange rate: 1 `from_currency` = `rate` `to_currency` (append-only; migration 0013)."""

    __tablename__ = "fx_rate"
    organization_id: UUID = Field(primary_key=True, foreign_key="organization.id")
    id: UUID = Field(primary_key=True)
    from_currency: str = Field(sa_column=Column(CHAR(3), nullable=False))
    to_currency: str = Field(sa_column=Column(CHAR(3), nullable=False))
    rate: Decimal = Field(sa_column=Column(Numeric(24, 12), nullable=False))
    effective_date: date
    recorded_at: datetime = Field(sa_column=_ts())
    recorded_by: UUID | None = None
    api_key_id: UUID | None = None


class CorporateTaxRate(SQLModel, table=True):
    """One dated corporate tax rate of the organization (append-only; migration 0013)."""

    __tablename__ = "corporate_tax_rate"
    organization_id: UUID = Field(primary_key=True, foreign_key="organization.id")
    id: UUID = Field(primary_key=True)
    rate: Decimal = Field(sa_column=Column(Numeric(10, 6), nullable=False))
    effective_date: date
    recorded_at: datetime = Field(sa_column=_ts())
    recorded_by: UUID | None = None
    api_key_id: UUID | None = None


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_key"
    organization_id: UUID = Field(primary_key=True, foreign_key="organization.id")
    key: str = Field(sa_column=Column(Text, primary_key=True))
    user_id: UUID
    request_hash: str = Field(sa_column=Column(Text, nullable=False))
    source_id: str | None = Field(sa_column=Column(Text, nullable=True))
    entry_id: str | None = Field(sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_ts())


class AuthEvent(SQLModel, table=True):
    __tablename__ = "auth_event"
    id: int = Field(sa_column=Column(BigInteger, Identity(always=True), primary_key=True))
    organization_id: UUID | None = Field(default=None, foreign_key="organization.id")
    occurred_at: datetime = Field(sa_column=_ts())
    email: str = Field(sa_column=Column(Text, nullable=False))
    client_address: str = Field(sa_column=Column(Text, nullable=False))
    user_id: UUID | None = None
    succeeded: bool
    reason: str = Field(sa_column=Column(Text, nullable=False))


class ApiKey(SQLModel, table=True):
    """An integrator's key: only the SHA-256 of its secret is stored."""

    __tablename__ = "api_key"
    organization_id: UUID = Field(primary_key=True, foreign_key="organization.id")
    id: UUID = Field(primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False))
    prefix: str = Field(sa_column=Column(Text, nullable=False))
    secret_sha256: str = Field(sa_column=Column(Text, nullable=False))
    scopes: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    created_by: UUID
    created_at: datetime = Field(sa_column=_ts())
    expires_at: datetime | None = Field(sa_column=_ts(nullable=True))
    last_used_at: datetime | None = Field(sa_column=_ts(nullable=True))
    revoked_at: datetime | None = Field(sa_column=_ts(nullable=True))
    revoked_by: UUID | None = None


class AuditEvent(SQLModel, table=True):
    """The security audit log (append-only; migration 0004)."""

    __tablename__ = "audit_event"
    id: int = Field(sa_column=Column(BigInteger, Identity(always=True), primary_key=True))
    organization_id: UUID | None = Field(default=None, foreign_key="organization.id")
    occurred_at: datetime = Field(sa_column=_ts())
    action: str = Field(sa_column=Column(Text, nullable=False))
    actor_user_id: UUID | None = None
    actor_email: str | None = Field(sa_column=Column(Text, nullable=True))
    subject_user_id: UUID | None = None
    client_address: str | None = Field(sa_column=Column(Text, nullable=True))
    details: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))


class WebhookEndpoint(SQLModel, table=True):
    """Where an organization's changes are delivered (migration 0009)."""

    __tablename__ = "webhook_endpoint"
    organization_id: UUID = Field(primary_key=True, foreign_key="organization.id")
    id: UUID = Field(primary_key=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    event_types: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    secret: str = Field(sa_column=Column(Text, nullable=False))
    created_by: UUID
    created_at: datetime = Field(sa_column=_ts())
    disabled_at: datetime | None = Field(sa_column=_ts(nullable=True))
    failing_since: datetime | None = Field(sa_column=_ts(nullable=True))
    delivered_revision: int = Field(sa_column=Column(BigInteger, nullable=False))
    delivered_entry_id: str = Field(sa_column=Column(Text, nullable=False))
    next_attempt_at: datetime | None = Field(sa_column=_ts(nullable=True))


class WebhookDelivery(SQLModel, table=True):
    """One history entry's delivery to one endpoint, with its last attempt."""

    __tablename__ = "webhook_delivery"
    organization_id: UUID = Field(primary_key=True)
    id: UUID = Field(primary_key=True)
    endpoint_id: UUID
    entry_id: str = Field(sa_column=Column(Text, nullable=False))
    revision: int = Field(sa_column=Column(BigInteger, nullable=False))
    event_type: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    attempts: int
    response_code: int | None = None
    latency_ms: int | None = None
    last_error: str | None = Field(sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_ts())
    last_attempt_at: datetime | None = Field(sa_column=_ts(nullable=True))
    delivered_at: datetime | None = Field(sa_column=_ts(nullable=True))
    resend_requested: bool


class AlertRule(SQLModel, table=True):
    """A threshold an organization watches (migration 0012); deactivated, never deleted."""

    __tablename__ = "alert_rule"
    organization_id: UUID = Field(primary_key=True, foreign_key="organization.id")
    id: UUID = Field(primary_key=True)
    kind: str = Field(sa_column=Column(Text, nullable=False))
    threshold: Decimal = Field(sa_column=Column(Numeric, nullable=False))
    window_days: int | None = Field(sa_column=Column(Integer, nullable=True))
    created_by: UUID
    created_at: datetime = Field(sa_column=_ts())
    active: bool
    deactivated_at: datetime | None = Field(sa_column=_ts(nullable=True))
    deactivated_by: UUID | None = None


class AlertLog(SQLModel, table=True):
    """One rule crossed by one change (append-only; migration 0012)."""

    __tablename__ = "alert_log"
    organization_id: UUID = Field(primary_key=True)
    id: UUID = Field(primary_key=True)
    rule_id: UUID
    kind: str = Field(sa_column=Column(Text, nullable=False))
    threshold: Decimal = Field(sa_column=Column(Numeric, nullable=False))
    window_days: int | None = Field(sa_column=Column(Integer, nullable=True))
    triggered_at: datetime = Field(sa_column=_ts())
    revision: int = Field(sa_column=Column(BigInteger, nullable=False))
    event_id: str = Field(sa_column=Column(Text, nullable=False))
    entry_id: str | None = Field(sa_column=Column(Text, nullable=True))
    source_id: str | None = Field(sa_column=Column(Text, nullable=True))
    sequence: int | None = Field(sa_column=Column(Integer, nullable=True))
    import_id: UUID | None = None
    value_before: Decimal | None = Field(sa_column=Column(Numeric, nullable=True))
    value_after: Decimal = Field(sa_column=Column(Numeric, nullable=False))
    total_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    wacc: Decimal | None = Field(sa_column=Column(Numeric, nullable=True))
