"""Benchmark: a REST change on screen in real browsers (issue 11).

The real app (`capital-app run`, one worker), one organization with 200 active
sources, 5 Chromium sessions on the dashboard. 20 amount changes through the REST
API (`POST /api/capital-history/update-amount`), one after another, each to another
source. In every page a MutationObserver stamps (`Date.now()`, the
machine's wall clock, as Python's time.time()) the moment the changed row shows
the new amount; the time from the API's answer (stamped in Python right after
the response) to that stamp is the latency. Also: the bytes of each Socket.IO
frame the first page receives per change (its WebSocket, captured by Playwright).

Usage:  .venv/bin/python -m benchmarks.ui_live [--sources 200 --pages 5 --changes 20]
Result: benchmarks/results/ui-live.json (or ui-live-<label>.json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.realtime_mechanisms import _summary, create_database, drop_database  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
# Armed in every page before a change: a MutationObserver stamps, in the page, the
# moment the changed row shows the new amount (Date.now(): the machine's wall clock,
# the one Python's time.time() reads). It must not return a promise: Playwright's
# evaluate waits for a returned promise, so arming page 1 would block until the
# change it waits for (the stall of the first run). The stamp is read afterwards.
OBSERVER = """([name, text]) => {
  window.__liveStamp = null;
  const seen = () => [...document.querySelectorAll('tr.source-row')].some(
    (r) => r.dataset.source === name && r.textContent.includes(text));
  if (seen()) { window.__liveStamp = Date.now(); return; }
  const observer = new MutationObserver(() => {
    if (seen()) {
      window.__liveStamp = Date.now();
      observer.disconnect();
    }
  });
  observer.observe(document.body, {subtree: true, childList: true, characterData: true});
}"""
STAMPED = "() => window.__liveStamp !== null"
# Installed before the page's scripts: the arrival time (in the page, Date.now()) of
# every Socket.IO event frame, so DOM time splits into "frame arrived" (server and
# network) and "frame → DOM" (the browser applying the delta and rendering).
ARRIVALS = """(() => {
  window.__frames = [];
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        if (typeof e.data === 'string' && e.data.startsWith('42')) window.__frames.push(Date.now());
      });
    }
  };
})();"""
# A count of DOM mutation records per page (nodes added/removed, text and attribute
# changes): how much of the page a push re-rendered, independent of the load. Each
# record is also counted by where it happened (the card, and in the chart the
# recharts layer; in the table the row) and what it was (childList, text, which
# attribute), so a push's re-render can be broken down.
MUTATIONS = """(() => {
  window.__mutations = 0;
  window.__regions = {};
  window.__rows = {};
  const REGIONS = ['#sources-table', '#wacc-chart', '#activity', '#kpi-total', '#kpi-wacc',
                   '#kpi-after-tax', '#kpi-count', '#kpi-delta', '#presence', 'nav'];
  const regionOf = (el) => {
    if (!el) return 'detached';
    for (const sel of REGIONS) {
      if (!el.closest(sel)) continue;
      if (sel !== '#wacc-chart') return sel;
      const layer = el.closest('[class*="recharts-"]');
      const name = layer && [...layer.classList].find((c) => c.startsWith('recharts-'));
      return sel + (name ? ' ' + name : '');
    }
    return 'other';
  };
  const start = () => new MutationObserver((records) => {
    window.__mutations += records.length;
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      const what = r.type === 'attributes' ? 'attr:' + r.attributeName : r.type;
      const key = regionOf(el) + ' | ' + what;
      window.__regions[key] = (window.__regions[key] || 0) + 1;
      const row = el && el.closest('tr.source-row');
      if (row) window.__rows[row.dataset.source] = 1;
    }
  }).observe(document.documentElement,
             {subtree: true, childList: true, characterData: true, attributes: true});
  if (document.documentElement) start(); else addEventListener('DOMContentLoaded', start);
})();"""
# The first page's breakdown since the last call (then reset).
BREAKDOWN = """() => {
  const out = {regions: window.__regions, rows_touched: Object.keys(window.__rows).length};
  window.__regions = {};
  window.__rows = {};
  return out;
}"""
FIRST_FRAME_AFTER = "(t) => window.__frames.find((f) => f >= t) ?? null"


def _fields(payload: str | bytes) -> dict[str, int]:
    """Bytes per state var of a Socket.IO event frame (what a delta carries)."""
    try:
        _, update = json.loads(payload[2:])
    except (ValueError, TypeError):
        return {}
    return {
        var: len(json.dumps(value, separators=(",", ":")))
        for substate in (update.get("delta") or {}).values()
        for var, value in substate.items()
    }


def _main_thread(cdp: Any) -> dict[str, float]:
    """Chromium's cumulative main-thread times (seconds) of the first page."""
    wanted = {"TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration"}
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return {m["name"]: float(m["value"]) for m in metrics if m["name"] in wanted}


def _by_region(breakdowns: list[dict[str, Any]]) -> dict[str, float]:
    """Median records per change for each (region | kind), most first (0 where absent)."""
    keys = {k for b in breakdowns for k in b["regions"]}
    medians = {
        k: float(statistics.median(b["regions"].get(k, 0) for b in breakdowns)) for k in keys
    }
    return dict(sorted(((k, v) for k, v in medians.items() if v), key=lambda kv: -kv[1]))


