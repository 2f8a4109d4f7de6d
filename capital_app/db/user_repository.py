"""SQL for organizations, users, login attempts and idempotency keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, text

from capital_app.domain.accounts import OrganizationRecord, UserRecord
from capital_app.domain.values import Role

USER_COLUMNS = "organization_id, id, email, name, role, active, password_hash, created_at"


def _user(row: Mapping[Any, Any]) -> UserRecord:
    return UserRecord(
        id=row["id"],
        organization_id=row["organization_id"],
        email=row["email"],
        name=row["name"],
        role=Role(row["role"]),
        active=row["active"],
        password_hash=row["password_hash"],
        created_at=row["created_at"].astimezone(UTC),
    )


def _organization(row: RowMapping) -> OrganizationRecord:
    return OrganizationRecord(
        id=row["id"],
        name=row["name"],
        currency=row["currency"].strip(),
        created_at=row["created_at"].astimezone(UTC),
    )


# --- organizations -------------------------------------------------------------


def insert_organization(conn: Connection, org_id: UUID, name: str, currency: str) -> None:
    conn.execute(
        text("INSERT INTO organization (id, name, currency) VALUES (:id, :name, :currency)"),
        {"id": org_id, "name": name, "currency": currency},
    )
    conn.execute(
        text("INSERT INTO organization_revision (organization_id, revision) VALUES (:id, 0)"),
        {"id": org_id},
    )


def get_organization(conn: Connection, org_id: UUID) -> OrganizationRecord | None:
    row = (
        conn.execute(
            text("SELECT id, name, currency, created_at FROM organization WHERE id = :id"),
            {"id": org_id},
        )
        .mappings()
        .first()
    )
    return _organization(row) if row else None


def lock_organization(conn: Connection, org_id: UUID) -> OrganizationRecord | None:
    """The organization's row, locked, with its revision counter locked too: no history
    entry can be written until the caller commits (every writer bumps that counter)."""
    conn.execute(
        text("SELECT 1 FROM organization_revision WHERE organization_id = :id FOR UPDATE"),
        {"id": org_id},
    )
    row = (
        conn.execute(
            text(
                "SELECT id, name, currency, created_at FROM organization WHERE id = :id FOR UPDATE"
            ),
            {"id": org_id},
        )
        .mappings()
        .first()
    )
    return _organization(row) if row else None


def update_organization(
    conn: Connection, org_id: UUID, *, name: str, currency: str
) -> OrganizationRecord:
    row = (
        conn.execute(
            text(
                "UPDATE organization SET name = :name, currency = :currency WHERE id = :id"
                " RETURNING id, name, currency, created_at"
            ),
            {"id": org_id, "name": name, "currency": currency},
        )
        .mappings()
        .one()
    )
    return _organization(row)


def has_history(conn: Connection, org_id: UUID) -> bool:
    return bool(
        conn.execute(
            text("SELECT EXISTS (SELECT 1 FROM capital_history WHERE organization_id = :id)"),
            {"id": org_id},
        ).scalar_one()
    )


def find_organization_by_name(conn: Connection, name: str) -> OrganizationRecord | None:
    row = (
        conn.execute(
            text(
                "SELECT id, name, currency, created_at FROM organization"
                " WHERE lower(name) = lower(:name)"
            ),
            {"name": name.strip()},
        )
        .mappings()
        .first()
    )
    return _organization(row) if row else None


# --- users -------------------------------------------------------------------------


def insert_user(
    conn: Connection,
    org: UUID,
    user_id: UUID,
    email: str,
    name: str,
    role: Role,
    password_hash: str,
) -> UserRecord:
    row = (
        conn.execute(
            text(
                "INSERT INTO app_user (organization_id, id, email, name, role, password_hash)"
                " VALUES (:org, :id, :email, :name, :role, :hash)"
                f" RETURNING {USER_COLUMNS}"
            ),
            {
                "org": org,
                "id": user_id,
                "email": email,
                "name": name,
                "role": role.value,
                "hash": password_hash,
            },
        )
        .mappings()
        .one()
    )
    return _user(row)


GET_USER_SQL = f"SELECT {USER_COLUMNS} FROM app_user WHERE organization_id = :org AND id = :id"


def get_user(conn: Connection, org: UUID, user_id: UUID) -> UserRecord | None:
    row = (
        conn.execute(
            text(GET_USER_SQL),
            {"org": org, "id": user_id},
        )
        .mappings()
        .first()
    )
    return _user(row) if row else None


def lock_user(conn: Connection, org: UUID, user_id: UUID) -> UserRecord | None:
    row = (
        conn.execute(
            text(
                f"SELECT {USER_COLUMNS} FROM app_user"
                " WHERE organization_id = :org AND id = :id FOR UPDATE"
            ),
            {"org": org, "id": user_id},
        )
        .mappings()
        .first()
    )
    return _user(row) if row else None


def find_user_by_email(conn: Connection, org: UUID, email: str) -> UserRecord | None:
    """The user with this email in this organization (an email is unique per organization)."""
    row = (
        conn.execute(
            text(
                f"SELECT {USER_COLUMNS} FROM app_user"
                " WHERE organization_id = :org AND email = :email"
            ),
            {"org": org, "email": email},
        )
        .mappings()
        .first()
    )
    return _user(row) if row else None


def find_users_by_email(conn: Connection, email: str) -> list[UserRecord]:
    """Every account with this email, in any organization the transaction may see
    (a login transaction sees exactly those), oldest first."""
    rows = conn.execute(
        text(
            f"SELECT {USER_COLUMNS} FROM app_user WHERE email = :email"
            " ORDER BY created_at, organization_id"
        ),
        {"email": email},
    ).mappings()
    return [_user(r) for r in rows]


def organization_names(conn: Connection, ids: list[UUID]) -> dict[UUID, str]:
    """Names of these organizations (those the transaction may see)."""
    rows = conn.execute(
        text("SELECT id, name FROM organization WHERE id = ANY(:ids)"), {"ids": list(ids)}
    )
    return {r[0]: r[1] for r in rows}


def list_users(conn: Connection, org: UUID) -> list[UserRecord]:
    rows = conn.execute(
        text(
            f"SELECT {USER_COLUMNS} FROM app_user WHERE organization_id = :org ORDER BY lower(name), email"
        ),
        {"org": org},
    ).mappings()
    return [_user(r) for r in rows]


def update_user(
    conn: Connection, org: UUID, user_id: UUID, *, role: Role, active: bool, name: str
) -> UserRecord:
    row = (
        conn.execute(
            text(
                "UPDATE app_user SET role = :role, active = :active, name = :name, updated_at = now()"
                f" WHERE organization_id = :org AND id = :id RETURNING {USER_COLUMNS}"
            ),
            {"org": org, "id": user_id, "role": role.value, "active": active, "name": name},
        )
        .mappings()
        .one()
    )
    return _user(row)


def active_user_ids(conn: Connection, org: UUID, user_ids: list[UUID]) -> set[UUID]:
    """Which of these users exist in the organization and are active."""
    rows = conn.execute(
        text(
            "SELECT id FROM app_user"
            " WHERE organization_id = :org AND active AND id = ANY(CAST(:ids AS uuid[]))"
        ),
        {"org": org, "ids": [str(i) for i in user_ids]},
    )
    return {r[0] for r in rows}


def user_names(conn: Connection, org: UUID) -> dict[str, str]:
    """user id (as text, the form createdBy takes) → display name."""
    rows = conn.execute(
        text("SELECT id::text, name FROM app_user WHERE organization_id = :org"), {"org": org}
    )
    return {r[0]: r[1] for r in rows}


# --- login attempts ------------------------------------------------------------------


def record_auth_event(
    conn: Connection,
    *,
    email: str,
    client_address: str,
    succeeded: bool,
    reason: str,
    user_id: UUID | None = None,
    organization_id: UUID | None = None,
) -> None:
    conn.execute(
        text(
            "INSERT INTO auth_event (organization_id, email, client_address, user_id, succeeded,"
            " reason) VALUES (:org, :email, :client, :user_id, :succeeded, :reason)"
        ),
        {
            "org": organization_id,
            "email": email,
            "client": client_address,
            "user_id": user_id,
            "succeeded": succeeded,
            "reason": reason,
        },
    )


CHECKING = "checking"  # a reserved attempt whose password is being checked
# The password was right for accounts in several organizations, and none was named:
# not a guess that failed, so it does not count toward the throttle.
ORGANIZATION_NEEDED = "organization needed"


def lock_login(conn: Connection, email: str, client_address: str) -> None:
    """Serialize sign-in attempts of one email and of one client until commit, so
    counting the attempts and reserving the next one are one step (always email
    first, then client: no two attempts wait on each other in a cycle)."""
    for kind, value in (("email", email), ("client", client_address)):
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:kind), hashtext(:value))"),
            {"kind": "capital.login." + kind, "value": value},
        )


def reserve_attempt(
    conn: Connection, *, email: str, client_address: str, user: UserRecord | None
) -> int:
    """Record an attempt as failed before its password is checked (the id, to settle)."""
    return int(
        conn.execute(
            text(
                "INSERT INTO auth_event (organization_id, email, client_address, user_id,"
                " succeeded, reason) VALUES (:org, :email, :client, :user_id, false, :reason)"
                " RETURNING id"
            ),
            {
                "org": user.organization_id if user else None,
                "email": email,
                "client": client_address,
                "user_id": user.id if user else None,
                "reason": CHECKING,
            },
        ).scalar_one()
    )


def settle_attempt(conn: Connection, attempt_id: int, *, succeeded: bool, reason: str) -> None:
    """The reserved attempt's outcome (only a `checking` row can change, once)."""
    conn.execute(
        text(
            "UPDATE auth_event SET succeeded = :succeeded, reason = :reason"
            " WHERE id = :id AND reason = :checking"
        ),
        {"id": attempt_id, "succeeded": succeeded, "reason": reason, "checking": CHECKING},
    )


