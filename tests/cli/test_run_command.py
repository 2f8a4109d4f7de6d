"""`capital-app run` refuses bad ports before touching anything (serving is tested in e2e/)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "capital_app", "run", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )


def test_a_port_in_use_is_refused_with_a_one_line_reason() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("--port", str(port))

    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"capital-app: Port {port} is in use; pass --port with a free one."
    )
    assert result.stdout == ""  # nothing migrated, seeded or started


@pytest.mark.parametrize("port", ["0", "65536", "abc", "-1"])
def test_a_value_that_is_not_a_port_is_a_usage_error(port: str) -> None:
    result = run("--port", port)

    assert result.returncode == 2
    assert "is not a port (a number from 1 to 65535)" in result.stderr
