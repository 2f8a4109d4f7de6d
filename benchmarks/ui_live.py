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
        bytes_per_change: list[float] = []
        load_before = [round(x, 2) for x in os.getloadavg()]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pages = []
            frames: list[int] = []
            for i in range(args.pages):
                ctx = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
                page = ctx.new_page()
                if i == 0:
                    page.on(
                        "websocket",
                        lambda ws: ws.on(
                            "framereceived",
                            lambda payload: (
                                frames.append(len(payload))
                                if str(payload).startswith("42")
                                else None
                            ),
                        ),
                    )
                sign_in(page, tenant.viewer)
                wait_ready(page)
                page.wait_for_selector("tr.source-row", timeout=60_000)
                pages.append(page)
            time.sleep(2)
            for n in range(args.changes):
                index = (n * 37) % len(ids)
                name = f"Source {index:04d}"
                cents = 5_000_000_00 + n * 100 + index
                text = format_money(cents, "KES")
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
                    latencies.append(float(page.evaluate("window.__liveStamp")) - answered)
                time.sleep(0.3)
                frames_per_change.extend(float(f) for f in frames[before:])
                bytes_per_change.append(float(sum(frames[before:])))
            browser.close()
        return {
            "benchmark": "ui-live",
            "sources": args.sources,
            "pages": args.pages,
            "changes": args.changes,
            "api_answer_to_dom_ms": _summary(latencies),
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
