"""Benchmark: time from a commit to every open dashboard of the organization showing it.

The real app, served as `make run` serves it (`capital-app run`: Reflex production
build on one port, Granian workers), with 1 worker (Reflex's default state
manager) and with 2 workers (`GRANIAN_WORKERS=2`, `REFLEX_REDIS_URL`). 1, 10, 50
and 100 browser-less sessions of one organization (benchmarks/reflex_client.py
speaks Reflex's Socket.IO protocol over the real WebSocket) each sign in through
the login form's handler and open the dashboard, as a browser does after login.
One writer then commits amount changes through the service layer, 200 ms apart;
per session and commit we record the time from the commit returning to the
session receiving the delta that carries the new revision (`AppState.revision`
reaches R in the same delta as the dashboard's new numbers: the catch-up read
and rendered the page before answering). Also: the backend's CPU time (every
process of the server) over the measured commits, and each session's worker pid.

Usage:
    .venv/bin/python -m benchmarks.realtime                     # 1 and 2 workers, ~6 minutes
    .venv/bin/python -m benchmarks.realtime --workers 2 --sessions 100 --repeat 3
Results: benchmarks/results/realtime-app-<workers>w.json, summarized on stdout.
Needs PostgreSQL (TEST_DATABASE_URL's server, else the embedded one) and, for two
workers, Redis (--redis; default redis://127.0.0.1:6379/13).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also runnable as a plain script
    sys.path.insert(0, str(ROOT))

from benchmarks.realtime_mechanisms import (  # noqa: E402
    Org,
    _commit,
    _listeners,
    _summary,
    create_database,
    drop_database,
    free_port,
    process_tree_cpu_seconds,
)
from benchmarks.reflex_client import ReflexSession  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
TMP = RESULTS / "tmp"
APP_STATE = "capital_app___ui___state____app_state"
LOGIN_STATE = "capital_app___ui___pages___login____login_state"
DASHBOARD_STATE = "capital_app___ui___pages___dashboard___state____dashboard_state"
LIVE_STATE = "capital_app___ui___live____live_state"
ROOT_STATE = "reflex___state____state"


# The synced localStorage var a signed-in tab holds (AppState.session_token).
SESSION_TOKEN_VAR = f"{ROOT_STATE}.{APP_STATE}.session_token"


def _full(suffix: str) -> str:
    return f"{ROOT_STATE}.{APP_STATE}" + ("" if suffix == APP_STATE else f".{suffix}")


# -- server ------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/api/health", timeout=5) as response:
            return json.load(response)

    def cpu_seconds(self) -> float:
        return process_tree_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        """Ctrl-C, as `make run` is stopped; SIGKILL if it lingers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=45)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_server(workers: int, database_url: str, redis_url: str | None) -> Server:
    """`capital-app run --port N` (what `make run` does), with its own build folder."""
    from tests.e2e.conftest import launch_app

    port = free_port()
    extra = {"GRANIAN_WORKERS": str(workers), "DATABASE_URL": database_url}
    if workers > 1:
        if not redis_url:
            raise SystemExit("more than one worker needs Redis (--redis)")
        extra["REFLEX_REDIS_URL"] = redis_url
    TMP.mkdir(parents=True, exist_ok=True)
    log = TMP / f"server-realtime-app-{workers}w.log"
    saved = os.environ.pop("REFLEX_REDIS_URL", None)
    try:
        process = launch_app(
            port, log.open("wb"), web_dir=TMP / f".web-realtime-{workers}w", extra_env=extra
        )
    finally:
        if saved is not None:
            os.environ["REFLEX_REDIS_URL"] = saved
    server = Server(process, port, log)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: see {log}")
        with contextlib.suppress(OSError, ValueError, KeyError):
            if server.health()["realtime"]["state"] == "connected" and (
                _listeners(database_url) >= workers
            ):
                return server  # every worker listens: measure the steady state
        time.sleep(0.5)
    server.stop()
    raise SystemExit(f"server did not start within 600 s: see {log}")


# -- sessions ------------------------------------------------------------------------


