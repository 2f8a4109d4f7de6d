"""Users of an organization: created, changed and deactivated by its ADMINs.

Users are never deleted (history names them). An organization always keeps at
least one active ADMIN, checked with the admins' rows locked so two concurrent
demotions cannot both succeed.
"""

from __future__ import annotations

import uuid
from uuid import UUID

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from capital_app.auth.passwords import hash_password
from capital_app.db import user_repository as repo
from capital_app.db.errors import translate
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.accounts import UserRecord
from capital_app.domain.errors import ErrorCollector, WriteConflict
from capital_app.domain.values import (
    Role,
    check_active,
    check_email,
    check_name,
    check_password_rules,
    check_role,
)
from capital_app.service.actor import Actor, Permission, authorize
from capital_app.service.audit import AuditAction, record_audit
from capital_app.service.errors import NameTaken, NotFound


def _checked_new_user(
    email: object, name: object, role: object, password: object
) -> tuple[str, str, Role, str]:
    errors = ErrorCollector()
    clean_email = errors.check(check_email, email)
    clean_name = errors.check(check_name, name)
    clean_role = errors.check(check_role, role)
    clean_password = errors.check(check_password_rules, password)
    errors.raise_if_any()
    assert clean_email and clean_name and clean_role and clean_password
    return clean_email, clean_name, clean_role, clean_password


def _insert(
    conn: Connection,
    org: UUID,
    email: str,
    name: str,
    role: Role,
    hashed: str,
    by: UserRecord | None,
) -> UserRecord:
    try:
        user = repo.insert_user(conn, org, uuid.uuid4(), email, name, role, hashed)
    except DBAPIError as error:
        if isinstance(translate(error), NameTaken):
            raise NameTaken("A user with this email already exists.") from error
        raise
    record_audit(
        conn,
        AuditAction.USER_CREATED,
        organization_id=org,
        actor_user_id=by.id if by else None,
        actor_email=by.email if by else None,
        subject_user_id=user.id,
        details={
            "email": email,
            "name": name,
            "role": role.value,
            "by": "admin" if by else "operator",
        },
    )
    return user


def _audit_changes(conn: Connection, by: UserRecord, before: UserRecord, after: UserRecord) -> None:
    """One event per changed field, with the old and new value."""
    changes: list[tuple[AuditAction, dict[str, object]]] = []
    if before.role is not after.role:
        changes.append(
            (AuditAction.USER_ROLE_CHANGED, {"from": before.role.value, "to": after.role.value})
        )
    if before.active != after.active:
        action = AuditAction.USER_REACTIVATED if after.active else AuditAction.USER_DEACTIVATED
        changes.append((action, {"from": before.active, "to": after.active}))
    if before.name != after.name:
        changes.append((AuditAction.USER_RENAMED, {"from": before.name, "to": after.name}))
    for action, details in changes:
        record_audit(
            conn,
            action,
            organization_id=after.organization_id,
            actor_user_id=by.id,
            actor_email=by.email,
            subject_user_id=after.id,
            details={"email": after.email, **details},
        )


def provision_user(
    organization_id: UUID, *, email: object, name: object, role: object, password: object
) -> UserRecord:
    """Operator command (command line, demo seed): no acting user is needed."""
    clean_email, clean_name, clean_role, clean_password = _checked_new_user(
        email, name, role, password
    )
    hashed = hash_password(clean_password)
    with tenant_transaction(organization_id) as conn:
        if repo.get_organization(conn, organization_id) is None:
            raise NotFound("Organization not found.")
        return _insert(conn, organization_id, clean_email, clean_name, clean_role, hashed, None)


def create_user(
    actor: Actor, *, email: object, name: object, role: object, password: object
) -> UserRecord:
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.MANAGE_USERS)
    clean_email, clean_name, clean_role, clean_password = _checked_new_user(
        email, name, role, password
    )
    hashed = hash_password(clean_password)  # slow on purpose: outside any transaction
    with tenant_transaction(actor.organization_id) as conn:
        admin = authorize(conn, actor, Permission.MANAGE_USERS)
        return _insert(
            conn, actor.organization_id, clean_email, clean_name, clean_role, hashed, admin
        )


def list_users(actor: Actor) -> list[UserRecord]:
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.MANAGE_USERS)
        return repo.list_users(conn, actor.organization_id)


def get_user(actor: Actor, user_id: UUID) -> UserRecord:
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.MANAGE_USERS)
        found = repo.get_user(conn, actor.organization_id, user_id)
    if found is None:
        raise NotFound("No user with this id exists in your organization.")
    return found


def update_user(
    actor: Actor,
    user_id: UUID,
    *,
    role: object = None,
    active: object = None,
    name: object = None,
) -> UserRecord:
    """Change role, active flag or name; None leaves a field as it is."""
    errors = ErrorCollector()
    new_role = errors.check(check_role, role) if role is not None else None
    new_name = errors.check(check_name, name) if name is not None else None
    new_active = errors.check(check_active, active) if active is not None else None
    errors.raise_if_any()
    org = actor.organization_id
    with tenant_transaction(org) as conn:
        admin = authorize(conn, actor, Permission.MANAGE_USERS)
        # Lock the active admins first, then the target: a stable order for everyone.
        admins = repo.lock_active_admins(conn, org)
        target = repo.lock_user(conn, org, user_id)
        if target is None:
            raise NotFound("No user with this id exists in your organization.")
        final_role = new_role or target.role
        final_active = target.active if new_active is None else new_active
        was_admin = target.role is Role.ADMIN and target.active
        stays_admin = final_role is Role.ADMIN and final_active
        if was_admin and not stays_admin and len(admins) <= 1:
            raise WriteConflict(
                "This is the organization's last active administrator; "
                "make someone else an administrator first."
            )
        updated = repo.update_user(
            conn, org, user_id, role=final_role, active=final_active, name=new_name or target.name
        )
        _audit_changes(conn, admin, target, updated)
        return updated


def me(actor: Actor) -> UserRecord:
    """The signed-in user, read fresh (any role)."""
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        return authorize(conn, actor, Permission.READ)
