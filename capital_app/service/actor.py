"""Who is acting, and the check that they may — re-read inside every transaction.

An Actor is only a claim (from a token or a UI session). The role and active flag
are read from the database in the same transaction as the work, so a role change
or a deactivation takes effect on the very next call, from any channel.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from uuid import UUID

from sqlalchemy import Connection

from capital_app.db import api_key_repository as api_keys
from capital_app.db import session_repository as sessions
from capital_app.db import user_repository as users
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.accounts import UserRecord
from capital_app.domain.scopes import Scope
from capital_app.service.errors import Forbidden, Unauthenticated

SESSION_ENDED = "You were signed out of this session; sign in again."


@dataclass(frozen=True, slots=True)
class Actor:
    """A person, or an API key (`api_key_id` set; `user_id` is then its creator)."""

    user_id: UUID
    organization_id: UUID
    api_key_id: UUID | None = None
    # When the token behind this actor was issued (whole seconds): a sign-out of the
    # user since then ends it, checked on every call. None for operators' actors.
    issued_at: int | None = field(default=None, compare=False)


class Permission(Enum):
    READ = "read"
    WRITE_HISTORY = "write history"
    MANAGE_USERS = "manage users"
    MANAGE_API_KEYS = "manage API keys"
    READ_AUDIT = "read the audit log"
    MANAGE_ORGANIZATION = "manage the organization's settings"
    MANAGE_WEBHOOKS = "manage webhooks"
    READ_METRICS = "read the server's metrics"
    MANAGE_ALERTS = "set and deactivate alert rules"


# The scopes that grant each permission to a key; no scope manages keys.
_KEY_SCOPES: dict[Permission, frozenset[str]] = {
    Permission.READ: frozenset({Scope.READ, Scope.WRITE, Scope.ADMIN}),
    Permission.WRITE_HISTORY: frozenset({Scope.WRITE}),
    Permission.MANAGE_USERS: frozenset({Scope.ADMIN}),
    Permission.MANAGE_API_KEYS: frozenset(),
    Permission.READ_AUDIT: frozenset({Scope.ADMIN}),
    Permission.MANAGE_ORGANIZATION: frozenset({Scope.ADMIN}),
    Permission.MANAGE_WEBHOOKS: frozenset({Scope.ADMIN}),
    Permission.READ_METRICS: frozenset({Scope.ADMIN}),
    Permission.MANAGE_ALERTS: frozenset({Scope.WRITE}),
}


def _ended_by(signed_out: datetime | None, issued_at: int | None) -> bool:
    """Did a sign-out end the token issued then? Tokens carry whole seconds: one issued
    in the second before a sign-out may survive it, but a sign-in right after a
    sign-out is never refused."""
    return (
        issued_at is not None
        and signed_out is not None
        and (signed_out.timestamp() >= issued_at + 1)
    )


def authorize(conn: Connection, actor: Actor, permission: Permission) -> UserRecord:
    if actor.api_key_id is not None:
        return authorize_api_key(conn, actor, actor.api_key_id, permission)
    user = users.get_user(conn, actor.organization_id, actor.user_id)
    signed_out = None
    if user is not None and user.active and actor.issued_at is not None:
        signed_out = sessions.latest_sign_out(conn, actor.organization_id, actor.user_id)
    return check_user(actor, user, signed_out, permission)


def check_user(
    actor: Actor, user: UserRecord | None, signed_out: datetime | None, permission: Permission
) -> UserRecord:
    """A person's standing, as re-read in the caller's transaction (the user's row and
    latest sign-out), against what the call needs. Shared by `authorize` and the
    pipelined hot reads (service/hot_reads.py), so both refuse the same way."""
    if user is None or not user.active:
        raise Unauthenticated("Your account is not active; sign in again.")
    if _ended_by(signed_out, actor.issued_at):
        raise Unauthenticated(SESSION_ENDED)
    if permission is Permission.WRITE_HISTORY and not user.role.can_write_history:
        raise Forbidden("Your role can view the ledger but not change it.")
    if permission is Permission.MANAGE_ALERTS and not user.role.can_write_history:
        raise Forbidden("Only an editor or administrator can set or deactivate alerts.")
    if permission is Permission.MANAGE_USERS and not user.role.can_manage_users:
        raise Forbidden("Only an administrator can manage users.")
    if permission is Permission.MANAGE_API_KEYS and not user.role.can_manage_users:
        raise Forbidden("Only an administrator can manage API keys.")
    if permission is Permission.MANAGE_WEBHOOKS and not user.role.can_manage_users:
        raise Forbidden("Only an administrator can manage webhooks.")
    if permission is Permission.READ_AUDIT and not user.role.can_manage_users:
        raise Forbidden("Only an administrator can read the audit log.")
    if permission is Permission.MANAGE_ORGANIZATION and not user.role.can_manage_users:
        raise Forbidden("Only an administrator can change the organization's settings.")
    if permission is Permission.READ_METRICS and not user.role.can_manage_users:
        raise Forbidden("Only an administrator (or the metrics token) can read the metrics.")
    return user


def authorize_api_key(
    conn: Connection, actor: Actor, key_id: UUID, permission: Permission
) -> UserRecord:
    """A key's standing read in the caller's transaction: revoked or expired keys are
    refused on their very next use. Returns the key's creator (who answers for it)."""
    return check_api_key(api_keys.key_standing(conn, actor.organization_id, key_id), permission)


def check_api_key(standing: api_keys.KeyStanding | None, permission: Permission) -> UserRecord:
    """A key's standing (as read in the caller's transaction) against what the call needs."""
    if standing is None or standing.revoked:
        raise Unauthenticated("This API key has been revoked.")
    if not standing.usable:
        raise Unauthenticated("This API key has expired; an administrator can create a new one.")
    if not standing.scopes & _KEY_SCOPES[permission]:
        if permission is Permission.MANAGE_API_KEYS:
            raise Forbidden("API keys are managed by a signed-in administrator, not by a key.")
        needed = " or ".join(sorted(_KEY_SCOPES[permission]))
        raise Forbidden(f"This API key's scopes do not allow this; it needs the {needed} scope.")
    return standing.creator


def readers_among(organization_id: UUID, user_ids: Collection[UUID]) -> frozenset[UUID]:
    """Which of these users may read the organization now: one query for many sessions.

    `authorize(..., READ)` for a batch, used where one read is shared by the open
    sessions of several users (realtime catch-up) so each is still checked.
    """
    if not user_ids:
        return frozenset()
    with tenant_transaction(organization_id, read_only=True) as conn:
        return frozenset(users.active_user_ids(conn, organization_id, list(user_ids)))


Session = tuple[UUID, int | None]  # (user id, when its token was issued; None: not a token)


def sessions_among(organization_id: UUID, asking: Collection[Session]) -> frozenset[Session]:
    """Which of these sessions may read the organization now: their users are active
    and none has signed out since the session's token was issued (as `authorize`
    checks), in one transaction for all. Live pushes and shared catch-up reads check
    their recipients with it, so a signed-out session gets nothing more."""
    if not asking:
        return frozenset()
    with tenant_transaction(organization_id, read_only=True) as conn:
        active = users.active_user_ids(conn, organization_id, list({u for u, _ in asking}))
        signed_out = sessions.latest_sign_outs(conn, organization_id, list(active))
    return frozenset(
        (user_id, issued)
        for user_id, issued in asking
        if user_id in active and not _ended_by(signed_out.get(user_id), issued)
    )
