"""Run the API app under a real HTTP server (Granian, as `reflex run --env prod` does).

The server is a subprocess with the test run's environment (DATABASE_URL, the
data folder with the JWT secret), so tests talk to it over real sockets and can
still use the service layer in-process to arrange data and check what is stored.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

APP_FACTORY = "capital_app.api.app:create_api_app"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ApiServer:
    base_url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def granian_command(target: str, port: int, *extra: str, workers: int = 1) -> list[str]:
    """Granian serving an ASGI app factory, one worker by default: how Reflex serves its
    backend in production here (Granian, since uvicorn is not installed; one worker
    without Redis)."""
    return [
        sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", *extra, target,
    ]  # fmt: skip


def start_api_server(
    extra_env: dict[str, str] | None = None, *, expect_healthy: bool = True, workers: int = 1
) -> ApiServer:
    port = free_port()
    log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 (kept open by the server)
        prefix="capital-api-", suffix=".log", delete=False
    )
    env = {**os.environ, **(extra_env or {})}
    process = subprocess.Popen(
        granian_command(APP_FACTORY, port, workers=workers),
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    server = ApiServer(f"http://127.0.0.1:{port}", process, Path(log_file.name))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"API server exited early:\n{server.log()}")
        try:
            answer = httpx.get(f"{server.base_url}/api/health", timeout=5)
            if answer.status_code == 200 or not expect_healthy:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"API server did not become healthy:\n{server.log()}")
