"""One event of the security audit log, as stored (see service/audit.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True, slots=True)
class AuditEventRecord:
    id: int
    organization_id: UUID | None
    occurred_at: datetime
    action: str
    actor_user_id: UUID | None
    actor_email: str | None
    subject_user_id: UUID | None
    client_address: str | None
    details: dict[str, Any]
