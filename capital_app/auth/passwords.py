"""bcrypt password hashes.

Passwords are pre-hashed with SHA-256 so bcrypt's 72-byte limit never truncates
a long passphrase; the base64 digest also has no NUL bytes.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

import bcrypt

from capital_app.domain.errors import InvalidInput
from capital_app.settings import get_settings

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1000


def _prehash(password: str) -> bytes:
    # surrogatepass: a JSON body can carry a lone surrogate; it must hash, not crash.
    return base64.b64encode(hashlib.sha256(password.encode("utf-8", "surrogatepass")).digest())


def check_password_rules(password: object, field: str = "password") -> str:
    if not isinstance(password, str):
        raise InvalidInput.one(field, "Password must be text.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput.one(
            field, f"Password must be at least {MIN_PASSWORD_LENGTH} characters."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput.one(field, f"Password must be at most {MAX_PASSWORD_LENGTH} characters.")
    return password


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
