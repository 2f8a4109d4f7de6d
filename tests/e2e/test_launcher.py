"""`capital-app run` never orphans its server, and serving leaves the checkout as it was.

Not a browser test, but it builds and serves the real app, so it lives with them.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import psutil

from capital_app.settings import PROJECT_ROOT
from tests.e2e.conftest import E2E_DIR, _free_port, _stop, _wait_until_serving, launch_app

LAUNCHER_WEB_DIR = E2E_DIR / ".web-launcher"
LAUNCHER_LOG = E2E_DIR / "server-launcher.log"
TRACKED_LOCKS = [
    PROJECT_ROOT / "reflex.lock" / name for name in ("package.json", "package-lock.json")
]
GONE_WITHIN_SECONDS = 15


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("", port))
        except OSError:
            return False
    return True


def _contents(paths: list[Path]) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in paths}


def test_kill_9_of_the_launcher_takes_the_whole_server_down(database_url):
    port = _free_port()
    locks_before = _contents(TRACKED_LOCKS)
    with LAUNCHER_LOG.open("wb") as log:
        launcher = launch_app(port, log, web_dir=LAUNCHER_WEB_DIR)
        try:
            _wait_until_serving(f"http://localhost:{port}", launcher, LAUNCHER_LOG)
            # The frontend was installed and built: the pinned files are untouched.
            assert _contents(TRACKED_LOCKS) == locks_before
            tree = psutil.Process(launcher.pid).children(recursive=True)
            assert any("reflex" in " ".join(p.cmdline()) for p in tree)

            os.kill(launcher.pid, signal.SIGKILL)
            launcher.wait()
            deadline = time.monotonic() + GONE_WITHIN_SECONDS
            while time.monotonic() < deadline:
                alive = [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
                if not alive and _port_is_free(port):
                    break
                time.sleep(0.25)
            assert _port_is_free(port), f"port {port} still served after kill -9 of the launcher"
            assert not alive, [" ".join(p.cmdline()) for p in alive]
        finally:
            if launcher.poll() is None:
                _stop(launcher, LAUNCHER_LOG)
