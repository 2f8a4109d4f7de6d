"""Credentials: password hashing, signed tokens, login throttling rules."""
