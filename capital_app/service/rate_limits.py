"""Request budgets per API key and per user: a token bucket each.

A bucket holds up to `burst` tokens and refills at `per_minute / 60` tokens a second;
every authenticated API request takes one, and a request finding it empty is refused
(429) with the seconds until a token is back. With Redis configured
(`CAPITAL_RATE_LIMIT_REDIS_URL`, else `REFLEX_REDIS_URL`) the buckets live there, so
every worker and host shares them: one Lua script reads, refills, takes and writes
atomically, on Redis's own clock. Without Redis they live in this process's memory.
If Redis cannot be reached the request is let through on this process's buckets
(logged): an outage of the limiter must not become an outage of the API.

Why not a library: `pyrate-limiter` (installed as a dependency of something else)
answers "allowed or not" but not the remaining tokens and the time to refill that
the RateLimit-* headers need, and its storage API changes between major versions;
the bucket is twenty lines of Lua and as many of Python.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from capital_app.domain.errors import ErrorKind, LedgerError
from capital_app.service.actor import Actor
from capital_app.settings import get_settings

logger = logging.getLogger(__name__)

MEMORY_BUCKETS_MAX = 50_000
KEY_PREFIX = "capital:rate:"

# KEYS[1] the bucket; ARGV[1] capacity, ARGV[2] tokens per second.
# Returns {allowed (0/1), tokens left in thousandths}.
_TAKE_LUA = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return {allowed, math.floor(tokens * 1000)}
"""


class RateLimited(LedgerError):
    kind = ErrorKind.THROTTLED
    title = "Too many requests"

    def __init__(self, allowance: Allowance, who: str) -> None:
        retry_after = allowance.retry_after
        super().__init__(
            f"This {who} has used its request budget; try again in {retry_after} second"
            f"{'s' if retry_after != 1 else ''}."
        )
        self.retry_after = retry_after
        self.allowance = allowance


@dataclass(frozen=True, slots=True)
class Allowance:
    """One request's verdict and what the RateLimit-* headers say."""

    allowed: bool
    limit: int  # the bucket's capacity (burst)
    remaining: int  # whole tokens left
    reset_seconds: int  # until the bucket is full again
    retry_after: int  # until the next token (0 when allowed)

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


@dataclass(frozen=True, slots=True)
class Policy:
    burst: int
    per_second: float

    @classmethod
    def from_settings(cls) -> Policy | None:
        settings = get_settings()
        if settings.rate_limit_per_minute <= 0:
            return None  # turned off
        burst = settings.rate_limit_burst or settings.rate_limit_per_minute
        return cls(burst=max(1, burst), per_second=settings.rate_limit_per_minute / 60)

    def allowance(self, allowed: bool, tokens: float) -> Allowance:
        return Allowance(
            allowed=allowed,
            limit=self.burst,
            remaining=max(0, math.floor(tokens)),
            reset_seconds=max(0, math.ceil((self.burst - tokens) / self.per_second)),
            retry_after=0 if allowed else max(1, math.ceil((1 - tokens) / self.per_second)),
        )


class MemoryBuckets:
    """This process's buckets (no Redis): bucket → (tokens, at), bounded in number."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, bucket: str, policy: Policy) -> Allowance:
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(bucket, (float(policy.burst), now))
            tokens = min(float(policy.burst), tokens + max(0.0, now - at) * policy.per_second)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            if len(self._buckets) >= MEMORY_BUCKETS_MAX and bucket not in self._buckets:
                self._forget_full(now, policy)
            self._buckets[bucket] = (tokens, now)
        return policy.allowance(allowed, tokens)

    def _forget_full(self, now: float, policy: Policy) -> None:
        """Buckets that have refilled are the same as no bucket: drop them."""
        full = [
            b
            for b, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * policy.per_second >= policy.burst
        ]
        for bucket in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[bucket]


class RedisBuckets:
    """Buckets shared by every worker, in Redis, taken atomically by one Lua script."""

    def __init__(self, url: str) -> None:
        import redis.asyncio

        self._client: Any = redis.asyncio.from_url(url)
        self._script = self._client.register_script(_TAKE_LUA)

    async def take(self, bucket: str, policy: Policy) -> Allowance:
        allowed, milli_tokens = await self._script(
            keys=[KEY_PREFIX + bucket], args=[policy.burst, repr(policy.per_second)]
        )
        return policy.allowance(bool(allowed), int(milli_tokens) / 1000)


class RateLimiter:
    def __init__(self) -> None:
        self.memory = MemoryBuckets()
        # Redis clients are bound to the event loop that made them: one per loop and URL.
        self._redis: dict[tuple[int, str], RedisBuckets] = {}

    def reset(self) -> None:
        """Forget every bucket of this process (tests)."""
        self.memory = MemoryBuckets()
        self._redis = {}

    async def take(self, actor: Actor) -> Allowance | None:
        """Take one token from the caller's bucket (its key's, else its user's); None
        when limits are off."""
        policy = Policy.from_settings()
        if policy is None:
            return None
        bucket = _bucket_of(actor)
        url = get_settings().rate_limit_redis_url
        if url:
            try:
                return await self._redis_buckets(url).take(bucket, policy)
            except Exception as error:  # fail open on this process's own buckets
                logger.warning("Rate limiter cannot reach Redis (%s); using memory", error)
        return self.memory.take(bucket, policy)

    def _redis_buckets(self, url: str) -> RedisBuckets:
        import asyncio

        key = (id(asyncio.get_running_loop()), url)
        found = self._redis.get(key)
        if found is None:
            found = self._redis[key] = RedisBuckets(url)
        return found


def _bucket_of(actor: Actor) -> str:
    key_id: UUID | None = actor.api_key_id
    if key_id is not None:
        return f"key:{key_id}"
    return f"user:{actor.user_id}"


LIMITER = RateLimiter()


async def take(actor: Actor) -> Allowance | None:
    """The caller's verdict; raises RateLimited (429) when its bucket is empty."""
    allowance = await LIMITER.take(actor)
    if allowance is not None and not allowance.allowed:
        raise RateLimited(allowance, "API key" if actor.api_key_id else "user")
    return allowance
