"""bcrypt password hashes.

Passwords are pre-hashed with SHA-256 so bcrypt's 72-byte limit never truncates
a long passphrase; the base64 digest also has no NUL bytes.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

import bcrypt

from capital_app.settings import get_settings


def _prehash(password: str) -> bytes:
    # surrogatepass: a JSON body can carry a lone surrogate; it must hash, not crash.
    return base64.b64encode(hashlib.sha256(password.encode("utf-8", "surrogatepass")).digest())


def hash_password(password: str) -> str:
    rounds = get_settings().bcrypt_rounds
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(_prehash(password), password_hash.encode("ascii"))
    except ValueError:
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("not a real password, only for timing")


def burn_equal_time(password: str) -> None:
    """Spend a bcrypt check when the email is unknown, so timing does not tell."""
    verify_password(password, _dummy_hash())
