"""The source reads' SQL before and after migration 0014, on one database (issue 12).

    .venv/bin/python -m benchmarks.source_terms_sql --before-tree /tmp/main-tree [--url URL]

Before 0014 a source's currency and kind were read from its ADDED history entry (a
probe per source, or every ADDED entry of the organization); after it, from the
projection row. Both statements run on the same data, as the runtime role in a tenant
transaction, interleaved (old, new, old, new …) so load changes hit both alike: the
statements of the before tree are loaded from its history_repository.py. Also prints
EXPLAIN (ANALYZE, BUFFERS) of each. Without --url it creates a database, seeds
1,000,000 entries / 1,000 sources as benchmarks/api.py does, and drops it afterwards.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

from sqlalchemy import text

from benchmarks.api import RESULTS, create_database, drop_database, log, seed_org

_ALL_ADDED_TERMS = (
    "SELECT source_id, currency, kind FROM capital_history"
    " WHERE organization_id = :org AND action = 'ADDED'"
)
_ALL_PROJECTION_TERMS = (
    "SELECT source_id, currency, kind FROM capital_source WHERE organization_id = :org"
)


def _load(tree: Path) -> ModuleType:
    path = tree / "capital_app" / "db" / "history_repository.py"
    spec = importlib.util.spec_from_file_location("before_history_repository", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _sql(value: Any) -> str:
    return value if isinstance(value, str) else str(value.text)


def statements(before: ModuleType, after: ModuleType) -> dict[str, tuple[str, str]]:
    return {
        "active sources now": (before.CURRENT_SOURCES_SQL, after.CURRENT_SOURCES_SQL),
        "active sources as of a year ago": (
            _sql(before._SOURCES_AS_OF),
            _sql(after._SOURCES_AS_OF),
        ),
        "every source's terms (dashboard, history page, source list)": (
            _ALL_ADDED_TERMS,
            _ALL_PROJECTION_TERMS,
        ),
        "series buckets, one point (dashboard's earlier WACC)": (
            _sql(before._SERIES_BUCKETS),
            _sql(after._SERIES_BUCKETS),
        ),
    }


def _org_of(url: str) -> UUID:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT organization_id FROM capital_source GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    assert row is not None
    return UUID(str(row[0]))


def measure(org: UUID, pairs: dict[str, tuple[str, str]], runs: int) -> dict[str, Any]:
    from capital_app.db.unit_of_work import tenant_transaction

    now = datetime.now(UTC)
    params = {
        "org": org,
        "as_of": now - timedelta(days=365),
        "known_at": now,
        "points": [now - timedelta(days=30)],
    }
    found: dict[str, Any] = {}
    for name, (old, new) in pairs.items():
        samples: dict[str, list[float]] = {"before": [], "after": []}
        plans: dict[str, str] = {}
        rows: dict[str, int] = {}
        with tenant_transaction(org, read_only=True) as conn:
            for label, sql in (("before", old), ("after", new)):
                plan = conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}"), params).scalars()
                plans[label] = "\n".join(plan)
            for i in range(runs + 3):
                for label, sql in (("before", old), ("after", new)):
                    started = time.perf_counter()
                    count = len(conn.execute(text(sql), params).all())
                    if i >= 3:
                        samples[label].append((time.perf_counter() - started) * 1000)
                    rows[label] = count
        assert rows["before"] == rows["after"], (name, rows)
        found[name] = {
            label: {
                "min_ms": round(min(s), 2),
                "p50_ms": round(statistics.median(s), 2),
                "p95_ms": round(sorted(s)[int(0.95 * len(s)) - 1], 2),
                "rows": rows[label],
            }
            for label, s in samples.items()
        }
        found[name]["plans"] = plans
        log(f"{name}: before {found[name]['before']} after {found[name]['after']}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-tree", required=True, help="e.g. git archive main, unpacked")
    parser.add_argument("--url", help="an already seeded database (else seed 1m, then drop)")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--keep-db", action="store_true", help="keep the seeded database")
    args = parser.parse_args()
    from capital_app.db import history_repository as after
    from capital_app.db.engine import reset_engines
    from capital_app.db.migrations import migrate_database
    from capital_app.settings import get_settings

    url, created = args.url, False
    if url is None:
        url, created = create_database(), True
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("CAPITAL_DATA_DIR", tempfile.mkdtemp(prefix="capital-terms-sql-"))
    get_settings.cache_clear()
    reset_engines()
    try:
        if created:
            migrate_database()
            seed_org(url, "1m", 1_000_000, 1_000)
        load = os.getloadavg()
        result = {
            "started_at": datetime.now(UTC).isoformat(),
            "load_average_before": load,
            "before_tree": args.before_tree,
            "reads": measure(
                _org_of(url), statements(_load(Path(args.before_tree)), after), args.runs
            ),
            "load_average_after": os.getloadavg(),
        }
    finally:
        reset_engines()
        if created and not args.keep_db:
            drop_database(url)
        elif created:
            log(f"kept {url}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = RESULTS / f"source-terms-sql-{stamp}.json"
    target.write_text(json.dumps(result, indent=2, default=str) + "\n")
    log(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
