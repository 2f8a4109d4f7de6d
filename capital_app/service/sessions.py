"""Web UI sessions: sign in, resume on every page load, sign out.

The browser keeps only a signed token. Each page load resumes the session from
it: the signature and expiry are checked, then the user is read fresh (a
deactivated user or one who signed out since is refused at once), so nothing
the browser holds is trusted beyond who the token says it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from capital_app.auth.tokens import UI_AUDIENCE, verify_token
from capital_app.db import session_repository as sessions
from capital_app.db import user_repository as users
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.accounts import OrganizationRecord, UserRecord
from capital_app.service.actor import SESSION_ENDED, Actor, Permission, authorize
from capital_app.service.audit import AuditAction, record_audit
from capital_app.service.authentication import (
    actor_from_session_token,
    authenticate,
    issue_session_token,
)
from capital_app.service.errors import InvalidToken, Unauthenticated

__all__ = ["SESSION_ENDED", "NewSession", "SignedIn", "resume", "sign_in", "sign_out"]


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who a session belongs to, as stored now."""

    user: UserRecord
    organization: OrganizationRecord

    @property
    def actor(self) -> Actor:
        return Actor(self.user.id, self.user.organization_id)


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    expires_in: int
    signed_in: SignedIn


def _signed_in(actor: Actor) -> SignedIn:
    """`authorize` also refuses a token issued before the user's latest sign-out."""
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        user = authorize(conn, actor, Permission.READ)
        organization = users.get_organization(conn, actor.organization_id)
    if organization is None:
        raise Unauthenticated("Your organization no longer exists.")
    return SignedIn(user, organization)


def sign_in(
    email: str, password: str, client_address: str, organization: str | None = None
) -> NewSession:
    """Check the credentials (throttled) and issue the session's token."""
    user = authenticate(email, password, client_address, organization)
    token, expires_in = issue_session_token(user)
    signed_in = _signed_in(Actor(user.id, user.organization_id))
    return NewSession(token=token, expires_in=expires_in, signed_in=signed_in)


def resume(token: str) -> SignedIn:
    """The session's user and organization, or Unauthenticated / InvalidToken with a reason."""
    if not token:
        raise Unauthenticated("Sign in to continue.")
    return _signed_in(actor_from_session_token(token))


def sign_out(token: str, client_address: str) -> None:
    """Record the sign-out; every session token issued before it stops working."""
    try:
        claims = verify_token(token, UI_AUDIENCE)
    except InvalidToken:
        return  # nothing to end: the token already does not work
    actor = Actor(claims.user_id, claims.organization_id)
    with tenant_transaction(actor.organization_id) as conn:
        user = users.get_user(conn, actor.organization_id, actor.user_id)
        if user is None:
            return
        client = (client_address or "unknown")[:100]
        sessions.record_sign_out(conn, actor.organization_id, user.id, user.email, client)
        record_audit(
            conn,
            AuditAction.SIGNED_OUT,
            organization_id=actor.organization_id,
            actor_user_id=user.id,
            actor_email=user.email,
            client_address=client,
        )
