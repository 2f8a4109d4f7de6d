"""Benchmark (phase 1, stand-in app): which push mechanism, measured on benchmarks/realtime_app.

The real app is measured by benchmarks/realtime.py; this file keeps the comparison
that chose its mechanism (docs/realtime.md, "Measurements").

For each push mechanism and worker count it starts a Reflex backend (production
mode), connects 1, 10, 50 and 100 browser-less sessions of one organization over
the real WebSocket (benchmarks/reflex_client.py speaks Reflex's protocol), then
commits changes through the service layer and records, per session:

- push: when the first delta saying "revision R exists" arrives;
- data: when the session holds the entries of revision R (its `revision` var
  reaches R after it read `changes_since`). For mechanisms that only push the
  revision, the client then sends `catch_up` itself, as a page would have to.

It also samples the backend's CPU time (every process of the server) over the
measured commits, and the round trip of a trivial event (a linked SharedState is
reported to slow every event of a session: reflex-dev/reflex#6746).

It targets the minimal app in benchmarks/realtime_app (the mechanisms are chosen
by RTBENCH_MODE).

Usage:
    .venv/bin/python -m benchmarks.realtime_mechanisms              # everything, ~25 minutes
    .venv/bin/python -m benchmarks.realtime_mechanisms --modes enqueue --repeat 3
    .venv/bin/python -m benchmarks.realtime_mechanisms --modes enqueue --workers 2 --sessions 100
Results: benchmarks/results/realtime-<mode>-<workers>w.json, summarized on stdout.
Needs PostgreSQL (TEST_DATABASE_URL's server, else the embedded one, as the
tests) and, for more than one worker, Redis (--redis).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also runnable as a plain script
    sys.path.insert(0, str(ROOT))

from benchmarks.reflex_client import ReflexSession  # noqa: E402

APP_DIR = ROOT / "benchmarks" / "realtime_app"
RESULTS = ROOT / "benchmarks" / "results"
LIVE = "rtbench___rtbench____live"
SHARED = "rtbench___rtbench____org_shared"
PUSH_VAR = {  # mechanism -> (state suffix, var) whose change is "the push"
    "enqueue": (LIVE, "revision"),
    "enqueue-direct": (LIVE, "revision"),
    "modify": (LIVE, "server_revision"),
    "shared": (SHARED, "revision"),
}


# -- database and server -----------------------------------------------------


@dataclass
class Org:
    database_url: str
    org_id: UUID
    viewer_id: UUID
    editor_id: UUID
    source_id: str


def create_database() -> Org:
    """A fresh migrated database with one organization, its users and one source.

    The test suite's helpers: on TEST_DATABASE_URL's server, else an embedded one.
    """
    from tests.support.database import create_test_database

    url = create_test_database(prefix="capital_bench_rt")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("CAPITAL_BCRYPT_ROUNDS", "4")
    try:
        return _populate(url)
    except BaseException:
        drop_database(url)
        raise


def _populate(url: str) -> Org:
    from capital_app.db.migrations import migrate_database
    from tests.support.factories import add_source, make_tenant

    migrate_database()
    tenant = make_tenant("Realtime Bench")
    source_id = add_source(
        tenant.actor("EDITOR"), "Benchmark term loan", cents=100_000_000_00, rate="0.12", days=400
    )
    return Org(url, tenant.org_id, tenant.viewer.id, tenant.editor.id, source_id)


def drop_database(url: str) -> None:
    from capital_app.db.engine import reset_engines
    from tests.support.database import drop_test_database

    reset_engines()
    drop_test_database(url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


RUNNING: list[Server] = []  # stopped on the way out, whatever happens


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/rtbench/stats", timeout=5) as response:
            return json.load(response)

    def cpu_seconds(self) -> float:
        return process_tree_cpu_seconds(self.process.pid)


def process_tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its descendants (0 once it is gone)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _listeners(database_url: str) -> int:
    """LISTEN connections of the app's workers open on the benchmark database."""
    from capital_app.realtime.listener import APPLICATION_NAME

    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            (APPLICATION_NAME,),
        ).fetchone()
    return int(row[0]) if row else 0


