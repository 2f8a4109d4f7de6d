"""Backup / restore / verify benchmark: one organization of 100,000 history entries.

Each step is its own `python -m capital_app` process, timed from start to exit
(process start-up included, as an operator sees it):

- `backup --organization` (COPY of every tenant table) and `backup` (pg_dump of the
  whole database: this organization plus nothing else),
- `restore` of each into a fresh database (the one-organization path migrates it
  first), then `verify` (re-fold 100,000 entries) on the restored database.

    .venv/bin/python benchmarks/backup.py                   # 100,000 entries, 3 rounds
    .venv/bin/python benchmarks/backup.py --sources 40 --per-source 250 --rounds 1

Database: fresh databases on BENCH_DATABASE_URL or TEST_DATABASE_URL's server (dropped
afterwards), else the embedded server. Result: benchmarks/results/backup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))

if os.environ.get("BENCH_DATABASE_URL"):
    os.environ["TEST_DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
os.environ.setdefault("CAPITAL_BCRYPT_ROUNDS", "4")
os.environ.setdefault("CAPITAL_DATA_DIR", tempfile.mkdtemp(prefix="capital-bench-"))


def _cli(url: str, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "capital_app", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": url},
        timeout=1800,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"capital-app {' '.join(args)} failed: {done.stderr}")
    return elapsed, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=400)
    parser.add_argument("--per-source", type=int, default=250)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from capital_app.db.engine import reset_engines
    from capital_app.settings import get_settings
    from tests.support.bulk_history import seed_bulk_history
    from tests.support.database import create_test_database, drop_test_database
    from tests.support.factories import make_tenant

    load_before = os.getloadavg()
    source = create_test_database("capital_bench_backup")
    created: list[str] = [source]
    try:
        os.environ["DATABASE_URL"] = source
        get_settings.cache_clear()
        reset_engines()
        _cli(source, "migrate")
        tenant = make_tenant("Bench")
        entries = seed_bulk_history(
            tenant.org_id, tenant.admin.id, sources=args.sources, per_source=args.per_source
        )
        steps: dict[str, list[float]] = {}
        sizes: dict[str, int] = {}
        with tempfile.TemporaryDirectory(prefix="capital-bench-backup-") as work:
            for _ in range(args.rounds):
                for kind, extra in (
                    ("organization", ["--organization", str(tenant.org_id)]),
                    ("database", []),
                ):
                    archive = Path(work) / f"{kind}.tar.gz"
                    took, _ = _cli(source, "backup", "-o", str(archive), *extra)
                    steps.setdefault(f"backup {kind}", []).append(took)
                    sizes[kind] = archive.stat().st_size
                    target = create_test_database("capital_bench_restore")
                    created.append(target)
                    took, _ = _cli(target, "restore", str(archive))
                    steps.setdefault(f"restore {kind}", []).append(took)
                    took, _ = _cli(target, "verify")
                    steps.setdefault(f"verify after {kind} restore", []).append(took)
                    drop_test_database(target)
                    created.remove(target)
            took, _ = _cli(source, "verify")
            steps.setdefault("verify source", []).append(took)
        load_after = os.getloadavg()
    finally:
        for url in created:
            drop_test_database(url)
    medians = {name: round(statistics.median(values), 3) for name, values in steps.items()}
    result = {
        "benchmark": "backup",
        "entries": entries,
        "sources": args.sources,
        "rounds": args.rounds,
        "seconds_median": medians,
        "seconds_all": {k: [round(v, 3) for v in vs] for k, vs in steps.items()},
        "archive_bytes": sizes,
        "ratios": {
            "restore_org_over_backup_org": round(
                medians["restore organization"] / medians["backup organization"], 2
            ),
            "backup_org_over_backup_database": round(
                medians["backup organization"] / medians["backup database"], 2
            ),
        },
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "backup.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
