"""Benchmark: how soon the dashboard and the history show their data in a real browser.

Time to first meaningful content, from the browser's navigation start
(`performance.now()` in the page) to:

- dashboard: every active source's row and the KPI cards filled in;
- history: the first page of entries with its total ("1–50 of 10,000");
- next page: from the click on "Next" to the second page on screen (keyset paging).

The app is served exactly as `make run` serves it (`capital-app run`, production
build, one port) against a fresh database holding one organization per size,
each seeded with a valid history through the real insert trigger
(tests/support/bulk_history.py: 250 sources, every tenth removed). Each sample
is a fresh browser context, so a new Reflex session resumes the sign-in and
reads everything, as a person opening the app would.

Usage:
    .venv/bin/python -m benchmarks.ui_page_load                  # 10,000 and 100,000 entries
    .venv/bin/python -m benchmarks.ui_page_load --sizes 10000 --repeat 5
Results: benchmarks/results/ui_page_load.json, summarized on stdout.
Needs PostgreSQL (TEST_DATABASE_URL's server, else the embedded one, as the tests).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

os.environ.setdefault("CAPITAL_BCRYPT_ROUNDS", "4")
os.environ.setdefault("CAPITAL_DATA_DIR", tempfile.mkdtemp(prefix="capital-bench-data-"))

from playwright.sync_api import Page, sync_playwright

from capital_app.db.engine import reset_engines
from capital_app.settings import PROJECT_ROOT, get_settings

RESULTS = PROJECT_ROOT / "benchmarks" / "results"
SERVER_LOG = RESULTS / "tmp" / "ui_page_load-server.log"
SOURCES = 250

DASHBOARD_READY = """(expected) => {
    const rows = document.querySelectorAll('tr.source-row').length;
    const total = document.querySelector('#kpi-total-value');
    return rows === expected && total && total.textContent !== '—'
        && !document.querySelector('[aria-busy="true"]') ? performance.now() : false;
}"""
HISTORY_READY = """(total) => {
    const range = document.querySelector('#history-range');
    return range && range.textContent === '1–50 of ' + total
        && document.querySelectorAll('tr.history-row').length === 50 ? performance.now() : false;
}"""
NEXT_READY = """(total) => {
    const range = document.querySelector('#history-range');
    return range && range.textContent === '51–100 of ' + total ? performance.now() : false;
}"""


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p90_ms": round(p90, 1),
        "max_ms": round(ordered[-1], 1),
        "min_ms": round(ordered[0], 1),
    }


def _measure(page: Page, base: str, active: int, total: str) -> dict[str, float]:
    page.goto(f"{base}/", wait_until="commit")
    dashboard = page.wait_for_function(DASHBOARD_READY, arg=active, timeout=60_000).json_value()
    page.goto(f"{base}/history", wait_until="commit")
    history = page.wait_for_function(HISTORY_READY, arg=total, timeout=60_000).json_value()
    clicked = page.evaluate("performance.now()")
    page.click("#history-next")
    shown = page.wait_for_function(NEXT_READY, arg=total, timeout=60_000).json_value()
    return {"dashboard": dashboard, "history": history, "next_page": shown - clicked}


def run(sizes: list[int], repeat: int) -> dict[str, Any]:
    from capital_app.db.migrations import migrate_database
    from capital_app.service import reports
    from tests.e2e.conftest import (
        CHROMIUM,
        CHROMIUM_ARGS,
        SESSION_LOCK,
        _free_port,
        _stop,
        _wait_until_serving,
        launch_app,
    )
    from tests.e2e.support import token_for
    from tests.support.bulk_history import seed_bulk_history
    from tests.support.database import create_test_database, drop_test_database
    from tests.support.factories import make_tenant

    url = create_test_database("capital_bench")
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engines()
    report: dict[str, Any] = {
        "benchmark": "ui_page_load",
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": os.getloadavg(),
        },
        "repeat": repeat,
        "sizes": {},
    }
    try:
        migrate_database()
        organizations = []
        for size in sizes:
            tenant = make_tenant(f"Bench {size}")
            started = time.monotonic()
            written = seed_bulk_history(
                tenant.org_id, tenant.editor.id, sources=SOURCES, per_source=size // SOURCES
            )
            seeded = time.monotonic() - started
            active = reports.dashboard_summary(tenant.actor("VIEWER")).summary.source_count
            organizations.append((size, tenant, written, active, seeded))
            print(f"seeded {written:,} entries in {seeded:.1f} s ({active} active sources)")
        port = _free_port()
        base = f"http://localhost:{port}"
        with SESSION_LOCK.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            SERVER_LOG.parent.mkdir(parents=True, exist_ok=True)
            server = launch_app(port, SERVER_LOG.open("wb"))
            try:
                _wait_until_serving(base, server)
                with sync_playwright() as driver:
                    browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                    for _size, tenant, written, active, seeded in organizations:
                        token = json.dumps(token_for(tenant.viewer))
                        samples: dict[str, list[float]] = {
                            "dashboard": [],
                            "history": [],
                            "next_page": [],
                        }
                        for attempt in range(repeat + 1):  # the first run warms caches
                            context = browser.new_context(viewport={"width": 1400, "height": 900})
                            context.add_init_script(
                                f"localStorage.setItem('capital_session', {token});"
                            )
                            page = context.new_page()
                            measured = _measure(page, base, active, f"{written:,}")
                            context.close()
                            if attempt:
                                for key, value in measured.items():
                                    samples[key].append(value)
                        report["sizes"][str(written)] = {
                            "entries": written,
                            "active_sources": active,
                            "seed_seconds": round(seeded, 2),
                            **{
                                key: {
                                    **_summary(values),
                                    "samples_ms": [round(v, 1) for v in values],
                                }
                                for key, values in samples.items()
                            },
                        }
                    browser.close()
            finally:
                _stop(server)
    finally:
        reset_engines()
        drop_test_database(url)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    report = run(args.sizes, args.repeat)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "ui_page_load.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"\n{'entries':>9}  {'page':<10} {'median':>8} {'p90':>8} {'max':>8}  (ms, time to content)"
    )
    for size, result in report["sizes"].items():
        for key in ("dashboard", "history", "next_page"):
            r = result[key]
            print(
                f"{int(size):>9,}  {key:<10} {r['median_ms']:>8} {r['p90_ms']:>8} {r['max_ms']:>8}"
            )
    print(f"written to {out.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
