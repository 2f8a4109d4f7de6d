"""What operator commands need to act inside an organization as one of its users."""

from __future__ import annotations

from uuid import UUID

from capital_app.db import user_repository as repo
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.values import check_email
from capital_app.service.actor import Actor
from capital_app.service.errors import NotFound, Unauthenticated


def member_actor(organization_id: UUID, email: str) -> Actor:
    """The user with this email in this organization, as an Actor (their role applies)."""
    clean = check_email(email, "as")
    with tenant_transaction(organization_id, read_only=True) as conn:
        user = repo.find_user_by_email(conn, organization_id, clean)
    if user is None:
        raise NotFound(f"No user with the email {clean} belongs to this organization.")
    if not user.active:
        raise Unauthenticated(f"The user {clean} is deactivated.")
    return Actor(user.id, organization_id)
