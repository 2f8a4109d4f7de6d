"""API key secrets: made with 256 bits of entropy, recognizable, stored as SHA-256.

A fast hash is right here: guessing a 43-character random secret is hopeless
whatever the hash, while bcrypt would add tens of milliseconds to every request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

PREFIX = "clk_live_"
SHOWN_CHARACTERS = 8  # of the random part, in the stored and listed prefix


@dataclass(frozen=True, slots=True)
class NewSecret:
    secret: str  # shown once, never stored
    prefix: str  # e.g. clk_live_Ab3dE9xY, listed so people can tell keys apart
    sha256: str


def looks_like_api_key(token: str) -> bool:
    return token.startswith(PREFIX)


def secret_sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def new_secret() -> NewSecret:
    secret = PREFIX + secrets.token_urlsafe(32)
    return NewSecret(
        secret=secret, prefix=secret[: len(PREFIX) + SHOWN_CHARACTERS], sha256=secret_sha256(secret)
    )
