"""Benchmark (not a test): webhook delivery latency, and N changes delivered in order
to a receiver that fails 20 % of the time.

    .venv/bin/python -m benchmarks.webhooks                 # 200 latency samples, 10,000 changes
    .venv/bin/python -m benchmarks.webhooks --changes 2000  # fewer, on a busy machine

On a fresh database (TEST_DATABASE_URL's server): one organization, one endpoint on a
local receiver (http://127.0.0.1, private addresses allowed), one worker
(`python -m capital_app worker`, as `capital-app run` starts it).
Phase 1: one change at a time; latency = receiver got it − the writing call returned
(after commit), p50/p95. Phase 2: `--changes` changes written by 2 threads while the
receiver answers 500 to a random 20 % of requests (retried with backoff 20 ms doubling
to 200 ms); then counts lost (never answered 2xx), out of order (a change accepted
after one of a later revision) and duplicates (accepted twice, allowed: at least once).
Results: benchmarks/results/webhooks-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
ENV = {
    "CAPITAL_WEBHOOKS_ALLOW_PRIVATE": "1",
    "CAPITAL_WEBHOOKS_ALLOW_HTTP": "1",
    "CAPITAL_WEBHOOKS_BACKOFF_BASE_SECONDS": "0.02",
    "CAPITAL_WEBHOOKS_BACKOFF_MAX_SECONDS": "0.2",
    "CAPITAL_WEBHOOKS_POLL_SECONDS": "0.2",
    "CAPITAL_WEBHOOKS_TIMEOUT_SECONDS": "5",
}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--fail-rate", type=float, default=0.2)
    parser.add_argument("--max-seconds", type=float, default=1500.0)
    args = parser.parse_args()
    os.environ.update(ENV)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from capital_app.db.engine import reset_engines
    from capital_app.db.migrations import migrate_database
    from capital_app.service import history_commands as commands
    from capital_app.service import webhooks
    from capital_app.settings import get_settings
    from tests.support.database import create_test_database, drop_test_database
    from tests.support.factories import days_ago, make_tenant
    from tests.support.webhook_receiver import start_receiver

    url = create_test_database("capital_bench_webhooks")
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engines()
    migrate_database()
    load_before = os.getloadavg()
    receiver = start_receiver()
    rng = random.Random(13)
    worker = subprocess.Popen(
        [sys.executable, "-m", "capital_app", "worker"],
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        tenant = make_tenant("Bench hooks")
        editor = tenant.actor("EDITOR")
        admin = tenant.actor("ADMIN")

        def add(n: int, prefix: str) -> str:
            return commands.add_source(
                editor,
                name=f"{prefix} {n}",
                annual_rate=Decimal("0.1"),
                available_cents=100_000 + n,
                effective_date=days_ago(10),
            ).source_id

        # Phase 1: latency, one change at a time.
        webhooks.create_endpoint(admin, url=f"{receiver.base_url}/latency")
        time.sleep(1.0)  # the worker is up
        latencies = []
        for n in range(args.samples):
            source = add(n, "Latency")
            committed = time.monotonic()
            receiver.wait_for(lambda n=n: len(receiver.at("/latency")) > n, timeout=60)
            got = receiver.at("/latency")[n]
            assert json.loads(got.body)["data"]["sourceId"] == source
            latencies.append((got.at - committed) * 1000)

        # Phase 2: many changes, the receiver failing 20 % of the time.
        receiver.behaviour["/flaky"] = lambda _n: (
            (500, 0.0) if rng.random() < args.fail_rate else (200, 0.0)
        )
        endpoint = webhooks.create_endpoint(admin, url=f"{receiver.base_url}/flaky").endpoint
        written: list[tuple[str, int]] = []
        lock = threading.Lock()
        started = time.monotonic()

        def writer(offset: int) -> None:
            for n in range(offset, args.changes, 2):
                source = add(n, "Flaky")
                with lock:
                    written.append((source, n))

        threads = [threading.Thread(target=writer, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        write_seconds = time.monotonic() - started
        expected = {s for s, _ in written}
        finished = None
        deadline = started + args.max_seconds
        while time.monotonic() < deadline:
            ok = {
                json.loads(r.body)["data"]["sourceId"]
                for r in receiver.at("/flaky")
                if r.answered == 200
            }
            if expected <= ok:
                finished = time.monotonic() - started
                break
            time.sleep(0.5)
        got = receiver.at("/flaky")
        accepted = [r for r in got if r.answered == 200]
        seen: set[str] = set()
        out_of_order = duplicates = 0
        highest = -1
        for r in accepted:
            data = json.loads(r.body)["data"]
            if data["sourceId"] in seen:
                duplicates += 1
                continue
            seen.add(data["sourceId"])
            if data["revision"] < highest:
                out_of_order += 1
            highest = max(highest, data["revision"])
        lost = len(expected - seen)
        deliveries = webhooks.list_deliveries(admin, endpoint.id, 200)
        result = {
            "when": datetime.now(UTC).isoformat(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(),
            "latency": {
                "samples": len(latencies),
                "p50_ms": round(statistics.median(latencies), 1),
                "p95_ms": round(_percentile(latencies, 0.95), 1),
                "max_ms": round(max(latencies), 1),
            },
            "flaky": {
                "changes": len(expected),
                "fail_rate": args.fail_rate,
                "requests": len(got),
                "answered_500": sum(1 for r in got if r.answered == 500),
                "accepted": len(accepted),
                "lost": lost,
                "out_of_order": out_of_order,
                "duplicates": duplicates,
                "write_seconds": round(write_seconds, 1),
                "all_delivered_after_seconds": None if finished is None else round(finished, 1),
                "deliveries_per_second": None
                if finished is None
                else round(len(expected) / finished, 1),
                "max_attempts_in_last_200": max((d.attempts for d in deliveries), default=0),
            },
        }
        print(json.dumps(result, indent=2))
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        (RESULTS / f"webhooks-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        receiver.stop()
        reset_engines()
        drop_test_database(url)


if __name__ == "__main__":
    main()
