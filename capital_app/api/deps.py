"""What routes get injected: the signed-in actor, the client address, retry keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.security import OAuth2PasswordBearer
from reflex.config import get_config
from starlette.concurrency import run_in_threadpool

from capital_app.api import schemas
from capital_app.api.rate_limit_headers import SCOPE_KEY
from capital_app.auth.api_keys import looks_like_api_key
from capital_app.observe.context import note_actor
from capital_app.service import api_keys, rate_limits
from capital_app.service.actor import Actor
from capital_app.service.authentication import actor_from_token
from capital_app.service.errors import Unauthenticated
from capital_app.service.rate_limits import RateLimited

TOKEN_URL = "/api/auth/token"

# OAuth2 password flow: documents the bearer scheme and lets /api/docs sign in.
bearer_token = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False, scheme_name="bearer")


async def current_actor(
    request: Request, token: Annotated[str | None, Depends(bearer_token)]
) -> Actor:
    """Who is calling, from a verified token or an API key. Role, active flag and a
    key's standing are checked by the service inside each call's own transaction, so
    changes (a revocation too) apply at once. Each call takes a token from the key's
    (or the user's) request budget: 429 with Retry-After when it is spent."""
    if not token:
        raise Unauthenticated(
            "Send an 'Authorization: Bearer <token>' header; get a token from POST /api/auth/token."
        )
    actor = await api_key_actor(token) if looks_like_api_key(token) else actor_from_token(token)
    note_actor(actor.user_id, actor.organization_id, actor.api_key_id)  # the request log line
    slot = request.scope.get(SCOPE_KEY)
    try:
        allowance = await rate_limits.take(actor)
    except RateLimited as refused:
        if slot is not None:
            slot.update(refused.allowance.headers())
        raise
    if slot is not None and allowance is not None:
        slot.update(allowance.headers())
    return actor


async def api_key_actor(secret: str) -> Actor:
    """The key's actor: from this process's cache of key identities (no database), else
    one lookup in a worker thread; its last use is noted at most once a minute."""
    _digest, actor = api_keys.cached_key_actor(secret)
    if actor is None:
        actor = await run_in_threadpool(api_keys.key_actor, secret)
    if api_keys.needs_last_used(actor):
        await run_in_threadpool(api_keys.record_last_used, actor)
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]

AsOf = Annotated[
    schemas.EndBound,
    Query(
        alias="asOf",
        description="Effective time: the state at this moment (a date: at its end). Default now.",
    ),
]
KnownAt = Annotated[
    schemas.EndBound,
    Query(
        alias="knownAt",
        description="Recording time: only what had been recorded by then (the database's "
        "recording time, `createdAt`). Default now.",
    ),
]


def client_address(request: Request) -> str:
    """The caller's address, for login throttling.

    Behind reverse proxies every peer is a proxy, and one client's failures would lock
    out everyone; so, as Reflex does for the web UI's sessions, `X-Forwarded-For` is
    believed for exactly `REFLEX_TRUSTED_PROXY_HOPS` proxies (0, the default: never).
    """
    peer = request.client.host if request.client else "unknown"
    return address_behind_proxies(
        peer, request.headers.get("x-forwarded-for", ""), get_config().trusted_proxy_hops
    )


def address_behind_proxies(peer: str, forwarded_for: str, trusted_hops: int) -> str:
    """The address the last trusted proxy saw; the peer itself when none is trusted.

    Only the rightmost `trusted_hops` entries were written by our proxies: anything to
    their left is the client's own claim and is never believed.
    """
    if trusted_hops <= 0:
        return peer
    hops = [part.strip() for part in forwarded_for.split(",") if part.strip()]
    return hops[-trusted_hops] if len(hops) >= trusted_hops else peer


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Makes a command safe to retry: the same key with the same body returns "
        "the first answer and writes nothing; with a different body it answers 409.",
    ),
]
