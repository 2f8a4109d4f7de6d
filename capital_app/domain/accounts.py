"""Users and organizations as the rest of the app sees them (read from db/, checked by
service/, shown by api/ and ui/)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from capital_app.domain.values import Role


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: UUID
    organization_id: UUID
    email: str
    name: str
    role: Role
    active: bool
    password_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OrganizationRecord:
    id: UUID
    name: str
    currency: str
    created_at: datetime
