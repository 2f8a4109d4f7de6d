"""`capital-app run` gives its workers a fresh PROMETHEUS_MULTIPROC_DIR and removes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from capital_app.launcher import metrics_directory, reflex_environment


def test_each_run_gets_a_fresh_private_metrics_folder_removed_afterwards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with metrics_directory() as first, metrics_directory() as second:
        assert first is not None and second is not None and first != second
        assert first.is_dir() and not any(first.iterdir())
        assert first.stat().st_mode & 0o077 == 0  # mkdtemp: owner only
        env = reflex_environment("postgresql://x/y", first)
        assert env["PROMETHEUS_MULTIPROC_DIR"] == str(first)
        (first / "counter_1.db").write_bytes(b"x")
    assert not first.exists() and not second.exists()


def test_an_operators_folder_is_used_as_it_is_and_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with metrics_directory() as folder:
        assert folder is None
        assert reflex_environment("postgresql://x/y", folder)["PROMETHEUS_MULTIPROC_DIR"] == str(
            tmp_path
        )
    assert tmp_path.is_dir()
