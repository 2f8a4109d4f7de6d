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

Besides the times, which the machine's load inflates, each sample records what
does not depend on it much (issue 11): Chromium's main-thread time for the page
load (CDP `Performance.getMetrics`: script, layout, style, all tasks), the
Socket.IO frames the page received until its content showed (count, bytes, and
when each arrived), when the page's JavaScript had loaded and the first row
showed, and the bytes of JavaScript fetched. `--profile` adds one CPU profile
per page (CDP `Profiler`), its self time summed by script file and function.

Usage:
    .venv/bin/python -m benchmarks.ui_page_load                  # 10,000 and 100,000 entries
    .venv/bin/python -m benchmarks.ui_page_load --sizes 10000 --repeat 5
    .venv/bin/python -m benchmarks.ui_page_load --sizes 100000 --label before --profile
Results: benchmarks/results/ui_page_load.json (or ui_page_load-<label>.json), summarized on stdout.
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


# Installed before the page's scripts (every document of a sample's context): the
# arrival (performance.now()) and size of each Socket.IO event frame, and when the
# first dashboard or history row entered the DOM.
PROBE = """(() => {
  const bench = (window.__bench = {frames: [], firstRow: null, wsCreated: null, wsOpen: null});
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      bench.wsCreated ??= performance.now();
      this.addEventListener('open', () => { bench.wsOpen ??= performance.now(); });
      this.addEventListener('message', (e) => {
        if (typeof e.data === 'string' && e.data.startsWith('42'))
          bench.frames.push([performance.now(), e.data.length]);
      });
    }
  };
  const watch = new MutationObserver(() => {
    if (document.querySelector('tr.source-row, tr.history-row')) {
      bench.firstRow = performance.now();
      watch.disconnect();
    }
  });
  watch.observe(document, {subtree: true, childList: true});
})();"""
# Read once the page's content is on screen: the probe's records, the navigation's
# milestones and the JavaScript fetched (a fresh context: nothing was cached).
PHASES = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const scripts = performance.getEntriesByType('resource').filter((e) => /\\.m?js(\\?|$)/.test(e.name));
  const bench = window.__bench;
  return {
    response_end_ms: nav.responseEnd,
    dom_content_loaded_ms: nav.domContentLoadedEventEnd,
    load_event_ms: nav.loadEventEnd,
    socket_created_ms: bench.wsCreated,
    socket_open_ms: bench.wsOpen,
    first_frame_ms: bench.frames.length ? bench.frames[0][0] : null,
    frames: bench.frames.map(([t, n]) => [Math.round(t), n]),
    frame_bytes: bench.frames.reduce((sum, [, n]) => sum + n, 0),
    first_row_ms: bench.firstRow,
    script_files: scripts.length,
    script_bytes_transferred: scripts.reduce((sum, e) => sum + e.transferSize, 0),
    script_bytes_decoded: scripts.reduce((sum, e) => sum + e.decodedBodySize, 0),
  };
}"""
METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def _main_thread(cdp: Any) -> dict[str, float]:
    """Chromium's cumulative main-thread times of the page's renderer, in ms."""
    values = cdp.send("Performance.getMetrics")["metrics"]
    return {m["name"]: 1000 * float(m["value"]) for m in values if m["name"] in METRICS}


def _spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {f"{name}_ms": round(after[name] - before[name], 1) for name in METRICS}


def _self_times(profile: dict[str, Any], top: int = 25) -> dict[str, Any]:
    """A CDP CPU profile's self time (ms) by script file and by function (file:line)."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    spent: dict[int, float] = {}
    for node_id, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        spent[node_id] = spent.get(node_id, 0.0) + delta / 1000
    by_file: dict[str, float] = {}
    by_function: dict[str, float] = {}
    for node_id, ms in spent.items():
        frame = nodes[node_id]["callFrame"]
        file = frame["url"].rsplit("/", 1)[-1] or f"({frame['functionName'] or 'native'})"
        name = f"{frame['functionName'] or '(anonymous)'} {file}:{frame['lineNumber'] + 1}"
        by_file[file] = by_file.get(file, 0.0) + ms
        by_function[name] = by_function.get(name, 0.0) + ms

    def order(d: dict[str, float]) -> dict[str, float]:
        ranked = sorted(((k, round(v, 1)) for k, v in d.items()), key=lambda kv: -kv[1])
        return dict(ranked[:top])

    return {
        "total_ms": round(sum(spent.values()), 1),
        "by_file": order(by_file),
        "by_function": order(by_function),
    }


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p90_ms": round(p90, 1),
        "max_ms": round(ordered[-1], 1),
        "min_ms": round(ordered[0], 1),
    }


