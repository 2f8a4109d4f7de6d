"""SQL for API keys: created, listed, revoked, found by the hash of their secret."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, text

from capital_app.db.user_repository import USER_COLUMNS, user_from_row
from capital_app.domain.accounts import UserRecord


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: UUID
    organization_id: UUID
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_by: UUID
    created_by_name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class KeyIdentity:
    """What a presented secret says about itself: which key, of which organization."""

    key_id: UUID
    organization_id: UUID


@dataclass(frozen=True, slots=True)
class KeyStanding:
    """A key as its next use must see it, read inside that use's transaction."""

    name: str
    scopes: frozenset[str]
    usable: bool  # not revoked and not expired, by the database's clock
    revoked: bool
    creator: UserRecord


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


_KEY_COLUMNS = """
    k.organization_id, k.id, k.name, k.prefix, k.scopes, k.created_by, u.name AS creator_name,
    k.created_at, k.expires_at, k.last_used_at, k.revoked_at"""


def _key(row: RowMapping) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row["id"],
        organization_id=row["organization_id"],
        name=row["name"],
        prefix=row["prefix"],
        scopes=tuple(row["scopes"]),
        created_by=row["created_by"],
        created_by_name=row["creator_name"],
        created_at=row["created_at"].astimezone(UTC),
        expires_at=_utc(row["expires_at"]),
        last_used_at=_utc(row["last_used_at"]),
        revoked_at=_utc(row["revoked_at"]),
    )


def insert_key(
    conn: Connection,
    org: UUID,
    key_id: UUID,
    *,
    name: str,
    prefix: str,
    secret_sha256: str,
    scopes: list[str],
    created_by: UUID,
    expires_at: datetime | None,
) -> ApiKeyRecord:
    conn.execute(
        text(
            "INSERT INTO api_key (organization_id, id, name, prefix, secret_sha256, scopes,"
            " created_by, expires_at) VALUES (:org, :id, :name, :prefix, :hash, :scopes,"
            " :created_by, :expires_at)"
        ),
        {
            "org": org,
            "id": key_id,
            "name": name,
            "prefix": prefix,
            "hash": secret_sha256,
            "scopes": scopes,
            "created_by": created_by,
            "expires_at": expires_at,
        },
    )
    found = get_key(conn, org, key_id)
    assert found is not None
    return found


def get_key(conn: Connection, org: UUID, key_id: UUID) -> ApiKeyRecord | None:
    row = (
        conn.execute(
            text(
                f"SELECT {_KEY_COLUMNS} FROM api_key k JOIN app_user u"
                " ON u.organization_id = k.organization_id AND u.id = k.created_by"
                " WHERE k.organization_id = :org AND k.id = :id"
            ),
            {"org": org, "id": key_id},
        )
        .mappings()
        .first()
    )
    return _key(row) if row else None


def list_keys(conn: Connection, org: UUID) -> list[ApiKeyRecord]:
    rows = conn.execute(
        text(
            f"SELECT {_KEY_COLUMNS} FROM api_key k JOIN app_user u"
            " ON u.organization_id = k.organization_id AND u.id = k.created_by"
            " WHERE k.organization_id = :org ORDER BY k.created_at DESC, k.id"
        ),
        {"org": org},
    ).mappings()
    return [_key(row) for row in rows]


def revoke_key(conn: Connection, org: UUID, key_id: UUID, revoked_by: UUID) -> bool:
    """True when this call revoked it; False when it was revoked already."""
    result = conn.execute(
        text(
            "UPDATE api_key SET revoked_at = now(), revoked_by = :by"
            " WHERE organization_id = :org AND id = :id AND revoked_at IS NULL"
        ),
        {"org": org, "id": key_id, "by": revoked_by},
    )
    return result.rowcount == 1


def find_identity(conn: Connection, secret_sha256: str) -> KeyIdentity | None:
    """In a key lookup transaction: the one key with this hash, revoked or not."""
    row = conn.execute(
        text("SELECT id, organization_id FROM api_key WHERE secret_sha256 = :hash"),
        {"hash": secret_sha256},
    ).first()
    return KeyIdentity(key_id=row[0], organization_id=row[1]) if row else None


_STANDING_USER_COLUMNS = ", ".join(f"u.{c.strip()}" for c in USER_COLUMNS.split(","))
KEY_STANDING_SQL = (
    "SELECT k.name AS key_name, k.scopes, k.revoked_at IS NOT NULL AS revoked,"
    " (k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now()))"
    f" AS usable, {_STANDING_USER_COLUMNS}"
    " FROM api_key k JOIN app_user u"
    " ON u.organization_id = k.organization_id AND u.id = k.created_by"
    " WHERE k.organization_id = :org AND k.id = :id"
)


def standing_from_row(row: Mapping[Any, Any]) -> KeyStanding:
    return KeyStanding(
        name=row["key_name"],
        scopes=frozenset(row["scopes"]),
        usable=row["usable"],
        revoked=row["revoked"],
        creator=user_from_row(row),
    )


def key_standing(conn: Connection, org: UUID, key_id: UUID) -> KeyStanding | None:
    """The key and its creator in one query (it replaces the user read of a person)."""
    row = conn.execute(text(KEY_STANDING_SQL), {"org": org, "id": key_id}).mappings().first()
    return standing_from_row(row) if row is not None else None


def touch_last_used(conn: Connection, org: UUID, key_id: UUID) -> None:
    conn.execute(
        text(
            "UPDATE api_key SET last_used_at = now()"
            " WHERE organization_id = :org AND id = :id"
            " AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')"
        ),
        {"org": org, "id": key_id},
    )


def key_names(conn: Connection, org: UUID) -> dict[UUID, str]:
    rows = conn.execute(
        text("SELECT id, name FROM api_key WHERE organization_id = :org"), {"org": org}
    )
    return {r[0]: r[1] for r in rows}