def start_server(mode: str, workers: int, database_url: str, redis_url: str | None) -> Server:
    port = free_port()
    venv_bin = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}",
        "DATABASE_URL": database_url,
        "RTBENCH_MODE": mode,
        "REFLEX_USE_NPM": "1",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "GRANIAN_WORKERS": str(workers),
        "PYTHONPATH": f"{ROOT}:{os.environ.get('PYTHONPATH', '')}",
    }
    env.pop("REFLEX_REDIS_URL", None)
    if workers > 1:
        if not redis_url:
            raise SystemExit("more than one worker needs Redis (--redis)")
        env["REFLEX_REDIS_URL"] = redis_url
    log = RESULTS / "tmp" / f"server-{mode}-{workers}w.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            str(venv_bin / "reflex"),
            "run",
            "--env",
            "prod",
            "--backend-only",
            "--backend-port",
            str(port),
            "--loglevel",
            "warning",
        ],
        cwd=APP_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(process, port, log)
    RUNNING.append(server)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: see {log}")
        try:
            if server.stats()["listener"]["state"] == "connected" and (
                _listeners(database_url) >= workers
            ):
                return server  # every worker listens: measure the steady state
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    server.stop()
    raise SystemExit(f"server did not start within 120 s: see {log}")


# -- sessions and measurements ------------------------------------------------


@dataclass
class Tracked:
    """One session and the arrival times of what it was told."""

    session: ReflexSession
    mode: str
    push_times: list[tuple[int, float]] = field(default_factory=list)
    data_times: list[tuple[int, float]] = field(default_factory=list)
    asked: int = 0
    sending: set[asyncio.Task] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.session.watchers.append(self._watch)

    def _watch(self, state: str, values: dict[str, Any], arrived: float) -> None:
        push_state, push_var = PUSH_VAR[self.mode]
        if state.endswith(push_state) and isinstance(values.get(push_var), int):
            revision = values[push_var]
            self.push_times.append((revision, arrived))
            if not self.mode.startswith("enqueue") and revision > self.asked and self.pid:
                # A page would need a hook to ask for the data: do it as soon as told.
                self.asked = revision
                task = asyncio.get_running_loop().create_task(
                    self.session.send(self.live_state, "catch_up", revision=revision)
                )
                self.sending.add(task)  # a task nobody references may be collected
                task.add_done_callback(self.sending.discard)
        if state.endswith(LIVE) and isinstance(values.get("revision"), int):
            self.data_times.append((values["revision"], arrived))

    @property
    def live_state(self) -> str:
        return next(s for s in self.session.values if s.endswith(LIVE))

    @property
    def pid(self) -> int | None:
        return self.session.value(LIVE, "pid") or None

    def revision(self) -> int:
        return self.session.value(LIVE, "revision") or 0

    @staticmethod
    def first_at_least(times: list[tuple[int, float]], revision: int) -> float | None:
        return next((t for r, t in times if r >= revision), None)


async def open_session(server: Server, org: Org, mode: str) -> Tracked:
    session = ReflexSession(server.url)
    tracked = Tracked(session, mode)
    await session.connect()
    await session.wait_until(lambda: any(s.endswith(LIVE) for s in session.values), 30)
    await session.send(
        tracked.live_state, "join", org_id=str(org.org_id), user_id=str(org.viewer_id)
    )
    await session.wait_until(lambda: tracked.pid is not None, 30)
    return tracked


def _commit(org: Org, cents: int) -> int:
    from capital_app.service import history_commands
    from capital_app.service.actor import Actor

    result = history_commands.update_amount(
        Actor(org.editor_id, org.org_id),
        source_id=org.source_id,
        available_cents=cents,
        effective_date=datetime.now(UTC) - timedelta(minutes=1),
    )
    return int(result.entry.revision)


