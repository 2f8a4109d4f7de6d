"""Signing in: throttled, recorded, and indistinguishable for wrong email or password."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection

from capital_app.auth.passwords import burn_equal_time, verify_password
from capital_app.auth.throttle import retry_after_seconds
from capital_app.auth.tokens import (
    API_AUDIENCE,
    UI_AUDIENCE,
    TokenClaims,
    issue_token,
    verify_token,
)
from capital_app.db import user_repository as repo
from capital_app.db.unit_of_work import login_transaction
from capital_app.domain.accounts import UserRecord
from capital_app.observe.metrics import count_sign_in_failure, count_sign_in_throttled
from capital_app.service.actor import Actor
from capital_app.service.audit import AuditAction, record_audit
from capital_app.service.errors import (
    AuthenticationFailed,
    OrganizationNeeded,
    TooManyAttempts,
)
from capital_app.settings import get_settings

WRONG_CREDENTIALS = "Wrong email or password."
ORGANIZATION_NEEDED = repo.ORGANIZATION_NEEDED
# Password checks per sign-in at least: one for an unknown email, as for a known
# one, and two so that an ADMIN who gives an account in their own organization some
# address cannot time whether one other organization has it too.
MIN_PASSWORD_CHECKS = 2

# No stored email contains these, and PostgreSQL could not even compare with them.
_UNSTORABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def _audit_sign_in(
    conn: Connection,
    email: str,
    client: str,
    *,
    succeeded: bool,
    reason: str,
    user: UserRecord | None,
    accounts: list[UserRecord] | None = None,
) -> None:
    """The security audit line of one sign-in attempt, in the attempt's own transaction
    (one per organization when the attempt concerns accounts in several: each
    organization's log shows the failures against its own account)."""
    for target in [user] if user or not accounts else accounts:
        _audit_one(conn, email, client, succeeded=succeeded, reason=reason, user=target)


def _audit_one(
    conn: Connection,
    email: str,
    client: str,
    *,
    succeeded: bool,
    reason: str,
    user: UserRecord | None,
) -> None:
    if succeeded:
        action = AuditAction.SIGN_IN_SUCCEEDED
    elif reason == "throttled":
        action = AuditAction.SIGN_IN_THROTTLED
    else:
        action = AuditAction.SIGN_IN_FAILED
    record_audit(
        conn,
        action,
        organization_id=user.organization_id if user else None,
        actor_user_id=user.id if user else None,
        actor_email=email,
        client_address=client,
        details={"reason": reason},
    )


def _record(
    email: str,
    client: str,
    *,
    succeeded: bool,
    reason: str,
    user: UserRecord | None,
    accounts: list[UserRecord] | None = None,
) -> None:
    with login_transaction(email, client) as conn:
        repo.record_auth_event(
            conn,
            email=email,
            client_address=client,
            succeeded=succeeded,
            reason=reason,
            user_id=user.id if user else None,
            organization_id=user.organization_id if user else None,
        )
        _audit_sign_in(
            conn,
            email,
            client,
            succeeded=succeeded,
            reason=reason,
            user=user,
            accounts=accounts,
        )


def authenticate(
    email: str, password: str, client_address: str, organization: str | None = None
) -> UserRecord:
    """The active user with these credentials, or AuthenticationFailed / TooManyAttempts.

    An email may have accounts in several organizations: the password is checked
    against each of them (and at least `MIN_PASSWORD_CHECKS` times in all, so the
    work does not tell whether another organization uses the address). When it fits
    active accounts in more than one, `organization` (an id or a name) must say
    which, else OrganizationNeeded lists them; naming an organization none of the
    fitting accounts belongs to is the same failure as a wrong password.
    """
    email = (email or "").strip().lower()[:320]
    client = _UNSTORABLE.sub("?", client_address or "unknown")[:100]
    wanted = (organization or "").strip()
    if not email or _UNSTORABLE.search(email):
        # No account has such an email, and the attempt cannot be recorded under it
        # (the auth_event policy only admits rows for the email being tried).
        burn_equal_time(password or "")
        count_sign_in_failure("unknown email")
        raise AuthenticationFailed(WRONG_CREDENTIALS)
    attempt, users, names = _reserve_attempt(email, client)
    fitting = [u for u in users if verify_password(password or "", u.password_hash)]
    for _ in range(MIN_PASSWORD_CHECKS - len(users)):
        burn_equal_time(password or "")
    only = users[0] if len(users) == 1 else None
    if not users:
        _settle(email, client, attempt, succeeded=False, reason="unknown email", user=None)
        raise AuthenticationFailed(WRONG_CREDENTIALS)
    if not fitting:
        _settle(
            email,
            client,
            attempt,
            succeeded=False,
            reason="wrong password",
            user=only,
            accounts=users,
        )
        raise AuthenticationFailed(WRONG_CREDENTIALS)
    active = [u for u in fitting if u.active]
    if wanted:
        active = [u for u in active if _names(u, wanted, names)]
    if not active:
        reason = "wrong organization" if wanted else "inactive"
        user = fitting[0] if len(fitting) == 1 else None
        _settle(email, client, attempt, succeeded=False, reason=reason, user=user, accounts=fitting)
        raise AuthenticationFailed(WRONG_CREDENTIALS)
    if len(active) > 1:
        _settle(email, client, attempt, succeeded=False, reason=ORGANIZATION_NEEDED, user=None)
        choices = [(u.organization_id, names.get(u.organization_id, "")) for u in active]
        raise OrganizationNeeded(sorted(choices, key=lambda c: (c[1].lower(), str(c[0]))))
    user = active[0]
    _settle(email, client, attempt, succeeded=True, reason="signed in", user=user)
    return user


def _names(user: UserRecord, wanted: str, names: dict[UUID, str]) -> bool:
    """Does `wanted` (an organization id or name) name this user's organization?"""
    if wanted.lower() == str(user.organization_id):
        return True
    return wanted.lower() == names.get(user.organization_id, "").strip().lower()


def _reserve_attempt(email: str, client: str) -> tuple[int, list[UserRecord], dict[UUID, str]]:
    """Count the recent failures and, if another attempt is allowed, record it as a
    failure before any password is checked, in one step per email and client: of
    many parallel attempts, at most the limit is ever evaluated. Failures count per
    email, however many organizations have an account with it."""
    settings = get_settings()
    window = timedelta(seconds=settings.login_window_seconds)
    with login_transaction(email, client) as conn:
        repo.lock_login(conn, email, client)
        now = datetime.now(UTC)
        by_email = repo.recent_failures(conn, column="email", value=email, since=now - window)
        by_client = repo.recent_failures(
            conn, column="client_address", value=client, since=now - window
        )
        users = repo.find_users_by_email(conn, email)
        only = users[0] if len(users) == 1 else None
        waits = [
            retry_after_seconds(by_email, settings.login_max_failures_per_account, window, now),
            retry_after_seconds(by_client, settings.login_max_failures_per_client, window, now),
        ]
        wait = max((w for w in waits if w is not None), default=None)
        if wait is None:
            names = repo.organization_names(conn, [u.organization_id for u in users])
            attempt = repo.reserve_attempt(conn, email=email, client_address=client, user=only)
            return attempt, users, names
    _record(email, client, succeeded=False, reason="throttled", user=only, accounts=users)
    count_sign_in_throttled()
    raise TooManyAttempts(wait)


def _settle(
    email: str,
    client: str,
    attempt: int,
    *,
    succeeded: bool,
    reason: str,
    user: UserRecord | None,
    accounts: list[UserRecord] | None = None,
) -> None:
    with login_transaction(email, client) as conn:
        repo.settle_attempt(conn, attempt, succeeded=succeeded, reason=reason)
        _audit_sign_in(
            conn,
            email,
            client,
            succeeded=succeeded,
            reason=reason,
            user=user,
            accounts=accounts,
        )
    if not succeeded:
        count_sign_in_failure(reason)  # after the commit: what was recorded


def issue_api_token(user: UserRecord) -> tuple[str, int]:
    return issue_token(user.id, user.organization_id, get_settings().api_token_ttl_seconds)


def issue_session_token(user: UserRecord) -> tuple[str, int]:
    """A longer-lived token for the web UI's session (still re-validated on every load)."""
    ttl = get_settings().ui_session_ttl_seconds
    return issue_token(user.id, user.organization_id, ttl, audience=UI_AUDIENCE)


def actor_from_token(token: str) -> Actor:
    """Verify the signature and claims; the user's role and status are checked per call."""
    return _actor(verify_token(token, API_AUDIENCE))


def actor_from_session_token(token: str) -> Actor:
    """The same for a web UI session token (every UI event): a sign-out ends it at once."""
    return _actor(verify_token(token, UI_AUDIENCE))


def _actor(claims: TokenClaims) -> Actor:
    return Actor(claims.user_id, claims.organization_id, issued_at=claims.issued_at)
