"""Benchmark (not a test): normal requests' latency with and without 15 slow readers.

    .venv/bin/python -m benchmarks.slow_readers                 # caps raised to 15
    .venv/bin/python -m benchmarks.slow_readers --default-caps  # the shipped caps

On a fresh database (TEST_DATABASE_URL's server): one organization with 10,000
entries, the API under Granian (one worker, default pool 5 + 10). Phase 1: 4 clients
send `GET /api/me` and `GET /api/wacc` in turn, 150 requests each. Phase 2: the same
while 15 clients of the organization's viewer (caps raised so none is refused) keep opening
`GET /api/capital-history` (the whole-history stream), read its first KiB and then
stop reading for 5 s before hanging up. Records p50/p95 of each phase, their ratio,
non-2xx counts and the pool's `checkedOut` seen by /api/health during phase 2.
Results: benchmarks/results/slow-readers-<timestamp>.json.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

RESULTS = Path(__file__).parent / "results"
PHASE_SECONDS = 12.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _normal_traffic(base: str, token: str, seconds: float, clients: int = 4) -> dict:
    times: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as c:
            until, i = time.monotonic() + seconds, 0
            while time.monotonic() < until:
                i += 1
                t0 = time.perf_counter()
                answer = c.get("/api/me" if i % 2 else "/api/wacc", timeout=60)
                elapsed = time.perf_counter() - t0
                with lock:
                    times.append(elapsed * 1000)
                    statuses.append(answer.status_code)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "requests": len(times),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(_percentile(times, 0.95), 2),
        "non_2xx": sum(1 for s in statuses if s >= 300),
        "status_5xx": sum(1 for s in statuses if s >= 500),
    }


def _slow_reader(base: str, token: str, stop: threading.Event, seen: list[int]) -> None:
    """Open the whole-history stream, then read it at a trickle (at most 32 KiB every
    0.1 s) for 5 s and hang up; again until stopped."""
    host, port = base.removeprefix("http://").split(":")
    while not stop.is_set():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect((host, int(port)))
            sock.sendall(
                f"GET /api/capital-history HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {token}\r\n\r\n".encode()
            )
            head = sock.recv(1024)
            status = int(head.split(b" ", 2)[1]) if head else 0
            seen.append(status)
            sock.settimeout(0.2)
            until = time.monotonic() + 5
            while status == 200 and time.monotonic() < until and not stop.is_set():
                try:
                    if not sock.recv(32 * 1024):
                        break
                except TimeoutError:
                    pass
                time.sleep(0.1)
            stop.wait(0 if status == 200 else 1)


def _attack(base: str, viewer: str, editor: str, seconds: float) -> dict:
    stop = threading.Event()
    seen: list[int] = []
    threads = [
        threading.Thread(target=_slow_reader, args=(base, viewer, stop, seen)) for _ in range(15)
    ]
    for t in threads:
        t.start()
    time.sleep(2)
    pool_seen: list[int] = []

    def watch() -> None:
        while not stop.is_set():
            health = httpx.get(f"{base}/api/health", timeout=30).json()
            pool_seen.append(health["database"]["pool"]["checkedOut"])
            stop.wait(0.5)

    watcher = threading.Thread(target=watch)
    watcher.start()
    loaded = _normal_traffic(base, editor, seconds=seconds)
    stop.set()
    for t in [*threads, watcher]:
        t.join()
    return {
        **loaded,
        "slow_reader_statuses": {str(s): seen.count(s) for s in sorted(set(seen))},
        "pool_checked_out_max": max(pool_seen) if pool_seen else None,
    }


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from capital_app.db.engine import reset_engines
    from capital_app.db.migrations import migrate_database
    from capital_app.settings import get_settings
    from tests.support.api_server import start_api_server
    from tests.support.bulk_history import seed_bulk_history
    from tests.support.database import create_test_database, drop_test_database
    from tests.support.factories import PASSWORD, make_tenant

    # One benchmark user sends far more than an integrator may (issue 13 rate limits):
    # measure the app, not the limiter.
    os.environ.setdefault("CAPITAL_RATE_LIMIT_PER_MINUTE", "0")
    url = create_test_database("capital_bench_slow")
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engines()
    migrate_database()
    server = None
    try:
        tenant = make_tenant("Bench")
        seed_bulk_history(tenant.org_id, tenant.admin.id, sources=250, per_source=40)
        # The 15 readers read the big history as its viewer (caps raised for the run).
        default_caps = "--default-caps" in sys.argv
        caps = (
            {}
            if default_caps
            else {"CAPITAL_STREAMS_PER_USER": "15", "CAPITAL_STREAMS_PER_ORGANIZATION": "15"}
        )
        # Before / after in one run: streams unpaced (share 1) and paced (the default).
        variants = {"unpaced": {"CAPITAL_STREAM_CPU_SHARE": "1"}, "paced": {}}
        load_before = os.getloadavg()
        runs = {}
        for name, env in variants.items():
            server = start_api_server({**caps, **env})
            base = server.base_url

            def token(email: str, base: str = base) -> str:
                answer = httpx.post(
                    f"{base}/api/auth/token", json={"email": email, "password": PASSWORD}
                )
                return answer.json()["accessToken"]

            editor = token(tenant.editor.email)
            viewer = token(tenant.viewer.email)
            _normal_traffic(base, editor, seconds=2)  # warm-up
            unloaded = _normal_traffic(base, editor, seconds=PHASE_SECONDS)
            loaded = _attack(base, viewer, editor, PHASE_SECONDS)
            server.stop()
            server = None
            runs[name] = {
                "load_average_after": os.getloadavg(),
                "unloaded": unloaded,
                "with_15_slow_readers": loaded,
                "p95_ratio": round(loaded["p95_ms"] / unloaded["p95_ms"], 2),
                "p50_ratio": round(loaded["p50_ms"] / unloaded["p50_ms"], 2),
            }
        result = {
            "when": datetime.now(UTC).isoformat(),
            "load_average_before": load_before,
            "entries": 10_000,
            "reader": "15 readers trickle the whole history (32 KiB / 0.1 s) for 5 s, again",
            "stream_caps": "default (2 per user, 6 per organization)"
            if default_caps
            else "raised to 15",
            **runs,
        }
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        suffix = "-default-caps" if default_caps else ""
        path = RESULTS / f"slow-readers-{stamp}{suffix}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
        print(f"written to {path}")
    finally:
        if server is not None:
            server.stop()
        reset_engines()
        drop_test_database(url)


if __name__ == "__main__":
    main()
