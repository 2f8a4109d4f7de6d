"""Build organizations, users and actors for tests: each test gets its own tenant."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from capital_app.domain.accounts import OrganizationRecord, UserRecord
from capital_app.service import history_commands as commands
from capital_app.service.actor import Actor
from capital_app.service.organizations import create_organization
from capital_app.service.users import provision_user

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Tenant:
    organization: OrganizationRecord
    admin: UserRecord
    editor: UserRecord
    viewer: UserRecord

    @property
    def org_id(self):
        return self.organization.id

    def actor(self, role: str = "EDITOR") -> Actor:
        user = {"ADMIN": self.admin, "EDITOR": self.editor, "VIEWER": self.viewer}[role]
        return Actor(user.id, user.organization_id)


def make_tenant(label: str = "Org") -> Tenant:
    suffix = secrets.token_hex(4)
    org = create_organization(f"{label} {suffix}", "KES")
    users = {
        role: provision_user(
            org.id,
            email=f"{role.lower()}-{suffix}@example.test",
            name=f"{role.title()} {suffix}",
            role=role,
            password=PASSWORD,
        )
        for role in ("ADMIN", "EDITOR", "VIEWER")
    }
    return Tenant(org, users["ADMIN"], users["EDITOR"], users["VIEWER"])


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def add_source(
    actor: Actor,
    name: str | None = None,
    cents: int = 100_000_00,
    rate: str = "0.1",
    days: float = 30,
) -> str:
    result = commands.add_source(
        actor,
        name=name or f"Source {secrets.token_hex(3)}",
        annual_rate=Decimal(rate),
        available_cents=cents,
        effective_date=days_ago(days),
    )
    return result.source_id
