"""Benchmark (not a test): commit → Server-Sent Event latency of GET /api/events/stream.

    .venv/bin/python -m benchmarks.event_stream      # about 30 s

On a fresh database (TEST_DATABASE_URL's server): one organization; the API under
Granian (one worker, tests/support/api_server.py) with the stream caps raised. 1 and
then 20 streams (threads of this process, httpx) listen while 30 commits are made 150 ms
apart through the service layer (update_amount, in this process). Latency: from the
service call returning (committed) to the event's arrival on each stream; p50 / p95 /
max over streams × commits; `missed` = not seen within 10 s.

Results: benchmarks/results/event-stream-<timestamp>.json; summary in benchmarks/README.md.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
COMMITS = 30


def _listen(base: str, token: str, arrivals: dict[str, float], ready: threading.Event,
            stop: threading.Event) -> None:  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    with (
        httpx.Client(base_url=base, headers=headers) as client,
        client.stream("GET", "/api/events/stream", timeout=httpx.Timeout(60)) as answer,
    ):
        for line in answer.iter_lines():
            if line.startswith("retry:"):
                ready.set()
            elif line.startswith("data: "):
                entry_id = json.loads(line[6:])["entry"]["id"]
                arrivals[entry_id] = time.perf_counter()
            if stop.is_set():
                return


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from capital_app.db.engine import reset_engines
    from capital_app.db.migrations import migrate_database
    from capital_app.service import history_commands as commands
    from capital_app.settings import get_settings
    from tests.support.api_server import start_api_server
    from tests.support.database import create_test_database, drop_test_database
    from tests.support.factories import PASSWORD, add_source, days_ago, make_tenant

    os.environ.setdefault("CAPITAL_RATE_LIMIT_PER_MINUTE", "0")
    url = create_test_database("capital_bench_sse")
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engines()
    migrate_database()
    server = None
    try:
        tenant = make_tenant("Bench SSE")
        source = add_source(tenant.actor(), days=30)
        server = start_api_server(
            {"CAPITAL_STREAMS_PER_USER": "50", "CAPITAL_STREAMS_PER_ORGANIZATION": "50"}
        )
        token = httpx.post(
            f"{server.base_url}/api/auth/token",
            json={"email": tenant.viewer.email, "password": PASSWORD},
        ).json()["accessToken"]
        load_before = os.getloadavg()
        levels = {}
        cents = 1_000_00
        for streams in (1, 20):
            arrivals = [dict[str, float]() for _ in range(streams)]
            readies = [threading.Event() for _ in range(streams)]
            stop = threading.Event()
            threads = [
                threading.Thread(
                    target=_listen,
                    args=(server.base_url, token, arrivals[i], readies[i], stop),
                    daemon=True,
                )
                for i in range(streams)
            ]
            for t in threads:
                t.start()
            for ready in readies:
                ready.wait(30)
            time.sleep(0.5)
            committed: dict[str, float] = {}
            for _ in range(COMMITS):
                cents += 1
                entry = commands.update_amount(
                    tenant.actor(), source_id=source, available_cents=cents,
                    effective_date=days_ago(1),
                ).entry  # fmt: skip
                committed[entry.id] = time.perf_counter()
                time.sleep(0.15)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(
                len(a) >= len(committed) for a in arrivals
            ):
                time.sleep(0.05)
            latencies = []
            missed = 0
            for per_stream in arrivals:
                for entry_id, at in committed.items():
                    if entry_id in per_stream:
                        latencies.append((per_stream[entry_id] - at) * 1000)
                    else:
                        missed += 1
            stop.set()
            # One more commit wakes every stream so its thread sees `stop` and ends.
            cents += 1
            commands.update_amount(
                tenant.actor(), source_id=source, available_cents=cents, effective_date=days_ago(1)
            )
            for t in threads:
                t.join(10)
            latencies.sort()
            levels[str(streams)] = {
                "deliveries": len(latencies),
                "missed": missed,
                "p50_ms": round(statistics.median(latencies), 2),
                "p95_ms": round(latencies[int(0.95 * len(latencies)) - 1], 2),
                "max_ms": round(latencies[-1], 2),
                "load_average": os.getloadavg(),
            }
            print(streams, json.dumps(levels[str(streams)]), flush=True)
            time.sleep(1)
        result = {
            "when": datetime.now(UTC).isoformat(),
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "commits": COMMITS,
            "levels": levels,
        }
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS / f"event-stream-{stamp}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written to {path}")
    finally:
        if server is not None:
            server.stop()
        reset_engines()
        drop_test_database(url)


if __name__ == "__main__":
    main()