def _post(url: str, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def _token(url: str, email: str, password: str) -> str:
    request = urllib.request.Request(
        url + "/api/auth/token",
        data=json.dumps({"email": email, "password": password}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())["accessToken"]


def run(args: argparse.Namespace) -> dict[str, Any]:
    org = create_database()
    from playwright.sync_api import sync_playwright

    from capital_app.domain.money import format_money
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, launch_app
    from tests.e2e.support import sign_in, wait_ready
    from tests.support.factories import PASSWORD, add_source, make_tenant

    tenant = make_tenant("UI live")
    ids = [
        add_source(tenant.actor(), f"Source {i:04d}", 1_000_000_00 + i * 100, "0.1", days=90)
        for i in range(args.sources)
    ]
    from benchmarks.realtime_mechanisms import free_port

    port = free_port()
    log = (RESULTS / "tmp" / "server-ui-live.log").resolve()
    log.parent.mkdir(parents=True, exist_ok=True)
    server = launch_app(
        port,
        log.open("wb"),
        web_dir=RESULTS / "tmp" / ".web-ui-live",
        extra_env={"DATABASE_URL": org.database_url},
    )
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url + "/api/health", timeout=5).read()
                urllib.request.urlopen(url + "/", timeout=5).read()
                break
            except OSError:
                time.sleep(1)
        api_token = _token(url, tenant.editor.email, PASSWORD)
        latencies: list[float] = []
        frames_per_change: list[float] = []
        fields_per_change: list[dict[str, int]] = []
        to_frame: list[float] = []
        mutations: list[float] = []
        main_thread: dict[str, list[float]] = {}
        frame_to_dom: list[float] = []
        bytes_per_change: list[float] = []
        breakdowns: list[dict[str, Any]] = []
        load_before = [round(x, 2) for x in os.getloadavg()]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pages = []
            frames: list[int] = []
            fields: list[dict[str, int]] = []
            for i in range(args.pages):
                ctx = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
                ctx.add_init_script(ARRIVALS)
                ctx.add_init_script(MUTATIONS)
                page = ctx.new_page()
                if i == 0:
                    page.on(
                        "websocket",
                        lambda ws: ws.on(
                            "framereceived",
                            lambda payload: (
                                (frames.append(len(payload)), fields.append(_fields(payload)))
                                if str(payload).startswith("42")
                                else None
                            ),
                        ),
                    )
                sign_in(page, tenant.viewer)
                wait_ready(page)
                page.wait_for_selector("tr.source-row", timeout=60_000)
                pages.append(page)
            cdp = pages[0].context.new_cdp_session(pages[0])
            cdp.send("Performance.enable")
            time.sleep(2)
            for n in range(args.changes):
                index = (n * 37) % len(ids)
                name = f"Source {index:04d}"
                cents = 5_000_000_00 + n * 100 + index
                text = format_money(cents, "KES")
                counted = [page.evaluate("window.__mutations") for page in pages]
                pages[0].evaluate(BREAKDOWN)  # what happened before this change: not counted
                metrics_before = _main_thread(cdp)
                for page in pages:
                    page.evaluate(OBSERVER, [name, text])
                before = len(frames)
                _post(
                    url,
                    "/api/capital-history/update-amount",
                    api_token,
                    {
                        "sourceId": ids[index],
                        "availableCents": cents,
                        "effectiveDate": datetime.now(UTC).date().isoformat(),
                    },
                )
                answered = time.time() * 1000
                for page in pages:
                    page.wait_for_function(STAMPED, timeout=30_000)
                    stamped = float(page.evaluate("window.__liveStamp"))
                    latencies.append(stamped - answered)
                    arrived = page.evaluate(FIRST_FRAME_AFTER, answered - 50)
                    if arrived is not None:
                        to_frame.append(float(arrived) - answered)
                        frame_to_dom.append(stamped - float(arrived))
                time.sleep(0.3)
                mutations.extend(
                    float(page.evaluate("window.__mutations") - c)
                    for page, c in zip(pages, counted, strict=True)
                )
                breakdowns.append(pages[0].evaluate(BREAKDOWN))
                metrics_after = _main_thread(cdp)
                for key, value in metrics_after.items():
                    main_thread.setdefault(key, []).append(1000 * (value - metrics_before[key]))
                frames_per_change.extend(float(f) for f in frames[before:])
                fields_per_change.append(
                    {k: v for f in fields[before:] for k, v in f.items() if v > 200}
                )
                bytes_per_change.append(float(sum(frames[before:])))
            browser.close()
        return {
            "benchmark": "ui-live",
            "label": args.label,
            "sources": args.sources,
            "pages": args.pages,
            "changes": args.changes,
            "api_answer_to_dom_ms": _summary(latencies),
            "api_answer_to_frame_ms": _summary(to_frame),
            "frame_to_dom_ms": _summary(frame_to_dom),
            "dom_mutation_records_per_page_and_change": _summary(mutations),
            "first_page_main_thread_ms_per_change": {
                k: _summary(v) for k, v in main_thread.items()
            },
            "dom_mutations_by_region_first_page_median": _by_region(breakdowns),
            "source_rows_touched_first_page": _summary(
                [float(b["rows_touched"]) for b in breakdowns]
            ),
            "dom_mutations_by_region_first_page": breakdowns,
            "large_fields_per_change_first_page": fields_per_change,
            "frame_bytes_first_page": _summary(frames_per_change),
            "bytes_per_change_first_page": _summary(bytes_per_change),
            "frame_bytes_all": frames_per_change,
            "load_average_start": load_before,
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except Exception:
            server.kill()
        drop_database(org.database_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    result = run(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    label = f"-{args.label}" if args.label else ""
    path = RESULTS / f"ui-live{label}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