def _measure(
    page: Page, cdp: Any, base: str, active: int, total: str, profile: bool = False
) -> tuple[dict[str, float], dict[str, Any]]:
    """(times, details): time to content per page, and what each page load cost."""
    details: dict[str, Any] = {}

    def load(name: str, path: str, ready: str, arg: Any) -> float:
        if profile:
            cdp.send("Profiler.start")
        page.goto(f"{base}{path}", wait_until="commit")
        # Chromium resets these counters when a new document commits: count from there.
        before = _main_thread(cdp)
        shown = page.wait_for_function(ready, arg=arg, timeout=60_000).json_value()
        if profile:
            details[f"{name}_profile"] = _self_times(cdp.send("Profiler.stop")["profile"])
        details[name] = {**_spent(before, _main_thread(cdp)), **page.evaluate(PHASES)}
        return shown

    dashboard = load("dashboard", "/", DASHBOARD_READY, active)
    history = load("history", "/history", HISTORY_READY, total)
    clicked = page.evaluate("performance.now()")
    page.click("#history-next")
    shown = page.wait_for_function(NEXT_READY, arg=total, timeout=60_000).json_value()
    return {"dashboard": dashboard, "history": history, "next_page": shown - clicked}, details


def _new_page(browser: Any, token: str) -> tuple[Any, Page, Any]:
    """A fresh context (a new Reflex session resuming the sign-in), its page and CDP session."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(f"localStorage.setItem('capital_session', {token});")
    context.add_init_script(PROBE)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    return context, page, cdp


def _details_summary(details: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of each figure over the samples, per page."""
    out: dict[str, Any] = {}
    for page in ("dashboard", "history"):
        rows = [d[page] for d in details if page in d]
        numbers = {
            k
            for row in rows
            for k, v in row.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        out[page] = {
            k: round(statistics.median(r[k] for r in rows if r.get(k) is not None), 1)
            for k in sorted(numbers)
            if any(r.get(k) is not None for r in rows)
        }
        out[page]["frame_count"] = statistics.median(len(r["frames"]) for r in rows)
    return out


def run(sizes: list[int], repeat: int, label: str = "", profile: bool = False) -> dict[str, Any]:
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
        "label": label,
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
                        details: list[dict[str, Any]] = []
                        for attempt in range(repeat + 1):  # the first run warms caches
                            context, page, cdp = _new_page(browser, token)
                            measured, detail = _measure(page, cdp, base, active, f"{written:,}")
                            context.close()
                            if attempt:
                                details.append(detail)
                                for key, value in measured.items():
                                    samples[key].append(value)
                        profiled: dict[str, Any] = {}
                        if profile:  # one more, profiled (not among the samples)
                            context, page, cdp = _new_page(browser, token)
                            cdp.send("Profiler.enable")
                            cdp.send("Profiler.setSamplingInterval", {"interval": 200})
                            _, profiled = _measure(page, cdp, base, active, f"{written:,}", True)
                            context.close()
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
                            "details_median": _details_summary(details),
                            "details": details,
                            **(
                                {
                                    "profile": {
                                        k: v for k, v in profiled.items() if k.endswith("profile")
                                    }
                                }
                                if profile
                                else {}
                            ),
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
    parser.add_argument("--label", default="", help="results/ui_page_load-<label>.json")
    parser.add_argument("--profile", action="store_true", help="one CPU profile per page")
    args = parser.parse_args(argv)
    report = run(args.sizes, args.repeat, args.label, args.profile)
    report["machine"]["load_average_end"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / (f"ui_page_load-{args.label}.json" if args.label else "ui_page_load.json")
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
    for size, result in report["sizes"].items():
        for key, figures in result["details_median"].items():
            shown = ", ".join(f"{k} {v}" for k, v in figures.items())
            print(f"{int(size):>9,}  {key:<10} median: {shown}")
    print(
        f"load average {report['machine']['load_average']} -> {report['machine']['load_average_end']}"
    )
    print(f"written to {out.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
