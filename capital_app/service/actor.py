"""Who is acting, and the check that they may — re-read inside every transaction.

An Actor is only a claim (from a token or a UI session). The role and active flag
are read from the database in the same transaction as the work, so a role change
or a deactivation takes effect on the very next call, from any channel.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum
from uuid import UUID

from sqlalchemy import Connection

from capital_app.db import user_repository as users
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.db.user_repository import UserRecord
from capital_app.service.errors import Forbidden, Unauthenticated


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: UUID
    organization_id: UUID


class Permission(Enum):
    READ = "read"
    WRITE_HISTORY = "write history"
    MANAGE_USERS = "manage users"
    READ_AUDIT = "read the audit log"


def authorize(conn: Connection, actor: Actor, permission: Permission) -> UserRecord:
    user = users.get_user(conn, actor.organization_id, actor.user_id)
    if user is None or not user.active:
        raise Unauthenticated("Your account is not active; sign in again.")
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