@dataclass
class Dashboard:
    """One signed-in dashboard and the arrival times of its revisions."""

    session: ReflexSession
    times: list[tuple[int, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.session.watchers.append(self._watch)

    def _watch(self, state: str, values: dict[str, Any], arrived: float) -> None:
        if state.endswith(APP_STATE) and isinstance(values.get("revision"), int):
            self.times.append((values["revision"], arrived))

    def revision(self) -> int:
        return self.session.value(APP_STATE, "revision") or 0

    @property
    def pid(self) -> int | None:
        return self.session.value(LIVE_STATE, "worker_pid") or None

    def first_at_least(self, revision: int) -> float | None:
        return next((t for r, t in self.times if r >= revision), None)


async def open_dashboard(
    server: Server, email: str, password: str, storage: dict[str, Any] | None = None
) -> Dashboard:
    """Sign in through the login form's handler, then open "/" as the browser would.

    With `storage` (another tab's browser storage: the stored session token), open "/"
    directly, as a second tab of a signed-in browser does: the page's on_load resumes
    the sign-in from the token."""
    if storage:
        session = ReflexSession(server.url, path="/", storage=storage)
        board = Dashboard(session)
        await session.connect()
        await session.wait_until(
            lambda: session.value(DASHBOARD_STATE, "status") == "ready" and board.pid is not None,
            60,
        )
        return board
    session = ReflexSession(server.url, path="/login")
    board = Dashboard(session)
    await session.connect()
    await session.wait_until(lambda: any(s.endswith(LOGIN_STATE) for s in session.values), 30)
    await session.send(
        _full(LOGIN_STATE), "sign_in", form_data={"email": email, "password": password}
    )
    await session.wait_until(lambda: bool(session.value(APP_STATE, "user_id")), 30)
    session.path = "/"  # the redirect: the frontend runs the new page's on_load
    await session.send(_full(DASHBOARD_STATE), "load")
    await session.wait_until(
        lambda: session.value(DASHBOARD_STATE, "status") == "ready" and board.pid is not None, 60
    )
    return board


async def _all_reach(boards: list[Dashboard], revision: int, timeout: float) -> None:
    await asyncio.gather(
        *(b.session.wait_until(lambda b=b: b.revision() >= revision, timeout) for b in boards)
    )


async def measure_round(
    server: Server, org: Org, boards: list[Dashboard], commits: int, interval: float
) -> dict[str, Any]:
    latencies: list[float] = []
    commit_ms: list[float] = []
    missed = 0
    cents = 100_000_000_00 + 1_000 * len(boards)
    for _ in range(2):  # warm up: every session must see these before measuring
        cents += 1
        revision = await asyncio.to_thread(_commit, org, cents)
        with contextlib.suppress(TimeoutError):
            await _all_reach(boards, revision, 20)
    await asyncio.sleep(1)
    # The harness's own full garbage collections (its heap: every session's client and
    # the values received) stalled its one event loop for up to 250 ms, and every
    # session's arrival stamp with it: the sessions' objects are frozen (gc.freeze)
    # before measuring, so those pauses are not counted as the server's latency.
    gc.collect()
    gc.freeze()
    heard = [len(b.session.packets) for b in boards]
    profiling = _profile_switch(len(boards))
    if profiling is not None:
        profiling.touch()  # capital_app/observe/loop_profile.py: on while the file exists
        await asyncio.sleep(0.5)
    threads_before = _thread_cpu(server.process.pid)
    client_before = time.process_time()
    per_commit: list[dict[str, float]] = []
    cpu_before, wall_before = server.cpu_seconds(), time.perf_counter()
    for _ in range(commits):
        cents += 1
        started = time.perf_counter()
        revision = await asyncio.to_thread(_commit, org, cents)
        committed = time.perf_counter()
        commit_ms.append((committed - started) * 1000)
        with contextlib.suppress(TimeoutError):
            await _all_reach(boards, revision, 10)
        these: list[float] = []
        for b in boards:
            arrived = b.first_at_least(revision)
            if arrived is None:
                missed += 1
            else:
                these.append((arrived - committed) * 1000)
        latencies += these
        if these:
            these.sort()
            per_commit.append(
                {
                    "first": round(these[0], 1),
                    "p50": round(these[len(these) // 2], 1),
                    "last": round(these[-1], 1),
                }
            )
        await asyncio.sleep(interval)
    wall = time.perf_counter() - wall_before
    cpu = server.cpu_seconds() - cpu_before
    client_cpu = time.process_time() - client_before
    threads_after = _thread_cpu(server.process.pid)
    by_thread: dict[str, float] = {}
    for key, seconds in threads_after.items():
        name = key.split("/", 1)[1]
        by_thread[name] = by_thread.get(name, 0.0) + seconds - threads_before.get(key, 0.0)
    if profiling is not None:
        profiling.unlink()
        await asyncio.sleep(1)  # the worker writes its profile
    sizes = [size for b, n in zip(boards, heard, strict=True) for size, _ in b.session.packets[n:]]
    pids: dict[str, int] = {}
    for b in boards:
        pids[str(b.pid)] = pids.get(str(b.pid), 0) + 1
    return {
        "sessions": len(boards),
        "commits": commits,
        "commit_to_session_ms": _summary(latencies),
        "commit_call_ms": _summary(commit_ms),
        "missed": missed,
        "backend_cpu_seconds": round(cpu, 3),
        "backend_cpu_percent_of_one_core": round(100 * cpu / wall, 1),
        "backend_cpu_ms_per_commit": round(1000 * cpu / commits, 1),
        "backend_cpu_ms_per_commit_per_session": round(1000 * cpu / commits / len(boards), 3),
        "packet_bytes_per_session_and_commit": _summary([float(x) for x in sizes]),
        # Per commit, the first, median and last session's latency: a late commit (all
        # sessions late) and a spread over sessions (sent or read one after another)
        # look alike in the overall p95 and differ here.
        "per_commit_ms": per_commit,
        # The benchmark process's own CPU (every session's client and the writer's
        # service call) per commit: it shares the 2 cores with the server.
        "client_cpu_ms_per_commit": round(1000 * client_cpu / commits, 1),
        "worker_pids": pids,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        # Where the server's CPU went over the measured commits, ms per commit, by
        # process and thread name (the event loop is the worker's main thread).
        "backend_cpu_ms_per_commit_by_thread": {
            k: round(1000 * v / commits, 2)
            for k, v in sorted(by_thread.items(), key=lambda kv: -kv[1])
            if v > 0
        },
    }


def _thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread of the server's process tree: "<pid>/<process> <thread>"."""
    import psutil

    out: dict[str, float] = {}
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return out
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, OSError):
            label = " ".join(process.cmdline()[:2])[-40:]
            for thread in process.threads():
                comm = Path(f"/proc/{process.pid}/task/{thread.id}/comm")
                name = comm.read_text().strip() if comm.exists() else "?"
                if thread.id == process.pid:
                    name = "main"
                key = f"{process.pid}/{process.pid}:{label} {name}"
                out[key] = out.get(key, 0.0) + thread.user_time + thread.system_time
    return out


def _profile_switch(sessions: int) -> Path | None:
    """`<folder>/on` when --profile asks for this level (the app was started with
    CAPITAL_PROFILE_LOOP=<folder>), else None."""
    folder = os.environ.get("CAPITAL_PROFILE_LOOP")
    wanted = os.environ.get("BENCH_PROFILE_SESSIONS", "")
    if not folder or str(sessions) not in wanted.split(","):
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder) / "on"


async def run_config(
    workers: int, org: Org, email: str, password: str, levels: list[int], args: Any
) -> dict[str, Any]:
    server = start_server(workers, org.database_url, args.redis if workers > 1 else None)
    boards: list[Dashboard] = []
    rounds = []
    try:
        for level in levels:
            while len(boards) < level:
                batch = min(10, level - len(boards))
                tabs = max(1, args.tabs_per_sign_in)
                if len(boards) % tabs == 0:  # a new browser: sign in, then its other tabs
                    first = await open_dashboard(server, email, password)
                    boards.append(first)
                    storage = {SESSION_TOKEN_VAR: first.session.value(APP_STATE, "session_token")}
                    batch = min(tabs - 1, level - len(boards))
                    if batch <= 0:
                        continue
                else:
                    batch = min(batch, tabs - len(boards) % tabs)
                    storage = {
                        SESSION_TOKEN_VAR: boards[-1].session.value(APP_STATE, "session_token")
                    }
                boards += await asyncio.gather(
                    *(open_dashboard(server, email, password, storage) for _ in range(batch))
                )
            await asyncio.sleep(2)  # presence announcements of the newcomers settle
            result = await measure_round(server, org, boards, args.commits, args.interval)
            rounds.append(result)
            print(_line(workers, result), flush=True)
        health = server.health()["realtime"]
    finally:
        for b in boards:
            with contextlib.suppress(Exception):
                await b.session.close()
        server.stop()
    return {
        "benchmark": "realtime-app",
        "server": "capital-app run (reflex run --env prod --single-port), Granian",
        "workers": workers,
        "state_manager": "redis" if workers > 1 else "disk (Reflex default)",
        "commits_per_level": args.commits,
        "interval_seconds": args.interval,
        "rounds": rounds,
        "health_of_one_worker_at_end": health,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _line(workers: int, r: dict[str, Any]) -> str:
    d = r["commit_to_session_ms"]
    return (
        f"real app {workers}w {r['sessions']:4} sessions | commit→session p50 "
        f"{d.get('p50', '-'):>7} p95 {d.get('p95', '-'):>7} max {d.get('max', '-'):>7} | "
        f"missed {r['missed']} | cpu {r['backend_cpu_ms_per_commit']} ms/commit "
        f"({r['backend_cpu_ms_per_commit_per_session']} per session), client "
        f"{r['client_cpu_ms_per_commit']} | "
        f"bytes p50 {r['packet_bytes_per_session_and_commit'].get('p50', '-')} | "
        f"pids {sorted(r['worker_pids'].values())} | load {r['load_average'][0]}"
    )


def _viewer_login(org: Org) -> tuple[str, str]:
    """The benchmark organization's viewer (tests/support/factories' password)."""
    import psycopg

    from tests.support.factories import PASSWORD

    with psycopg.connect(org.database_url) as conn:
        row = conn.execute("SELECT email FROM app_user WHERE id = %s", (org.viewer_id,)).fetchone()
    if row is None:
        raise SystemExit("cannot find the benchmark viewer")
    return str(row[0]), PASSWORD


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--sessions", default="1,10,50,100")
    parser.add_argument("--commits", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between commits")
    parser.add_argument(
        "--tabs-per-sign-in",
        type=int,
        default=1,
        help="sessions per sign-in: the others open as further tabs of that browser, "
        "resuming from its stored session token (default 1: every session signs in)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per worker count")
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    )
    parser.add_argument("--label", default="", help="suffix of the result files (e.g. before)")
    parser.add_argument(
        "--profile",
        default="",
        help="session levels to profile the workers' event loops at (e.g. 100): cProfile "
        "files in benchmarks/results/tmp/profile-<label>/ (capital_app/observe/loop_profile.py)",
    )
    parser.add_argument(
        "--dashboard-state", default="", help="the dashboard state's name suffix (older builds)"
    )
    args = parser.parse_args()
    if args.dashboard_state:
        global DASHBOARD_STATE
        DASHBOARD_STATE = args.dashboard_state
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    levels = sorted(int(n) for n in args.sessions.split(","))
    if args.profile:
        folder = TMP / f"profile-{args.label or 'run'}"
        folder.mkdir(parents=True, exist_ok=True)
        os.environ["CAPITAL_PROFILE_LOOP"] = str(folder.resolve())  # inherited by the server
        os.environ["BENCH_PROFILE_SESSIONS"] = args.profile
    RESULTS.mkdir(parents=True, exist_ok=True)
    org = create_database()
    email, password = _viewer_login(org)
    try:
        for workers in (int(w) for w in args.workers.split(",")):
            runs = [
                asyncio.run(run_config(workers, org, email, password, levels, args))
                for _ in range(args.repeat)
            ]
            result = {**runs[-1], "runs": [r["rounds"] for r in runs]}
            del result["rounds"]
            label = f"-{args.label}" if args.label else ""
            path = RESULTS / f"realtime-app-{workers}w{label}.json"
            path.write_text(json.dumps(result, indent=2) + "\n")
            print(f"wrote {path.relative_to(ROOT)}", flush=True)
    finally:
        drop_database(org.database_url)


if __name__ == "__main__":
    main()
