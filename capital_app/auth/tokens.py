"""HS256 JWTs: issued on sign-in, verified on every request.

Only HS256 is accepted (never `none`, never a key-confusion algorithm); issuer,
expiry, the subject's organization and the audience are required claims. REST API
tokens and web UI session tokens have audiences (and `typ`) of their own, so a UI
token is refused by the REST API and an API token cannot open a UI session.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from uuid import UUID

import jwt

from capital_app.domain.errors import ErrorKind, LedgerError
from capital_app.settings import get_settings

ALGORITHM = "HS256"
API_AUDIENCE = "capital-ledger/api"
UI_AUDIENCE = "capital-ledger/ui"
_TYPES = {API_AUDIENCE: "api", UI_AUDIENCE: "ui-session"}


class InvalidToken(LedgerError):
    kind = ErrorKind.UNAUTHENTICATED
    title = "Not signed in"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: UUID
    organization_id: UUID
    expires_at: int
    token_id: str
    issued_at: int = 0


def issue_token(
    user_id: UUID, organization_id: UUID, ttl_seconds: int, audience: str = API_AUDIENCE
) -> tuple[str, int]:
    """Returns (token, seconds until it expires)."""
    settings = get_settings()
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "org": str(organization_id),
        "iss": settings.jwt_issuer,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
        "aud": audience,
        "typ": _TYPES[audience],
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM), ttl_seconds


# Tokens whose signature and claims were verified, with what they were verified against
# (secret, issuer, audience): a hit skips the HMAC and the JSON decoding, never the
# expiry check. Only the signature is cached: the user's standing (active, role, a
# sign-out or password change after `iat`) is read per request, in its transaction.
_VERIFIED: dict[tuple[str, str, str, str], TokenClaims] = {}
_VERIFIED_MAX = 10_000
LEEWAY_SECONDS = 5


def verify_token(token: str, audience: str = API_AUDIENCE) -> TokenClaims:
    """The token's claims, or InvalidToken (expired, bad signature, wrong audience…)."""
    settings = get_settings()
    key = (token, audience, settings.jwt_secret, settings.jwt_issuer)
    found = _VERIFIED.get(key)
    if found is not None:
        if found.expires_at <= time.time() - LEEWAY_SECONDS:
            _VERIFIED.pop(key, None)
            raise InvalidToken("Your session has expired; sign in again.")
        return found
    claims = _verify(token, audience)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[key] = claims
    return claims


def _verify(token: str, audience: str) -> TokenClaims:
    settings = get_settings()
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            issuer=settings.jwt_issuer,
            audience=audience,
            options={"require": ["sub", "org", "iss", "exp", "iat", "aud"]},
            leeway=LEEWAY_SECONDS,
        )
        if claims.get("typ") != _TYPES[audience]:
            raise jwt.InvalidTokenError("wrong token type")
        return TokenClaims(
            user_id=UUID(claims["sub"]),
            organization_id=UUID(claims["org"]),
            expires_at=int(claims["exp"]),
            token_id=str(claims.get("jti", "")),
            issued_at=int(claims["iat"]),
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("Your session has expired; sign in again.") from None
    except (jwt.InvalidTokenError, ValueError, TypeError, KeyError):
        raise InvalidToken("The access token is not valid; sign in again.") from None
