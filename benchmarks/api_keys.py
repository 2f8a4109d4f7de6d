"""Benchmark (not a test): request latency with an API key vs a JWT, in one run.

    .venv/bin/python -m benchmarks.api_keys            # about a minute
    .venv/bin/python -m benchmarks.api_keys --rounds 9

On a fresh database (TEST_DATABASE_URL's server): one organization with 40 sources;
the API under Granian (one worker, as tests/support/api_server.py starts it), three
times: rate limits off, limits with buckets in memory, limits with buckets in Redis
(`--redis`, default E2E_REDIS_URL or redis://127.0.0.1:6379/5). The limits are set
high enough never to refuse: this measures what checking them costs.

Each server is driven with GET /api/wacc (a small read: authentication and the
authorization re-read are most of its cost) at concurrency 1, in paired rounds that
alternate which credential goes first: the same viewer's JWT, and a `read` API key.
Also timed in-process: verifying a JWT vs hashing and looking up a key in the
process's identity cache (the part of the key check that happens per request before
the service's own transaction).

Results: benchmarks/results/api-keys-<timestamp>.json; summary in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3)


def _micro(fn, n: int = 20_000) -> float:
    """Median µs per call over 5 batches."""
    batches = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        batches.append((time.perf_counter() - t0) / n * 1e6)
    return round(statistics.median(batches), 2)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument(
        "--redis", default=os.environ.get("E2E_REDIS_URL") or "redis://127.0.0.1:6379/5"
    )
    args = parser.parse_args()

    from benchmarks.loadgen import json_request, load
    from capital_app.db.engine import reset_engines
    from capital_app.db.migrations import migrate_database
    from capital_app.service import api_keys
    from capital_app.service.authentication import actor_from_token
    from capital_app.settings import get_settings
    from tests.support.api_server import start_api_server
    from tests.support.database import create_test_database, drop_test_database
    from tests.support.factories import PASSWORD, add_source, make_tenant

    url = create_test_database("capital_bench_keys")
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engines()
    migrate_database()
    servers = []
    try:
        tenant = make_tenant("Bench keys")
        for i in range(40):
            add_source(tenant.actor(), name=f"Bench source {i:02d}", cents=1_000_000_00 + i)
        secret = api_keys.create_key(
            tenant.actor("ADMIN"), name="Benchmark", scopes=["read"]
        ).secret

        high = {"CAPITAL_RATE_LIMIT_PER_MINUTE": "60000000", "CAPITAL_RATE_LIMIT_BURST": "1000000"}
        configs = {
            "limits off": {
                "CAPITAL_RATE_LIMIT_PER_MINUTE": "0",
                "CAPITAL_RATE_LIMIT_REDIS_URL": "",
            },
            "limits, memory buckets": {**high, "CAPITAL_RATE_LIMIT_REDIS_URL": ""},
            "limits, Redis buckets": {**high, "CAPITAL_RATE_LIMIT_REDIS_URL": args.redis},
        }
        load_before = os.getloadavg()
        results: dict[str, dict] = {}
        for label, env in configs.items():
            server = start_api_server({**env, "REFLEX_REDIS_URL": ""})
            servers.append(server)
            jwt = httpx.post(
                f"{server.base_url}/api/auth/token",
                json={"email": tenant.viewer.email, "password": PASSWORD},
            ).json()["accessToken"]
            credentials = {"jwt": jwt, "api key": secret}
            samples: dict[str, list[float]] = {"jwt": [], "api key": []}
            statuses: dict[str, dict] = {"jwt": {}, "api key": {}}
            p95_pairs = []
            for token in credentials.values():  # warm-up (key cache, pool)
                load(
                    server.base_url,
                    lambda _i, t=token: json_request("GET", "/api/wacc", token=t),
                    concurrency=1,
                    max_requests=100,
                    max_seconds=20,
                )
            for r in range(args.rounds):
                order = list(credentials) if r % 2 == 0 else list(reversed(credentials))
                round_p95 = {}
                for name in order:
                    token = credentials[name]
                    run = load(
                        server.base_url,
                        lambda _i, t=token: json_request("GET", "/api/wacc", token=t),
                        concurrency=1,
                        max_requests=args.requests,
                        max_seconds=30,
                    )
                    samples[name].extend(run.latencies_ms)
                    for status, count in run.statuses.items():
                        statuses[name][str(status)] = statuses[name].get(str(status), 0) + count
                    round_p95[name] = _pct(run.latencies_ms, 0.95)
                p95_pairs.append(round(round_p95["api key"] - round_p95["jwt"], 3))
            results[label] = {
                name: {
                    "requests": len(values),
                    "p50_ms": _pct(values, 0.5),
                    "p95_ms": _pct(values, 0.95),
                    "p99_ms": _pct(values, 0.99),
                    "statuses": statuses[name],
                }
                for name, values in samples.items()
            }
            results[label]["key_minus_jwt_p95_ms_per_round"] = p95_pairs
            results[label]["key_minus_jwt_p95_ms_median"] = statistics.median(p95_pairs)
            results[label]["load_average_after"] = os.getloadavg()
            print(label, json.dumps(results[label]), flush=True)
            server.stop()

        # In-process: the per-request part of each credential check.
        api_keys.key_actor(secret)  # the identity cache now holds the key
        micro = {
            "jwt_verify_us": _micro(lambda: actor_from_token(jwt), 5_000),
            "key_hash_and_cache_lookup_us": _micro(lambda: api_keys.cached_key_actor(secret)),
        }
        result = {
            "when": datetime.now(UTC).isoformat(),
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "endpoint": "GET /api/wacc (40 sources), concurrency 1",
            "rounds": args.rounds,
            "requests_per_round": args.requests,
            "servers": results,
            "in_process": micro,
        }
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS / f"api-keys-{stamp}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(micro), f"\nwritten to {path}")
    finally:
        for server in servers:
            server.stop()
        reset_engines()
        drop_test_database(url)


if __name__ == "__main__":
    main()
