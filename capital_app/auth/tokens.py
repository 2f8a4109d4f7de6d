"""HS256 JWTs: issued on sign-in, verified on every request.

Only HS256 is accepted (never `none`, never a key-confusion algorithm); issuer,
expiry and the subject's organization are required claims.
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


def issue_token(user_id: UUID, organization_id: UUID, ttl_seconds: int) -> tuple[str, int]:
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
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM), ttl_seconds


def verify_token(token: str) -> TokenClaims:
    settings = get_settings()
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "org", "iss", "exp", "iat"]},
            leeway=5,
        )
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
