"""Fault runner (benchmark-style, not a test): the app's API under faults, with figures.

    .venv/bin/python -m benchmarks.faults                 # every scenario below
    .venv/bin/python -m benchmarks.faults kill9 pg-restart

Scenarios, each against a real Granian server of the API app (tests/support/api_server.py):

- `kill9`: 16 writers (one source each, `update-amount` with an Idempotency-Key, in a
  loop) while the server is killed with SIGKILL mid-write; a new server starts on the
  same database. Checks: every acknowledged write (a 201) is stored with the sequence
  and amount it was acknowledged with, every source's entries have sequences 1..n
  without a gap (no half-written entry), and the projection equals a rebuild
  (`rebuild_projections` corrects nothing).
- `pg-restart`: a PRIVATE PostgreSQL (initdb in a temp folder, its own port: the
  machine's shared server is never touched) restarted (`pg_ctl restart -m fast`) while
  16 writers and 5 readers (`GET /api/capital-history?limit=…`, their pages) work.
  Checks: the answers during the outage are 201/200 or 503 only (no other 5xx),
  every acknowledged write is stored, writers succeed again after the restart, and
  every reader's last page after recovery equals the final state.
- `live` / `live-redis-aof`: the whole app (two workers, a private Redis without / with
  an append-only file) with 5 signed-in dashboards and 16 writers; PostgreSQL restarted,
  then Redis. Checks: no 5xx but 503, nothing acknowledged lost, every open dashboard
  reaches the final revision, an action on each afterwards finds it still signed in
  (required with the append-only file; without it, reported), reopened pages show the
  final state.
- `browser-redis`: Chromium signed in on the whole app (two workers, Redis without
  persistence); Redis restarted, then a click to History and a reload: still signed in?
- `slow-readers`: see benchmarks/slow_readers.py (run apart, it compares two variants).

Prints and writes benchmarks/results/faults-<timestamp>.json with the load average.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil

RESULTS = Path(__file__).parent / "results"
WRITERS = 16
READERS = 5
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _when(days_ago: float = 0.0) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


class Writer(threading.Thread):
    """One source of its own; `update-amount` in a loop, each with an idempotency key
    (retried with the same key after a transport error, as a careful client would)."""

    def __init__(self, base: list[str], token: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.base, self.token, self.stop = base, token, stop
        self.acknowledged: list[tuple[int, int]] = []  # (sequence, cents)
        self.statuses: Counter[str] = Counter()
        self.source_id: str | None = None
        self.after_fault_ok = 0
        self.fault_seen = threading.Event()
        self.problems: list[str] = []

    def _post(self, path: str, body: dict, key: str) -> httpx.Response | None:
        try:
            answer = httpx.post(
                f"{self.base[0]}/api/capital-history/{path}",
                json=body,
                headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": key},
                timeout=10,
            )
        except httpx.TransportError as error:
            self.statuses[type(error).__name__] += 1
            return None
        self.statuses[str(answer.status_code)] += 1
        if answer.status_code == 422 and not self.problems:
            self.problems.append(answer.text[:300])
        return answer

    def run(self) -> None:
        name = f"Writer {uuid.uuid4().hex[:8]}"
        body = {
            "source": {"name": name, "annualRate": 0.1, "availableCents": 100},
            "effectiveDate": _when(30),
        }
        while self.source_id is None and not self.stop.is_set():
            answer = self._post("add-source", body, f"add-{name.split()[1]}")
            if answer is not None and answer.status_code == 201:
                entry = answer.json()["entry"]
                self.source_id = entry["sourceId"]
                self.acknowledged.append((entry["sequence"], entry["availableCents"]))
            else:
                time.sleep(0.2)
        cents = 100
        while not self.stop.is_set():
            cents += 1
            key = uuid.uuid4().hex
            body = {"sourceId": self.source_id, "availableCents": cents, "effectiveDate": _when()}
            answer = self._post("update-amount", body, key)
            while answer is None and not self.stop.is_set():  # same key: at most once
                time.sleep(0.2)
                answer = self._post("update-amount", body, key)
            if answer is not None and answer.status_code == 201:
                entry = answer.json()["entry"]
                self.acknowledged.append((entry["sequence"], entry["availableCents"]))
                if self.fault_seen.is_set():
                    self.after_fault_ok += 1
            else:
                time.sleep(0.1)


def _stored(url: str, org_id: uuid.UUID) -> dict[str, list[tuple[int, int]]]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT source_id, sequence, available_cents FROM capital_history"
            " WHERE organization_id = %s ORDER BY source_id, sequence",
            (org_id,),
        ).fetchall()
    out: dict[str, list[tuple[int, int]]] = {}
    for source, sequence, cents in rows:
        out.setdefault(source, []).append((sequence, cents))
    return out


def _check_writes(url: str, org_id: uuid.UUID, writers: list[Writer]) -> dict:
    stored = _stored(url, org_id)
    lost = 0
    gaps = 0
    for w in writers:
        rows = stored.get(w.source_id or "", [])
        have = set(rows)
        lost += sum(1 for ack in w.acknowledged if ack not in have)
        gaps += int([s for s, _ in rows] != list(range(1, len(rows) + 1)))
    return {
        "acknowledged": sum(len(w.acknowledged) for w in writers),
        "stored": sum(len(v) for v in stored.values()),
        "acknowledged_lost": lost,
        "sources_with_sequence_gaps": gaps,
    }


def _statuses(writers: list[Writer]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for w in writers:
        total.update(w.statuses)
    return dict(sorted(total.items()))


def _token(base: str, email: str, password: str) -> str:
    for _ in range(100):
        try:
            answer = httpx.post(
                f"{base}/api/auth/token", json={"email": email, "password": password}, timeout=10
            )
            if answer.status_code == 200:
                return answer.json()["accessToken"]
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("no token")


def _setup(prefix: str):
    from capital_app.db.engine import reset_engines
    from capital_app.db.migrations import migrate_database
    from capital_app.settings import get_settings
    from tests.support.database import create_test_database
    from tests.support.factories import make_tenant

    url = create_test_database(prefix)
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engines()
    migrate_database()
    return url, make_tenant("Faults")


def scenario_kill9() -> dict:
    from capital_app.db.engine import reset_engines
    from capital_app.service.projections import rebuild_projections
    from tests.support.api_server import start_api_server
    from tests.support.database import drop_test_database
    from tests.support.factories import PASSWORD

    url, tenant = _setup("capital_faults_kill9")
    server = start_api_server()
    second = None
    try:
        base = [server.base_url]
        token = _token(server.base_url, tenant.editor.email, PASSWORD)
        stop = threading.Event()
        writers = [Writer(base, token, stop) for _ in range(WRITERS)]
        for w in writers:
            w.start()
        time.sleep(4)
        before_kill = sum(len(w.acknowledged) for w in writers)
        # Mid-write (16 writers in flight): SIGKILL to Granian's worker, which runs the
        # app, and to its supervisor (which would otherwise respawn the worker).
        tree = psutil.Process(server.process.pid)
        for process in [*tree.children(recursive=True), tree]:
            process.send_signal(signal.SIGKILL)
        server.process.wait()
        killed_at = time.monotonic()
        second = start_api_server()
        base[0] = second.base_url
        restarted_after = round(time.monotonic() - killed_at, 2)
        for w in writers:
            w.fault_seen.set()
        time.sleep(3)
        stop.set()
        for w in writers:
            w.join(timeout=15)
        second.stop()
        checks = _check_writes(url, tenant.org_id, writers)
        report = rebuild_projections(tenant.org_id)
        return {
            "writers": WRITERS,
            "acknowledged_before_kill": before_kill,
            "server_restarted_after_s": restarted_after,
            "writer_answers": _statuses(writers),
            "first_problems": [p for w in writers for p in w.problems][:2],
            "writes_acknowledged_after_restart": sum(w.after_fault_ok for w in writers),
            **checks,
            "projection_rows_corrected_by_rebuild": report.corrected,
            "passed": checks["acknowledged_lost"] == 0
            and checks["sources_with_sequence_gaps"] == 0
            and report.corrected == 0
            and before_kill > 0
            and sum(w.after_fault_ok for w in writers) > 0,
        }
    finally:
        server.stop()
        if second is not None:
            second.stop()
        reset_engines()
        drop_test_database(url)


class PrivatePostgres:
    """initdb + pg_ctl on a free port in a temp folder, as the `postgres` user when
    run as root (initdb refuses root). Never the machine's shared server."""

    def __init__(self) -> None:
        from tests.support.api_server import free_port

        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="capital-faults-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "pg.log"
        shutil.chown(self.dir, "postgres") if os.geteuid() == 0 else None
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self._pg_ctl("start")

    def _prefix(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._prefix(), str(PG_BIN / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
            *extra, action,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def restart(self) -> None:
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        try:
            self._pg_ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class Reader(threading.Thread):
    """A client keeping the history page open: re-reads its newest page every 0.2 s."""

    def __init__(self, base: list[str], token: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.base, self.token, self.stop = base, token, stop
        self.statuses: Counter[str] = Counter()
        self.last: list[dict] = []

    def read_all(self) -> list[dict]:
        entries: list[dict] = []
        url = f"{self.base[0]}/api/capital-history?limit=1000"
        with httpx.Client(headers={"Authorization": f"Bearer {self.token}"}, timeout=10) as c:
            while url:
                answer = c.get(url)
                self.statuses[str(answer.status_code)] += 1
                answer.raise_for_status()
                entries += answer.json()
                url = answer.links.get("next", {}).get("url")
        return entries

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.last = self.read_all()
            except httpx.TransportError as error:
                self.statuses[type(error).__name__] += 1
            except httpx.HTTPStatusError:
                pass
            self.stop.wait(0.2)


def scenario_pg_restart() -> dict:
    from capital_app.db.engine import reset_engines
    from tests.support.api_server import start_api_server
    from tests.support.factories import PASSWORD

    pg = PrivatePostgres()
    saved = os.environ.get("TEST_DATABASE_URL")
    os.environ["TEST_DATABASE_URL"] = pg.url
    server = None
    try:
        url, tenant = _setup("capital_faults_pg")
        server = start_api_server()
        base = [server.base_url]
        editor = _token(server.base_url, tenant.editor.email, PASSWORD)
        viewer = _token(server.base_url, tenant.viewer.email, PASSWORD)
        stop, stop_readers = threading.Event(), threading.Event()
        writers = [Writer(base, editor, stop) for _ in range(WRITERS)]
        readers = [Reader(base, viewer, stop_readers) for _ in range(READERS)]
        for t in [*writers, *readers]:
            t.start()
        time.sleep(4)
        started = time.monotonic()
        reset_engines()  # this process's own engine would hold dead connections too
        pg.restart()
        outage = round(time.monotonic() - started, 2)
        for w in writers:
            w.fault_seen.set()
        time.sleep(5)
        stop.set()
        for w in writers:
            w.join(timeout=15)
        time.sleep(1)  # the readers' next round sees the final state
        stop_readers.set()
        for r in readers:
            r.join(timeout=15)
        checks = _check_writes(url, tenant.org_id, writers)
        final = readers[0].read_all()
        final_ids = [e["id"] for e in final]
        pages_final = sum(1 for r in readers if [e["id"] for e in r.last] == final_ids)
        answers: Counter[str] = Counter()
        for t in [*writers, *readers]:
            answers.update(t.statuses)
        other_5xx = sum(n for s, n in answers.items() if s.startswith("5") and s != "503")
        return {
            "writers": WRITERS,
            "readers": READERS,
            "pg_restart_seconds": outage,
            "answers": dict(sorted(answers.items())),
            "other_5xx": other_5xx,
            "writes_acknowledged_after_restart": sum(w.after_fault_ok for w in writers),
            **checks,
            "readers_showing_final_state": f"{pages_final}/{READERS}",
            "final_entries": len(final),
            "passed": other_5xx == 0
            and checks["acknowledged_lost"] == 0
            and checks["sources_with_sequence_gaps"] == 0
            and pages_final == READERS
            and sum(w.after_fault_ok for w in writers) > 0,
        }
    finally:
        if server is not None:
            server.stop()
        reset_engines()
        if saved is None:
            os.environ.pop("TEST_DATABASE_URL", None)
        else:
            os.environ["TEST_DATABASE_URL"] = saved
        pg.stop()


class PrivateRedis:
    """`redis-server --port N --save ''` on a free port (never the machine's shared 6379);
    with `persist`, an append-only file in a temp folder (fsync every second), so a
    restart keeps the sessions' state."""

    def __init__(self, persist: bool = False) -> None:
        from tests.support.api_server import free_port

        self.port = free_port()
        self.persist = persist
        self.dir = Path(tempfile.mkdtemp(prefix="capital-faults-redis-"))
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        aof = ["--appendonly", "yes", "--appendfsync", "everysec"] if self.persist else []
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--dir", str(self.dir),
             "--appendonly", "no", *aof],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)

    def restart(self) -> None:
        self.stop(keep_files=True)
        self.start()

    def stop(self, keep_files: bool = False) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        if not keep_files:
            shutil.rmtree(self.dir, ignore_errors=True)


def scenario_live(persist_redis: bool = False) -> dict:
    """The whole app (`capital-app run`, two workers, Redis) with 5 signed-in dashboards
    (benchmarks/reflex_client.py) and 16 REST writers: the private PostgreSQL restarted,
    then the private Redis restarted. Each dashboard must end on the organization's
    final revision, live or after reopening the page (a reload)."""
    import asyncio

    import psycopg

    from benchmarks import realtime
    from capital_app.db.engine import reset_engines
    from tests.support.factories import PASSWORD

    pg, redis = PrivatePostgres(), PrivateRedis(persist=persist_redis)
    saved = os.environ.get("TEST_DATABASE_URL")
    os.environ["TEST_DATABASE_URL"] = pg.url
    server = None
    try:
        url, tenant = _setup("capital_faults_live")
        server = realtime.start_server(2, url, redis.url)
        base = [server.url]
        editor = _token(server.url, tenant.editor.email, PASSWORD)

        async def run() -> dict:
            boards = [
                await realtime.open_dashboard(server, tenant.viewer.email, PASSWORD)
                for _ in range(READERS)
            ]
            stop = threading.Event()
            writers = [Writer(base, editor, stop) for _ in range(WRITERS)]
            for w in writers:
                w.start()
            await asyncio.sleep(4)
            reset_engines()
            await asyncio.to_thread(pg.restart)
            for w in writers:
                w.fault_seen.set()
            await asyncio.sleep(5)
            await asyncio.to_thread(redis.restart)
            await asyncio.sleep(5)
            stop.set()
            for w in writers:
                await asyncio.to_thread(w.join, 15)
            with psycopg.connect(url) as conn:
                final = conn.execute(
                    "SELECT revision FROM organization_revision WHERE organization_id = %s",
                    (tenant.org_id,),
                ).fetchone()[0]
            live_final = 0
            for b in boards:
                try:
                    await b.session.wait_until(lambda b=b: b.revision() >= final, 20)
                    live_final += int(b.revision() == final)
                except TimeoutError:
                    pass
            # After Redis lost every state (--save ''), a user action on each open page:
            # is the session still signed in and the page on the final revision?
            signed_in = 0
            after_action: list[dict] = []
            for b in boards:
                with contextlib.suppress(Exception):
                    await b.session.send(realtime._full(realtime.DASHBOARD_STATE), "load")
                    await b.session.wait_until(
                        lambda b=b: b.session.value(realtime.DASHBOARD_STATE, "status") == "ready",
                        20,
                    )
                    await asyncio.sleep(1)
                    signed_in += int(
                        bool(b.session.value(realtime.APP_STATE, "user_id"))
                        and b.revision() == final
                    )
                after_action.append(
                    {
                        "user_id_set": bool(b.session.value(realtime.APP_STATE, "user_id")),
                        "status": b.session.value(realtime.DASHBOARD_STATE, "status"),
                        "revision": b.revision(),
                    }
                )
            reopened_final = 0
            for b in boards:
                with contextlib.suppress(Exception):
                    await b.session.close()
                fresh = await realtime.open_dashboard(server, tenant.viewer.email, PASSWORD)
                reopened_final += int(fresh.revision() == final)
                await fresh.session.close()
            answers: Counter[str] = Counter()
            for w in writers:
                answers.update(w.statuses)
            return {
                "final_revision": final,
                "answers": dict(sorted(answers.items())),
                "other_5xx": sum(
                    n for st, n in answers.items() if st.startswith("5") and st != "503"
                ),
                "writes_acknowledged_after_faults": sum(w.after_fault_ok for w in writers),
                **_check_writes(url, tenant.org_id, writers),
                "dashboards_live_on_final_revision": f"{live_final}/{READERS}",
                "dashboards_signed_in_after_an_action": f"{signed_in}/{READERS}",
                "after_the_action": after_action,
                "dashboards_reopened_on_final_revision": f"{reopened_final}/{READERS}",
            }

        out = asyncio.run(run())
        out["redis"] = "append-only file" if persist_redis else "no persistence (--save '')"
        out["passed"] = (
            out["other_5xx"] == 0
            and out["acknowledged_lost"] == 0
            and out["dashboards_reopened_on_final_revision"] == f"{READERS}/{READERS}"
            # Without persistence Redis forgets every session's state: the open pages
            # are signed out at their next action (reported, the finding of this run).
            and (
                not persist_redis
                or out["dashboards_signed_in_after_an_action"] == f"{READERS}/{READERS}"
            )
        )
        return out
    finally:
        if server is not None:
            server.stop()
        reset_engines()
        if saved is None:
            os.environ.pop("TEST_DATABASE_URL", None)
        else:
            os.environ["TEST_DATABASE_URL"] = saved
        redis.stop()
        pg.stop()


def scenario_browser_redis() -> dict:
    """A real browser (Chromium, Playwright) signed in on the whole app (two workers,
    private Redis without persistence): Redis restarted, then a click to another page
    and a reload. Is the page still signed in, and where?"""
    from playwright.sync_api import sync_playwright

    from benchmarks import realtime
    from capital_app.db.engine import reset_engines
    from tests.e2e.support import sign_in, wait_ready

    pg, redis = PrivatePostgres(), PrivateRedis()
    saved = os.environ.get("TEST_DATABASE_URL")
    os.environ["TEST_DATABASE_URL"] = pg.url
    server = None
    try:
        url, tenant = _setup("capital_faults_browser")
        server = realtime.start_server(2, url, redis.url)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            page = browser.new_page(base_url=server.url)
            sign_in(page, tenant.viewer, "/")
            wait_ready(page)
            redis.restart()
            time.sleep(2)
            page.locator("#nav-history").click()
            time.sleep(6)
            after_click = {
                "page_title": page.locator("#page-title").all_inner_texts(),
                "sign_in_form_shown": page.locator("input[type=password]").count() > 0,
                "user_shown": tenant.viewer.name in page.locator("body").inner_text(),
            }
            page.goto("/")
            wait_ready(page)
            after_reload = {
                "page_title": page.locator("#page-title").all_inner_texts(),
                "sign_in_form_shown": page.locator("input[type=password]").count() > 0,
            }
            browser.close()
        return {
            "redis": "no persistence (--save '')",
            "after_click_to_history": after_click,
            "after_reload": after_reload,
            "passed": after_click["page_title"] == ["History"]
            and after_click["user_shown"]
            and not after_click["sign_in_form_shown"]
            and after_reload["page_title"] == ["Dashboard"],
        }
    finally:
        if server is not None:
            server.stop()
        reset_engines()
        if saved is None:
            os.environ.pop("TEST_DATABASE_URL", None)
        else:
            os.environ["TEST_DATABASE_URL"] = saved
        redis.stop()
        pg.stop()


SCENARIOS = {
    "kill9": scenario_kill9,
    "pg-restart": scenario_pg_restart,
    "live": scenario_live,
    "live-redis-aof": lambda: scenario_live(persist_redis=True),
    "browser-redis": scenario_browser_redis,
}


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    names = [a for a in sys.argv[1:] if not a.startswith("-")] or list(SCENARIOS)
    result: dict = {"when": datetime.now(UTC).isoformat(), "load_average": os.getloadavg()}
    for name in names:
        started = time.monotonic()
        result[name] = SCENARIOS[name]()
        result[name]["seconds"] = round(time.monotonic() - started, 1)
        print(name, json.dumps(result[name], indent=2), flush=True)
    result["load_average_after"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"faults-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {path}")
    if not all(result[n].get("passed") for n in names):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
