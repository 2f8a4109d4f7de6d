"""Secrets in settings: a minimum JWT key length, and private files from the start."""

from __future__ import annotations

import stat

import pytest

from capital_app.settings import _jwt_secret, _private_secret


def test_a_short_configured_jwt_secret_is_refused(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CAPITAL_JWT_SECRET", "short-secret")
    with pytest.raises(ValueError, match="at least 32 characters"):
        _jwt_secret(tmp_path)
    monkeypatch.setenv("CAPITAL_JWT_SECRET", "x" * 32)
    assert _jwt_secret(tmp_path) == "x" * 32


def test_generated_secrets_are_owner_only_and_stable(tmp_path) -> None:
    first = _private_secret(tmp_path, "jwt-secret")
    assert stat.S_IMODE((tmp_path / "jwt-secret").stat().st_mode) == 0o600
    assert _private_secret(tmp_path, "jwt-secret") == first
    assert len(first) >= 32
