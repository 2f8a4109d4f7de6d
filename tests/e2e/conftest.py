"""Browser tests: the app served exactly as `make run` serves it, driven by Chromium.

One server per session: `capital-app run --port <free port>` (production build, one
port) against this run's test database, its output in tests/e2e/server.log. Tests
get a Playwright `page` whose relative URLs point at it (`page.goto("/")`).

Artifacts: every page a test leaves (by `page.goto`) and the page it ends on are
saved under tests/e2e/screenshots/; a failing test also leaves a Playwright trace
under tests/e2e/traces/ (`playwright show-trace <file>`).

Plain Playwright (sync API), not pytest-playwright: no plugin to clash with
pytest-asyncio, and the browser is Debian's Chromium (`playwright install` cannot
run here). Run this folder in its own pytest process (`make test` does).
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import socket
import subprocess
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from capital_app.settings import PROJECT_ROOT

E2E_DIR = Path(__file__).resolve().parent
SERVER_LOG = E2E_DIR / "server.log"
SCREENSHOTS = E2E_DIR / "screenshots"
TRACES = E2E_DIR / "traces"
# A private Reflex build folder: a `make run` in this checkout keeps serving its own .web.
WEB_DIR = E2E_DIR / ".web"
STATES_DIR = E2E_DIR / ".states"
# The build bakes the port into the frontend, so two sessions must not share WEB_DIR at once.
SESSION_LOCK = E2E_DIR / ".session.lock"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The first build on a clean machine installs the frontend's npm packages.
START_TIMEOUT_SECONDS = 900
STOP_TIMEOUT_SECONDS = 45


# How long the session's server took to build and answer, for the terminal summary.
_startup_seconds: list[float] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _startup_seconds:
        terminalreporter.write_line(
            f"e2e: the app was built and serving after {_startup_seconds[0]:.1f} s "
            f"(log: {SERVER_LOG.relative_to(PROJECT_ROOT)})"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


def _log_tail(lines: int = 40, log: Path = SERVER_LOG) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _wait_until_serving(
    base_url: str, server: subprocess.Popen[bytes], log: Path = SERVER_LOG
) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(
                f"capital-app run exited with {server.returncode} before serving; "
                f"end of {log}:\n{_log_tail(log=log)}"
            )
        if _answers(f"{base_url}/api/health") and _answers(f"{base_url}/"):
            return
        time.sleep(0.5)
    pytest.fail(f"the app did not serve within {START_TIMEOUT_SECONDS} s:\n{_log_tail(log=log)}")


def _stop(server: subprocess.Popen[bytes], log: Path = SERVER_LOG) -> None:
    """Ctrl-C, as a user would; `capital-app run` passes it on to Reflex and exits 0."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGINT)
    try:
        status = server.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        pytest.fail(f"capital-app run ignored Ctrl-C for {STOP_TIMEOUT_SECONDS} s")
    assert status == 0, f"capital-app run exited with {status} on Ctrl-C:\n{_log_tail(log=log)}"


def launch_app(
    port: int, log: BinaryIO, *, web_dir: Path = WEB_DIR, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`capital-app run --port <port>` as `make run` starts it, with this folder's build.

    `extra_env` e.g. runs several workers with Redis (GRANIAN_WORKERS, REFLEX_REDIS_URL);
    such a server needs its own `web_dir` (the build bakes the port in).
    """
    env = {
        **os.environ,
        # Every test tab and browser-less session comes from 127.0.0.1 (up to 100 at
        # once in benchmarks/realtime.py): lift the per-address socket cap (api/socket_guard.py).
        "CAPITAL_WS_PER_CLIENT": "1000",
        "REFLEX_WEB_WORKDIR": str(web_dir),
        "REFLEX_STATES_WORKDIR": str(web_dir.with_name(web_dir.name + "-states")),
        # Webhook tests deliver to a receiver on loopback, over plain http.
        "CAPITAL_WEBHOOKS_ALLOW_PRIVATE": "1",
        "CAPITAL_WEBHOOKS_ALLOW_HTTP": "1",
        "CAPITAL_WEBHOOKS_POLL_SECONDS": "0.3",
        **(extra_env or {}),
    }
    if web_dir == WEB_DIR:
        env["REFLEX_STATES_WORKDIR"] = str(STATES_DIR)
    # DATABASE_URL names the test database: the demo is seeded only when asked for.
    command = [
        str(Path(sysconfig.get_path("scripts")) / "capital-app"),
        "run", "--port", str(port), "--seed-demo",
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.fixture(scope="session")
def app_url(database_url: str) -> Iterator[str]:
    """Base URL of the running app; DATABASE_URL (set by `database_url`) is what it serves."""
    port = _free_port()
    base_url = f"http://localhost:{port}"
    with SESSION_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        started = time.monotonic()
        with SERVER_LOG.open("wb") as log:
            server = launch_app(port, log)
            try:
                _wait_until_serving(base_url, server)
                _startup_seconds.append(time.monotonic() - started)
                yield base_url
            finally:
                _stop(server)


# The two-worker server (tests of live updates across workers): Redis database
# number of its own, so its keys stay apart from anything else on this Redis.
WORKERS_WEB_DIR = E2E_DIR / ".web-workers"
WORKERS_LOCK = E2E_DIR / ".workers.lock"
WORKERS_LOG = E2E_DIR / "server-workers.log"
WORKERS_REDIS_URL = os.environ.get("E2E_REDIS_URL", "redis://127.0.0.1:6379/11")


@pytest.fixture(scope="session")
def two_worker_url(database_url: str) -> Iterator[str]:
    """Base URL of a second server: `capital-app run` with 2 Granian workers and Redis."""
    port = _free_port()
    base_url = f"http://localhost:{port}"
    extra = {"GRANIAN_WORKERS": "2", "REFLEX_REDIS_URL": WORKERS_REDIS_URL}
    with WORKERS_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with WORKERS_LOG.open("wb") as log:
            server = launch_app(port, log, web_dir=WORKERS_WEB_DIR, extra_env=extra)
            try:
                _wait_until_serving(base_url, server, WORKERS_LOG)
                yield base_url
            finally:
                _stop(server, WORKERS_LOG)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session", autouse=True)
def _fresh_artifacts() -> None:
    for folder in (SCREENSHOTS, TRACES):
        folder.mkdir(exist_ok=True)
        for old in [*folder.glob("*.png"), *folder.glob("*.zip")]:
            old.unlink()


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


def _artifact_name(item: pytest.Item) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid.split("::", 1)[-1])


@pytest.fixture
def page(browser: Browser, app_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context per test, traced; screenshots of each page it visits."""
    context = browser.new_context(base_url=app_url, viewport={"width": 1280, "height": 800})
    context.tracing.start(screenshots=True, snapshots=True)
    page = context.new_page()
    name = _artifact_name(request.node)
    shots = 0

    def screenshot() -> None:
        nonlocal shots
        if page.url.startswith(app_url):
            shots += 1
            page.screenshot(path=SCREENSHOTS / f"{name}-{shots:02d}.png", full_page=True)

    original_goto: Callable[..., Any] = page.goto

    def goto(url: str, **kwargs: Any) -> Any:
        screenshot()  # the page being left, as the test last saw it
        return original_goto(url, **kwargs)

    page.goto = goto  # type: ignore[method-assign]
    try:
        yield page
    finally:
        try:
            screenshot()
        finally:
            if request.node.stash.get(_CALL_FAILED, True):
                context.tracing.stop(path=TRACES / f"{name}.zip")
            else:
                context.tracing.stop()
            context.close()
