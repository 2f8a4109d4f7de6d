"""Overhead of metrics + structured logs on the API's reads (not a test).

    .venv/bin/python -m benchmarks.observability            # 10,000 entries, 6 rounds
    .venv/bin/python -m benchmarks.observability --quick    # 2,000 entries, 3 rounds

One run, one database (benchmarks/api.py's seeding), two identical Granian servers
(one worker each, as `reflex run --env prod` without Redis) started side by side:

* on:  metrics on (prometheus-client multiprocess mode, as `capital-app run` sets it),
       JSON request/command logs at INFO written to a file;
* off: CAPITAL_METRICS=off and CAPITAL_LOG_LEVEL=WARNING (no request lines).

The reads of benchmarks/api.py that are cheapest (where a fixed per-request cost
shows most) are driven at concurrency 1, alternating on/off in short rounds so a
change of machine load hits both alike. Reported: p50/p95 of each and their ratios,
with the load average before and after. Results: benchmarks/results/observability-*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.api import (
    PASSWORD,
    RESULTS,
    ROOT,
    create_database,
    drop_database,
    log,
    start_granian,
    stop,
    wait_until_up,
)

TARGET_P50_RATIO = 1.05
READS = {
    "active sources now": "/api/capital-sources/active",
    "WACC now": "/api/wacc",
    "history page (limit 100)": "/api/capital-history?limit=100",
}


def seed(quick: bool) -> tuple[Any, str]:
    """An organization with the large fixture export imported (the app's own import: the
    bulk COPY seeding of benchmarks/api.py trips the bulk insert trigger at this commit)."""
    import secrets

    from capital_app.service.actor import Actor
    from capital_app.service.history_import import import_history
    from capital_app.service.organizations import create_organization
    from capital_app.service.users import provision_user

    org = create_organization(f"Observability {secrets.token_hex(3)}", "KES")
    email = f"editor-{secrets.token_hex(3)}@bench.test"
    editor = provision_user(org.id, email=email, name="Editor", role="EDITOR", password=PASSWORD)
    fixture = ROOT / "tests" / "fixtures" / ("demo-export.json" if quick else "large-export.json")
    report = import_history(Actor(editor.id, org.id), fixture.read_bytes())
    log(f"imported {report.imported} entries from {fixture.name}")
    return org.id, email


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=0, help="on/off rounds per read")
    parser.add_argument(
        "--variant",
        choices=["all", "metrics", "logs"],
        default="all",
        help="what 'on' turns on: both (default), metrics only, JSON logs only",
    )
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 6)
    per_round = 60 if args.quick else 150
    url = create_database()
    data_dir = Path(tempfile.mkdtemp(prefix="capital-bench-obs-"))
    metrics_dir = Path(tempfile.mkdtemp(prefix="capital-bench-metrics-"))
    os.environ["DATABASE_URL"] = url
    os.environ["CAPITAL_DATA_DIR"] = str(data_dir)
    from capital_app.db.engine import reset_engines
    from capital_app.db.migrations import migrate_database
    from capital_app.settings import get_settings

    get_settings.cache_clear()
    reset_engines()
    migrate_database()
    servers: dict[str, Any] = {}
    try:
        _org_id, editor_email = seed(quick=args.quick)
        envs = {
            "on": {
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
                "CAPITAL_METRICS": "on",
                "CAPITAL_LOG_FORMAT": "json",
                "CAPITAL_LOG_LEVEL": "INFO",
            },
            "off": {"CAPITAL_METRICS": "off", "CAPITAL_LOG_LEVEL": "WARNING"},
        }
        if args.variant == "metrics":
            envs["on"]["CAPITAL_LOG_LEVEL"] = "WARNING"
        elif args.variant == "logs":
            envs["on"]["CAPITAL_METRICS"] = "off"
        for name, env in envs.items():
            log_path = data_dir / f"server-{name}.log"
            process, base = start_granian("capital_app.api.app:create_api_app", env, log_path)
            wait_until_up(f"{base}/api/health", process, log_path)
            servers[name] = (process, base, log_path)
        token = httpx.post(
            f"{servers['on'][1]}/api/auth/token",
            json={"email": editor_email, "password": PASSWORD},
            timeout=30,
        ).json()["accessToken"]
        from benchmarks.api import _get
        from benchmarks.loadgen import Run, load

        load_before = [round(x, 2) for x in os.getloadavg()]
        results: dict[str, Any] = {
            "started_at": datetime.now(UTC).isoformat(),
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            "history": "tests/fixtures/demo-export.json"
            if args.quick
            else "tests/fixtures/large-export.json",
            "variant": args.variant,
            "rounds": rounds,
            "requests_per_round": per_round,
            "load_average_before": load_before,
            "reads": {},
        }
        for read, path in READS.items():
            make = _get(path, token)
            runs: dict[str, list[Run]] = {"on": [], "off": []}
            for r in range(rounds):
                order = ("on", "off") if r % 2 == 0 else ("off", "on")
                for name in order:
                    runs[name].append(
                        load(
                            servers[name][1],
                            make,
                            concurrency=1,
                            max_requests=per_round,
                            max_seconds=20,
                            warmup=10,
                        )
                    )
            on = Run.merged(runs["on"]).summary()
            off = Run.merged(runs["off"]).summary()
            entry = {
                "on": on,
                "off": off,
                "p50_ratio": round(on["p50_ms"] / off["p50_ms"], 3),
                "p95_ratio": round(on["p95_ms"] / off["p95_ms"], 3),
            }
            results["reads"][read] = entry
            log(f"{read}: on {on['p50_ms']}/{on['p95_ms']} ms, off {off['p50_ms']}/"
                f"{off['p95_ms']} ms, p50 x{entry['p50_ratio']}, p95 x{entry['p95_ratio']}")  # fmt: skip
        results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        on_log = servers["on"][2].read_text()
        results["request_log_lines"] = on_log.count('"logger":"capital_app.request"')
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        suffix = ("-quick" if args.quick else "") + (
            "" if args.variant == "all" else f"-{args.variant}"
        )
        out = RESULTS / f"observability-{stamp}{suffix}.json"
        out.write_text(json.dumps(results, indent=2) + "\n")
        log(f"wrote {out}")
    finally:
        for process, _base, _log in servers.values():
            stop(process)
        drop_database(url)
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