def _summary(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))], 2)

    return {
        "count": len(ordered),
        "p50": pct(0.50),
        "p95": pct(0.95),
        "max": round(ordered[-1], 2),
        "mean": round(statistics.fmean(ordered), 2),
    }


async def _all_reach(sessions: list[Tracked], revision: int, timeout: float) -> None:
    """Wait until every session holds `revision`."""
    await asyncio.gather(
        *(t.session.wait_until(lambda t=t: t.revision() >= revision, timeout) for t in sessions)
    )


async def measure_round(
    server: Server, org: Org, sessions: list[Tracked], commits: int, interval: float
) -> dict[str, Any]:
    push_ms: list[float] = []
    data_ms: list[float] = []
    commit_ms: list[float] = []
    missed = 0
    cents = 100_000_000_00
    # Warm up: changes everybody must see before measuring.
    warm_up_misses = []
    for _ in range(2):
        cents += 1
        revision = await asyncio.to_thread(_commit, org, cents)
        with contextlib.suppress(TimeoutError):
            await _all_reach(sessions, revision, 15)
        warm_up_misses += [
            {"revision": revision, "session_revision": t.revision(), "pid": t.pid}
            for t in sessions
            if t.revision() < revision
        ]
    if warm_up_misses:
        print(f"warm-up: {len(warm_up_misses)} sessions missed a change", warm_up_misses[:5])
    cpu_before, wall_before = server.cpu_seconds(), time.perf_counter()
    for _ in range(commits):
        cents += 1
        started = time.perf_counter()
        revision = await asyncio.to_thread(_commit, org, cents)
        committed = time.perf_counter()
        commit_ms.append((committed - started) * 1000)
        with contextlib.suppress(TimeoutError):
            await _all_reach(sessions, revision, 10)
        for t in sessions:
            pushed = Tracked.first_at_least(t.push_times, revision)
            holds = Tracked.first_at_least(t.data_times, revision)
            if pushed is None or holds is None:
                missed += 1
                continue
            push_ms.append((pushed - committed) * 1000)
            data_ms.append((holds - committed) * 1000)
        await asyncio.sleep(interval)
    wall = time.perf_counter() - wall_before
    cpu = server.cpu_seconds() - cpu_before
    return {
        "sessions": len(sessions),
        "commits": commits,
        "push_ms": _summary(push_ms),
        "data_ms": _summary(data_ms),
        "commit_call_ms": _summary(commit_ms),
        "missed": missed,
        "warm_up_missed": warm_up_misses,
        "backend_cpu_seconds": round(cpu, 3),
        "backend_cpu_percent_of_one_core": round(100 * cpu / wall, 1),
        "backend_cpu_ms_per_commit": round(1000 * cpu / commits, 1),
        "worker_pids": _pid_counts(sessions),
    }


async def measure_event_rtt(sessions: list[Tracked], per_session: int = 5) -> dict[str, Any]:
    """Round trip of a trivial event (Live.ping) on up to 10 idle sessions."""
    rtts: list[float] = []
    timeouts = 0
    for t in sessions[:10]:
        for _ in range(per_session):
            before = t.session.value(LIVE, "pings") or 0
            started = time.perf_counter()
            await t.session.send(t.live_state, "ping")
            try:
                await t.session.wait_until(
                    lambda t=t, before=before: (t.session.value(LIVE, "pings") or 0) > before, 10
                )
            except TimeoutError:
                timeouts += 1
                continue
            rtts.append((time.perf_counter() - started) * 1000)
    return {**_summary(rtts), "timeouts": timeouts}


