"""rxconfig.py bounds the Reflex WebSocket's heartbeat (a dead or stalled peer is
dropped within 40 s, not Reflex's 145 s) unless the operator sets the variables."""

from __future__ import annotations

import os
import subprocess
import sys

from capital_app.settings import PROJECT_ROOT

PROBE = (
    "import rxconfig\n"
    "from reflex_base.environment import environment as e\n"
    "print(e.REFLEX_SOCKET_INTERVAL.get().total_seconds(),"
    " e.REFLEX_SOCKET_TIMEOUT.get().total_seconds())\n"
)


def _probe(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REFLEX_SOCKET_")}
    answer = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=PROJECT_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return answer.stdout.split()[-2] + " " + answer.stdout.split()[-1]


def test_heartbeat_defaults_are_short():
    assert _probe() == "20.0 20.0"


def test_operator_values_win():
    assert _probe(REFLEX_SOCKET_INTERVAL="5", REFLEX_SOCKET_TIMEOUT="7") == "5.0 7.0"
