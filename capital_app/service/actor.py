"""Who is acting, and the check that they may — re-read inside every transaction.

An Actor is only a claim (from a token or a UI session). The role and active flag
are read from the database in the same transaction as the work, so a role change
or a deactivation takes effect on the very next call, from any channel.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import Enum
from uuid import UUID

from sqlalchemy import Connection

from capital_app.db import session_repository as sessions
from capital_app.db import user_repository as users
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.db.user_repository import UserRecord
from capital_app.service.errors import Forbidden, Unauthenticated

SESSION_ENDED = "You were signed out of this session; sign in again."


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: UUID
    organization_id: UUID
    # When the token behind this actor was issued (whole seconds): a sign-out of the
    # user since then ends it, checked on every call. None for operators' actors.
    issued_at: int | None = field(default=None, compare=False)


class Permission(Enum):
    READ = "read"
    WRITE_HISTORY = "write history"
    MANAGE_USERS = "manage users"
    READ_AUDIT = "read the audit log"


def authorize(conn: Connection, actor: Actor, permission: Permission) -> UserRecord:
    user = users.get_user(conn, actor.organization_id, actor.user_id)
    if user is None or not user.active:
        raise Unauthenticated("Your account is not active; sign in again.")
    if actor.issued_at is not None:
        signed_out = sessions.latest_sign_out(conn, actor.organization_id, actor.user_id)
        # Tokens carry whole seconds: one issued in the second before a sign-out
        # may survive it, but a sign-in right after a sign-out is never refused.
        if signed_out is not None and signed_out.timestamp() >= actor.issued_at + 1:
            raise Unauthenticated(SESSION_ENDED)
    if permission is Permission.WRITE_HISTORY and not user.role.can_write_history:
        raise Forbidden("Your role can view the ledger but not change it.")
    if permission is Permission.MANAGE_USERS and not user.role.can_manage_users:
        raise Forbidden("Only an administrator can manage users.")
    if permission is Permission.READ_AUDIT and not user.role.can_manage_users:
        raise Forbidden("Only an administrator can read the audit log.")
    return user


def readers_among(organization_id: UUID, user_ids: Collection[UUID]) -> frozenset[UUID]:
    """Which of these users may read the organization now: one query for many sessions.

    `authorize(..., READ)` for a batch, used where one read is shared by the open
    sessions of several users (realtime catch-up) so each is still checked.
    """
    if not user_ids:
        return frozenset()
    with tenant_transaction(organization_id, read_only=True) as conn:
        return frozenset(users.active_user_ids(conn, organization_id, list(user_ids)))