def _pid_counts(sessions: list[Tracked]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in sessions:
        counts[str(t.pid)] = counts.get(str(t.pid), 0) + 1
    return counts


async def run_config(
    mode: str, workers: int, org: Org, levels: list[int], args: argparse.Namespace
) -> dict[str, Any]:
    server = start_server(mode, workers, org.database_url, args.redis if workers > 1 else None)
    sessions: list[Tracked] = []
    rounds = []
    try:
        for level in levels:
            while len(sessions) < level:
                batch = min(10, level - len(sessions))
                sessions += await asyncio.gather(
                    *(open_session(server, org, mode) for _ in range(batch))
                )
            result = await measure_round(server, org, sessions, args.commits, args.interval)
            result["event_rtt_ms"] = await measure_event_rtt(sessions)
            result["load_average"] = [round(x, 2) for x in os.getloadavg()]
            rounds.append(result)
            print(_line(mode, workers, result), flush=True)
        stats = server.stats()
    finally:
        for t in sessions:
            with contextlib.suppress(Exception):
                await t.session.close()
        server.stop()
    return {
        "benchmark": "realtime",
        "mode": mode,
        "workers": workers,
        "state_manager": "redis" if workers > 1 else "disk (Reflex default)",
        "commits_per_level": args.commits,
        "interval_seconds": args.interval,
        "rounds": rounds,
        "server_stats_last_worker": stats,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _median_of_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per session count: the median over runs of each latency figure (a noisy, shared machine)."""
    levels = []
    for i, first in enumerate(runs[0]["rounds"]):
        rounds = [run["rounds"][i] for run in runs]
        level: dict[str, Any] = {"sessions": first["sessions"], "runs": len(rounds)}
        for metric in ("push_ms", "data_ms"):
            level[metric] = {
                k: round(statistics.median(r[metric][k] for r in rounds), 2)
                for k in ("p50", "p95", "max")
                if all(k in r[metric] for r in rounds)
            }
            # The least disturbed run: other jobs share this machine's cores.
            best = min(rounds, key=lambda r, m=metric: r[m].get("p95", float("inf")))
            level[metric + "_best_run"] = {k: best[metric].get(k) for k in ("p50", "p95", "max")}
        level["missed"] = sum(r["missed"] for r in rounds)
        level["backend_cpu_ms_per_commit"] = statistics.median(
            r["backend_cpu_ms_per_commit"] for r in rounds
        )
        level["event_rtt_p50_ms"] = statistics.median(
            r["event_rtt_ms"].get("p50", 0) for r in rounds
        )
        level["load_average_1min"] = [r["load_average"][0] for r in rounds]
        levels.append(level)
    return levels


def _line(mode: str, workers: int, r: dict[str, Any]) -> str:
    p, d = r["push_ms"], r["data_ms"]
    return (
        f"{mode:8} {workers}w {r['sessions']:4} sessions | push p50 {p.get('p50', '-'):>7} "
        f"p95 {p.get('p95', '-'):>7} max {p.get('max', '-'):>7} | data p50 {d.get('p50', '-'):>7} "
        f"p95 {d.get('p95', '-'):>7} max {d.get('max', '-'):>7} | missed {r['missed']} | "
        f"cpu {r['backend_cpu_ms_per_commit']} ms/commit | rtt p50 "
        f"{r['event_rtt_ms'].get('p50', '-')} | pids {sorted(r['worker_pids'].values())}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="enqueue,enqueue-direct,modify,shared")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--sessions", default="1,10,50,100")
    parser.add_argument("--commits", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between commits")
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration")
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    )
    args = parser.parse_args()
    # A terminated run still stops its server and drops its database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    levels = sorted(int(n) for n in args.sessions.split(","))
    RESULTS.mkdir(parents=True, exist_ok=True)
    org = create_database()
    try:
        for workers in (int(w) for w in args.workers.split(",")):
            for mode in args.modes.split(","):
                runs = [
                    asyncio.run(run_config(mode, workers, org, levels, args))
                    for _ in range(args.repeat)
                ]
                result = {**runs[-1], "runs": [r["rounds"] for r in runs]}
                result["median_of_runs"] = _median_of_runs(runs)
                del result["rounds"]
                path = RESULTS / f"realtime-{mode}-{workers}w.json"
                path.write_text(json.dumps(result, indent=2) + "\n")
    finally:
        for server in RUNNING:
            server.stop()
        drop_database(org.database_url)


if __name__ == "__main__":
    main()