def recent_failures(
    conn: Connection, *, column: str, value: str, since: datetime
) -> list[datetime]:
    """Failed attempts for one email or client address since `since`, oldest first.

    For an email, a successful sign-in clears its earlier failures; for a client
    address it does not (else one valid account would unlock guessing at others).
    """
    if column not in ("email", "client_address"):
        raise ValueError(column)
    reset = (
        "AND occurred_at > coalesce((SELECT max(occurred_at) FROM auth_event"
        " WHERE email = :value AND succeeded), '-infinity')"
        if column == "email"
        else ""
    )
    rows = conn.execute(
        text(
            f"""
            SELECT occurred_at FROM auth_event
             WHERE {column} = :value AND NOT succeeded
               AND reason <> 'throttled' AND reason <> :organization_needed
               AND occurred_at > :since {reset}
             ORDER BY occurred_at
            """
        ),
        {"value": value, "since": since, "organization_needed": ORGANIZATION_NEEDED},
    )
    return [r[0].astimezone(UTC) for r in rows]


# --- idempotency keys -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredIdempotencyKey:
    request_hash: str
    source_id: str | None
    entry_id: str | None


def claim_idempotency_key(
    conn: Connection, org: UUID, key: str, user_id: UUID, request_hash: str
) -> StoredIdempotencyKey | None:
    """Insert the key; if another transaction holds it, wait for it and return what it stored."""
    claimed = conn.execute(
        text(
            "INSERT INTO idempotency_key (organization_id, key, user_id, request_hash)"
            " VALUES (:org, :key, :user_id, :hash) ON CONFLICT DO NOTHING RETURNING 1"
        ),
        {"org": org, "key": key, "user_id": user_id, "hash": request_hash},
    ).first()
    if claimed:
        return None
    row = conn.execute(
        text(
            "SELECT request_hash, source_id, entry_id FROM idempotency_key"
            " WHERE organization_id = :org AND key = :key"
        ),
        {"org": org, "key": key},
    ).one()
    return StoredIdempotencyKey(row[0], row[1], row[2])


def complete_idempotency_key(
    conn: Connection, org: UUID, key: str, source_id: str, entry_id: str
) -> None:
    conn.execute(
        text(
            "UPDATE idempotency_key SET source_id = :source_id, entry_id = :entry_id"
            " WHERE organization_id = :org AND key = :key"
        ),
        {"org": org, "key": key, "source_id": source_id, "entry_id": entry_id},
    )


def user_from_row(row: Mapping[Any, Any]) -> UserRecord:
    """A user from a row carrying USER_COLUMNS (for queries joining app_user)."""
    return _user(row)


def lock_active_admins(conn: Connection, organization_id: UUID) -> list[UUID]:
    """The organization's active ADMINs' ids, locked (in id order, so every writer
    takes the locks in the same order)."""
    rows = conn.execute(
        text(
            "SELECT id FROM app_user WHERE organization_id = :org AND role = 'ADMIN'"
            " AND active ORDER BY id FOR UPDATE"
        ),
        {"org": organization_id},
    ).all()
    return [row[0] for row in rows]
