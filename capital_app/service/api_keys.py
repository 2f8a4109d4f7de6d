"""API keys: an ADMIN creates, lists and revokes them; integrators sign requests with them.

A presented secret is hashed and found once per process: the hash → (key, organization)
mapping never changes, so caching it is safe. Everything that can change — revoked,
expired, its scopes — is read again inside every call's own transaction
(`actor.authorize_api_key`), so a revocation refuses the very next request.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from capital_app.auth.api_keys import new_secret, secret_sha256
from capital_app.db import api_key_repository as repo
from capital_app.db.api_key_repository import ApiKeyRecord, KeyIdentity
from capital_app.db.unit_of_work import api_key_lookup_transaction, tenant_transaction
from capital_app.domain.errors import ErrorCollector
from capital_app.domain.scopes import check_expiry, check_scopes, ordered
from capital_app.domain.values import check_name
from capital_app.service.actor import Actor, Permission, authorize
from capital_app.service.audit import AuditAction, record_audit
from capital_app.service.errors import NotFound, Unauthenticated

UNKNOWN_KEY = "This API key is not valid; check it was copied whole."
_CACHE_SIZE = 10_000
LAST_USED_EVERY_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key: ApiKeyRecord
    secret: str  # shown once


def create_key(
    actor: Actor, *, name: object, scopes: object, expires_at: datetime | None = None
) -> CreatedKey:
    """ADMIN (signed in as a person). The secret is returned here and never again."""
    errors = ErrorCollector()
    clean_name = errors.check(check_name, name)
    clean_scopes = errors.check(check_scopes, scopes)
    expiry = errors.check(check_expiry, expires_at, datetime.now(UTC))
    errors.raise_if_any()
    assert clean_name is not None and clean_scopes is not None
    secret = new_secret()
    with tenant_transaction(actor.organization_id) as conn:
        admin = authorize(conn, actor, Permission.MANAGE_API_KEYS)
        key = repo.insert_key(
            conn,
            actor.organization_id,
            uuid.uuid4(),
            name=clean_name,
            prefix=secret.prefix,
            secret_sha256=secret.sha256,
            scopes=ordered(clean_scopes),
            created_by=admin.id,
            expires_at=expiry,
        )
        record_audit(
            conn,
            AuditAction.API_KEY_CREATED,
            organization_id=actor.organization_id,
            actor_user_id=admin.id,
            actor_email=admin.email,
            details=_audit_details(key),
        )
    return CreatedKey(key=key, secret=secret.secret)


def list_keys(actor: Actor) -> list[ApiKeyRecord]:
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.MANAGE_API_KEYS)
        return repo.list_keys(conn, actor.organization_id)


def revoke_key(actor: Actor, key_id: UUID) -> ApiKeyRecord:
    """Revoked at once (idempotent: revoking a revoked key answers it as it is)."""
    with tenant_transaction(actor.organization_id) as conn:
        admin = authorize(conn, actor, Permission.MANAGE_API_KEYS)
        if repo.get_key(conn, actor.organization_id, key_id) is None:
            raise NotFound("No API key with this id exists in your organization.")
        revoked_now = repo.revoke_key(conn, actor.organization_id, key_id, admin.id)
        key = repo.get_key(conn, actor.organization_id, key_id)
        assert key is not None
        if revoked_now:  # revoking again changes nothing, so it records nothing
            record_audit(
                conn,
                AuditAction.API_KEY_REVOKED,
                organization_id=actor.organization_id,
                actor_user_id=admin.id,
                actor_email=admin.email,
                details=_audit_details(key),
            )
    return key


def _audit_details(key: ApiKeyRecord) -> dict[str, object]:
    """What an auditor needs to tell the key apart; never its secret or hash."""
    return {
        "apiKeyId": str(key.id),
        "name": key.name,
        "prefix": key.prefix,
        "scopes": list(key.scopes),
        "expiresAt": key.expires_at.isoformat() if key.expires_at else None,
    }


class _IdentityCache:
    """hash → (key id, organization, creator): immutable facts, bounded in size."""

    def __init__(self) -> None:
        self._items: dict[str, Actor] = {}
        self._last_used: dict[UUID, float] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Actor | None:
        return self._items.get(digest)

    def put(self, digest: str, actor: Actor) -> None:
        with self._lock:
            if len(self._items) >= _CACHE_SIZE:
                self._items.clear()
            self._items[digest] = actor

    def due_for_last_used(self, key_id: UUID) -> bool:
        now = time.monotonic()
        with self._lock:
            if (
                now - self._last_used.get(key_id, -LAST_USED_EVERY_SECONDS)
                < LAST_USED_EVERY_SECONDS
            ):
                return False
            self._last_used[key_id] = now
            return True


_identities = _IdentityCache()


def cached_key_actor(secret: str) -> tuple[str, Actor | None]:
    """(hash, actor if this process has seen the key): no database, for the hot path."""
    digest = secret_sha256(secret)
    return digest, _identities.get(digest)


def key_actor(secret: str) -> Actor:
    """The actor a key secret stands for (its standing is checked per call, later)."""
    digest, actor = cached_key_actor(secret)
    return actor if actor is not None else look_up_key(digest)


def look_up_key(digest: str) -> Actor:
    with api_key_lookup_transaction(digest) as conn:
        identity: KeyIdentity | None = repo.find_identity(conn, digest)
    if identity is None:
        raise Unauthenticated(UNKNOWN_KEY)
    with tenant_transaction(identity.organization_id, read_only=True) as conn:
        key = repo.get_key(conn, identity.organization_id, identity.key_id)
    if key is None:
        raise Unauthenticated(UNKNOWN_KEY)
    actor = Actor(user_id=key.created_by, organization_id=key.organization_id, api_key_id=key.id)
    _identities.put(digest, actor)
    return actor


def needs_last_used(actor: Actor) -> bool:
    return actor.api_key_id is not None and _identities.due_for_last_used(actor.api_key_id)


def record_last_used(actor: Actor) -> None:
    """`last used` to the minute: one small write per key and minute, not per request."""
    assert actor.api_key_id is not None
    with tenant_transaction(actor.organization_id) as conn:
        repo.touch_last_used(conn, actor.organization_id, actor.api_key_id)
