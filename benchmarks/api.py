"""Benchmark of the REST API (not a test): latency and throughput against the DB floor.

    .venv/bin/python -m benchmarks.api            # full run: 10,000 and 100,000 entries
    .venv/bin/python -m benchmarks.api --quick    # smaller, for a smoke run
    .venv/bin/python -m benchmarks.api --sizes 100k,1m   # beside 1,000,000 entries

What it does, on a fresh database on the PostgreSQL server of BENCH_ADMIN_URL
(default: TEST_DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres):

1. Seeds organizations with 10,000 entries / 50 sources and 100,000 entries / 200
   sources (or, with --sizes, 1,000,000 / 1,000): one COPY per organization, as the
   owner, through the real insert triggers in bulk mode (so revisions, sequences and
   the capital_source projection are the app's own).
2. Starts the API the way `reflex run --env prod` serves its backend: Granian, ASGI,
   one worker (Reflex's count without Redis); production bcrypt cost.
3. Captures, in-process, the SQL each read runs (SQLAlchemy cursor events) and times
   it directly with psycopg: the main query alone, and every statement of the call
   (tenant setting, user re-read, query) in one transaction.
4. Starts the baseline (benchmarks/baseline_app.py: bare FastAPI, async psycopg pool,
   orjson, no auth) under the same Granian settings, running the captured main query.
5. Drives both with the same lean HTTP/1.1 client at concurrency 1 and 16.

Results: benchmarks/results/api-<timestamp>.json and the table in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import pickle
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import orjson
import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "benchmarks" / "README.md"
TABLE_START = "<!-- api-benchmark-table:start -->"
TABLE_END = "<!-- api-benchmark-table:end -->"
PASSWORD = "benchmark password 2026"

READ_TARGET_P95_MS = 25.0
COMMAND_TARGET_P95_MS = 40.0
THROUGHPUT_TARGET = 0.60


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- database ----------------------------------------------------------------------


def admin_url() -> str:
    for name in ("BENCH_ADMIN_URL", "TEST_DATABASE_URL"):
        if os.environ.get(name):
            return os.environ[name].replace("postgresql+psycopg://", "postgresql://")
    return "postgresql://postgres@127.0.0.1:5432/postgres"


def create_database() -> str:
    from tests.support.database import with_database

    name = f"capital_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(admin_url(), name)


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


@dataclass
class Org:
    label: str
    entries: int
    sources: int
    org_id: UUID
    admin_email: str
    editor_email: str
    editor_id: UUID
    source_ids: list[str]
    active_ids: list[str]


def _events(n_sources: int, n_entries: int, now: datetime, rng: random.Random) -> list[tuple]:
    """Rows (source_id, action, effective, name, rate, cents, prev_rate, prev_amount)."""
    per_source = [n_entries // n_sources] * n_sources
    for i in range(n_entries - sum(per_source)):
        per_source[i] += 1
    rows = []
    span_end = now - timedelta(hours=3)
    for s, count in enumerate(per_source):
        source_id = f"src_bench_{s:04d}_{rng.randrange(16**6):06x}"
        start = now - timedelta(days=3 * 365) + timedelta(days=rng.uniform(0, 60))
        step = (span_end - start) / count
        rate = Decimal(rng.randrange(0, 300_000)) / 1_000_000
        cents = rng.randrange(10_000_00, 5_000_000_000_00)
        name = f"Bench source {s:04d}"
        removed = s % 10 == 9  # a tenth of the sources end removed
        for k in range(count):
            when = start + step * k
            if k == 0:
                rows.append((source_id, "ADDED", when, name, rate, cents, None, None))
            elif removed and k == count - 1:
                rows.append((source_id, "REMOVED", when, name, rate, cents, None, None))
            elif k % 2:
                new = cents + rng.randrange(1, 1_000_000_00) * rng.choice((1, -1))
                new = max(1, min(new, 10**15))
                new = new if new != cents else cents + 1
                rows.append((source_id, "AMOUNT_CHANGED", when, name, rate, new, None, cents))
                cents = new
            else:
                new_rate = Decimal(rng.randrange(0, 300_000)) / 1_000_000
                new_rate = new_rate if new_rate != rate else rate + Decimal("0.000001")
                rows.append((source_id, "RATE_CHANGED", when, name, new_rate, cents, rate, None))
                rate = new_rate
    return rows


def seed_org(url: str, label: str, n_entries: int, n_sources: int) -> Org:
    from capital_app.service.organizations import create_organization
    from capital_app.service.users import provision_user

    org = create_organization(f"Benchmark {label} {secrets.token_hex(3)}", "KES")
    suffix = secrets.token_hex(3)
    admin = provision_user(
        org.id, email=f"admin-{suffix}@bench.test", name="Admin", role="ADMIN", password=PASSWORD
    )
    editor = provision_user(
        org.id, email=f"editor-{suffix}@bench.test", name="Editor", role="EDITOR", password=PASSWORD
    )
    now = datetime.now(UTC)
    rows = _events(n_sources, n_entries, now, random.Random(n_entries))
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('app.org_id', %s, true)", (str(org.id),))
        # Bulk mode (migration 0002), as the importer uses it: the same checks, folded
        # into the projection once per statement rather than once per row.
        conn.execute("SELECT set_config('capital.bulk_insert', 'on', true)")
        with conn.cursor().copy(
            "COPY capital_history (organization_id, source_id, action, effective_date, name,"
            " annual_rate, available_cents, previous_rate, previous_amount, created_at,"
            " created_by, recorded_by, sequence) FROM STDIN"
        ) as copy:
            # Bulk mode takes each source's sequence from the rows (as the importer
            # gives it): 1, 2, … in the order the rows of that source are generated.
            sequences: dict[str, int] = {}
            for source_id, action, when, name, rate, cents, prev_rate, prev_amount in rows:
                sequences[source_id] = sequences.get(source_id, 0) + 1
                copy.write_row(
                    (
                        org.id,
                        source_id,
                        action,
                        when,
                        name,
                        rate,
                        cents,
                        prev_rate,
                        prev_amount,
                        when + timedelta(hours=1),
                        str(editor.id),
                        editor.id,
                        sequences[source_id],
                    )
                )
    with psycopg.connect(url, autocommit=True) as conn:
        # What autovacuum does soon after a bulk insert: statistics and the visibility
        # map (without it every index-only probe also visits the heap).
        conn.execute("VACUUM ANALYZE capital_history")
        conn.execute("VACUUM ANALYZE capital_source")
    log(f"seeded {label}: {len(rows):,} entries in {time.perf_counter() - started:.1f} s")
    source_ids = sorted({r[0] for r in rows})
    removed = {r[0] for r in rows if r[1] == "REMOVED"}
    return Org(
        label,
        len(rows),
        n_sources,
        org.id,
        admin.email,
        editor.email,
        editor.id,
        source_ids,
        [s for s in source_ids if s not in removed],
    )


# --- servers --------------------------------------------------------------------------


def _free_port() -> int:
    from tests.support.api_server import free_port

    return free_port()


def start_granian(
    target: str, env: dict[str, str], log_path: Path, cwd: Path = ROOT
) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    from tests.support.api_server import granian_command

    process = subprocess.Popen(
        granian_command(target, port, "--no-ws"),
        env={**os.environ, **env},
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        cwd=cwd,
    )
    return process, f"http://127.0.0.1:{port}"


def start_via_reflex(log_path: Path) -> tuple[subprocess.Popen, str]:
    """`capital-app run --port N`: exactly what `make run` serves (Reflex, prod, one port)."""
    port = _free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("capital-app")),
            "run",
            "--port",
            str(port),
            "--seed-demo",
        ],
        env=os.environ.copy(),
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        start_new_session=True,  # stopped as a group: Reflex, its workers, its build tools
    )
    return process, f"http://127.0.0.1:{port}"


def wait_until_up(
    url: str,
    process: subprocess.Popen,
    log_path: Path,
    seconds: int = 60,
    schema_ahead_ok: bool = False,
) -> None:
    """`schema_ahead_ok`: a before tree's health answers 503 on a database migrated past
    its own head; it still serves when the newer migrations only add what it never reads
    (say so in the results: `before_tree_schema`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log_path.read_text())
        try:
            answer = httpx.get(url, timeout=5)
            if answer.status_code < 500:
                return
            database = answer.json().get("database", {}) if answer.status_code == 503 else {}
            if schema_ahead_ok and database.get("reachable") and database.get("revision"):
                return
        except (httpx.TransportError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up:\n{log_path.read_text()}")


def stop(process: subprocess.Popen) -> None:
    if process.args and "capital-app" in str(process.args[0]):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)  # the launcher stops Reflex's group
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
            return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


# --- capturing and timing the SQL -------------------------------------------------------


def capture_sql(call: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Every statement a service call sends, as psycopg would execute it."""
    from sqlalchemy import event

    from capital_app.db.engine import get_engine

    captured: list[tuple[str, Any]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", before)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return captured


# The tables a read's main query reads: the rate book's statements (organization,
# fx_rate, corporate_tax_rate, read after the sources since migration 0013) are not it.
_MAIN_TABLES = ("capital_history", "capital_source", "capital_wacc_day_delta")


def main_statement(statements: list[tuple[str, Any]]) -> tuple[str, Any]:
    """The read's main query: the last statement that reads history, the projection or the
    snapshot (before 0013 that was simply the last statement)."""
    for sql, params in reversed(statements):
        if any(table in sql for table in _MAIN_TABLES):
            return sql, params
    return statements[-1]


def time_sql(url: str, statements: list[tuple[str, Any]], runs: int) -> dict[str, float]:
    """p50/p95 of running `statements` in one transaction as the runtime role."""
    from capital_app.db.roles import runtime_role_name

    samples = []
    with psycopg.connect(url) as conn:
        conn.execute(f"SET ROLE {runtime_role_name()}")
        conn.commit()
        for i in range(runs + 3):
            t0 = time.perf_counter()
            with conn.transaction():
                for sql, params in statements:
                    conn.execute(sql, params).fetchall()
            if i >= 3:
                samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(0.95 * len(samples)) - 1], 2),
    }


# --- scenarios ---------------------------------------------------------------------------


@dataclass
class Read:
    name: str
    path: str | Callable[[int], str]  # a function of the request number: varying requests
    service_call: Callable[[], Any]


_days = itertools.count(1)


def _shifted_series(start: date, end: date, days: int) -> str:
    back = timedelta(days=days)
    return f"/api/wacc/series?startDate={start - back}&endDate={end - back}&interval=month"


def reads_for(org: Org, actor: Any) -> list[Read]:
    from capital_app.domain.series import Interval
    from capital_app.service import history_queries as q

    now = datetime.now(UTC)
    past = (now - timedelta(days=365)).date()
    start = (now - timedelta(days=730)).date()
    first_day = (now - timedelta(days=3 * 365)).date()  # the seeded history starts here
    one = org.active_ids[len(org.active_ids) // 2]
    from capital_app.domain.values import end_of_day

    return [
        Read("history page (limit 100)", "/api/capital-history?limit=100",
             lambda: q.list_history(actor, limit=100)),
        Read("one source's history", f"/api/capital-history/{one}",
             lambda: q.source_history(actor, one)),
        Read("active sources now", "/api/capital-sources/active",
             lambda: q.active_sources(actor)),
        Read("active sources as of a year ago", f"/api/capital-sources/active?asOf={past}",
             lambda: q.active_sources(actor, end_of_day(past))),
        Read("WACC now", "/api/wacc", lambda: q.wacc(actor)),
        # The same two-year window shifted back k days per request (k cycling through
        # more values than the cache holds): every request computes its 25 points.
        Read("WACC series (monthly, 2 years), first request",
             lambda i: _shifted_series(start, now.date(), next(_days) % 300),
             lambda: q.wacc_series(actor, start, now.date(), Interval.MONTH)),
        Read("WACC series (monthly, all time), first request",
             lambda i: _shifted_series(first_day, now.date(), next(_days) % 300),
             lambda: q.wacc_series(actor, first_day, now.date(), Interval.MONTH)),
        Read("WACC series (monthly, 2 years), repeated",
             f"/api/wacc/series?startDate={start}&endDate={now.date()}&interval=month",
             lambda: q.wacc_series(actor, start, now.date(), Interval.MONTH)),
    ]  # fmt: skip


def _get(path: str | Callable[[int], str], token: str | None = None):
    from benchmarks.loadgen import json_request

    if callable(path):
        return lambda i: json_request("GET", path(i), token=token)
    request = json_request("GET", path, token=token)
    return lambda i: request


def measure(base_url: str, make, concurrency: int, quick: bool) -> dict[str, Any]:
    from benchmarks.loadgen import load

    if concurrency == 1:
        run = load(base_url, make, concurrency=1, max_requests=60 if quick else 300,
                   max_seconds=8 if quick else 15, warmup=10)  # fmt: skip
    else:
        run = load(base_url, make, concurrency=concurrency, max_requests=400 if quick else 2000,
                   max_seconds=5 if quick else 10, warmup=20)  # fmt: skip
    return run.summary()


ROUNDS = 5


def round_c16(base_url: str, make, quick: bool):
    from benchmarks.loadgen import load

    return load(base_url, make, concurrency=16, max_requests=10**6,
                max_seconds=1.5 if quick else 3, warmup=16)  # fmt: skip


def command_makers(org: Org, token: str, run_id: str, removable: list[str]):
    from benchmarks.loadgen import json_request

    def now_text() -> str:
        return datetime.now(UTC).isoformat()

    active = org.active_ids
    counter = iter(range(10**9))

    def add(i: int):
        body = {
            "source": {"name": f"Bench add {run_id}-{next(counter)}", "annualRate": 0.1,
                       "availableCents": 100_000_00 + i},
            "effectiveDate": now_text(),
        }  # fmt: skip
        return json_request("POST", "/api/capital-history/add-source", body, token)

    def amount(i: int):
        n = next(counter)
        body = {"sourceId": active[n % len(active)], "availableCents": 7_000_000_00 + n,
                "effectiveDate": now_text()}  # fmt: skip
        return json_request("POST", "/api/capital-history/update-amount", body, token)

    def rate(i: int):
        n = next(counter)
        body = {"sourceId": active[n % len(active)],
                "annualRate": round((n % 999_999 + 1) / 1_000_000, 6),
                "effectiveDate": now_text()}  # fmt: skip
        return json_request("POST", "/api/capital-history/update-rate", body, token)

    removals = iter(removable)

    def remove(i: int):
        body = {"sourceId": next(removals), "effectiveDate": now_text()}
        return json_request("POST", "/api/capital-history/remove-source", body, token)

    return {
        "add-source": add,
        "update-amount": amount,
        "update-rate": rate,
        "remove-source": remove,
    }


def make_removable(org: Org, count: int) -> list[str]:
    from capital_app.service import history_commands as commands
    from capital_app.service.actor import Actor

    actor = Actor(org.editor_id, org.org_id)
    when = datetime.now(UTC) - timedelta(days=1)
    return [
        commands.add_source(
            actor,
            name=f"To remove {secrets.token_hex(4)}",
            annual_rate=Decimal("0.1"),
            available_cents=100,
            effective_date=when,
        ).source_id
        for _ in range(count)
    ]


# --- the run --------------------------------------------------------------------------------


SIZES = {
    "2k": (2_000, 20),
    "10k": (10_000, 50),
    "100k": (100_000, 200),
    "1m": (1_000_000, 1_000),
}


def run(
    quick: bool,
    keep: bool,
    via_reflex: bool = False,
    labels: list[str] | None = None,
    only_reads: list[str] | None = None,
    before_tree: Path | None = None,
    commands: bool = True,
) -> dict[str, Any]:
    """`only_reads`: the reads whose names contain one of these (default all);
    `before_tree`: also serve the app from this source tree (e.g. `git archive main`)
    and measure it in the same rounds ("before"); `commands`: also the commands."""
    labels = labels or (["2k", "10k"] if quick else ["10k", "100k"])
    sizes = [(label, *SIZES[label]) for label in labels]
    url = create_database()
    data_dir = Path(tempfile.mkdtemp(prefix="capital-bench-"))
    os.environ["DATABASE_URL"] = url
    os.environ["CAPITAL_DATA_DIR"] = str(data_dir)
    os.environ.pop("CAPITAL_BCRYPT_ROUNDS", None)  # production cost for sign-in
    # One benchmark user sends far more than an integrator may (issue 13 rate limits):
    # measure the app, not the limiter.
    os.environ.setdefault("CAPITAL_RATE_LIMIT_PER_MINUTE", "0")

    from capital_app.db.engine import reset_engines
    from capital_app.db.migrations import migrate_database
    from capital_app.service.actor import Actor
    from capital_app.settings import get_settings

    get_settings.cache_clear()
    reset_engines()
    migrate_database()
    log(f"database {url}")
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "server": "granian --interface asgi --workers 1 (as reflex run --env prod without Redis)",
        "quick": quick,
        "organizations": {},
    }
    app = baseline = before = None
    before_url = ""
    if before_tree is not None:
        results["before_tree"] = str(before_tree)

    def wanted(reads: list[Read]) -> list[Read]:
        if not only_reads:
            return reads
        return [r for r in reads if any(w in r.name for w in only_reads)]

    try:
        orgs = [seed_org(url, label, n, s) for label, n, s in sizes]
        queries: dict[str, tuple[str, Any]] = {}
        captured: dict[str, dict[str, Any]] = {}
        for org in orgs:
            actor = Actor(org.editor_id, org.org_id)
            for read in wanted(reads_for(org, actor)):
                statements = capture_sql(read.service_call)
                # The tenant is set on the driver connection (pipelined with BEGIN, not
                # seen by SQLAlchemy's events); without it RLS shows no rows at all.
                tenant = (
                    "SELECT set_config('app.org_id', %(org)s, true)",
                    {"org": str(org.org_id)},
                )
                main = main_statement(statements)
                captured[f"{org.label}|{read.name}"] = {
                    "all": [tenant, *statements],
                    "main": [tenant, main],
                }
                queries[f"{org.label}|{read.name}"] = main
                if read.name.endswith("repeated"):
                    # The app answers from its revision-keyed cache; the baseline has
                    # none, so it runs the series query itself (the floor without cache).
                    first = read.name.replace("repeated", "first request")
                    queries[f"{org.label}|{read.name}"] = queries[f"{org.label}|{first}"]
        query_file = data_dir / "baseline-queries.pickle"
        query_file.write_bytes(pickle.dumps(queries))

        app_log, base_log = data_dir / "app.log", data_dir / "baseline.log"
        if via_reflex:
            app, app_url = start_via_reflex(app_log)
            results["server"] = "capital-app run (make run: reflex run --env prod --single-port)"
        else:
            app, app_url = start_granian("capital_app.api.app:create_api_app", {}, app_log)
        baseline, base_url = start_granian(
            "benchmarks.baseline_app:create_baseline_app",
            {"BASELINE_QUERIES": str(query_file), "BASELINE_DATABASE_URL": url},
            base_log,
        )
        if before_tree is not None:
            before_log = data_dir / "before.log"
            before, before_url = start_granian(
                "capital_app.api.app:create_api_app",
                {"PYTHONPATH": str(before_tree)},
                before_log,
                cwd=before_tree,
            )
            wait_until_up(f"{before_url}/api/health", before, before_log, schema_ahead_ok=True)
            health = httpx.get(f"{before_url}/api/health", timeout=5).json()["database"]
            results["before_tree_schema"] = {"database": health["revision"], "head": health["head"]}
        wait_until_up(f"{app_url}/api/health", app, app_log, 600 if via_reflex else 60)
        wait_until_up(f"{base_url}/docs", baseline, base_log)
        log(f"app at {app_url}, baseline at {base_url}")

        from benchmarks.loadgen import Run, json_request

        for org in orgs:
            log(f"--- {org.label}: {org.entries:,} entries, {org.sources} sources")
            token_answer = httpx.post(
                f"{app_url}/api/auth/token",
                json={"email": org.editor_email, "password": PASSWORD},
                timeout=30,
            )
            token = token_answer.json()["accessToken"]
            actor = Actor(org.editor_id, org.org_id)
            org_result: dict[str, Any] = {
                "entries": org.entries,
                "sources": org.sources,
                "reads": {},
                "commands": {},
            }
            # At a million entries a slow statement timed 100 times would take minutes.
            sql_runs = 30 if quick or org.entries >= 1_000_000 else 100
            for read in wanted(reads_for(org, actor)):
                key = f"{org.label}|{read.name}"
                entry: dict[str, Any] = {
                    "path": read.path if isinstance(read.path, str) else read.path(0),
                    "sql_main": time_sql(url, captured[key]["main"], sql_runs),
                    "sql_all_statements": time_sql(url, captured[key]["all"], sql_runs),
                }
                quoted = "/q/" + httpx.URL("/" + key).raw_path.decode().lstrip("/")
                entry["app_c1"] = measure(app_url, _get(read.path, token), 1, quick)
                entry["baseline_c1"] = measure(base_url, _get(quoted), 1, quick)
                # c=16 in alternating short rounds, app then baseline: other jobs on the
                # machine come and go within seconds, and pairing rounds cancels most of it.
                app_runs, base_runs, before_runs = [], [], []
                if before is not None:
                    entry["before_c1"] = measure(before_url, _get(read.path, token), 1, quick)
                for _ in range(ROUNDS):
                    app_runs.append(round_c16(app_url, _get(read.path, token), quick))
                    base_runs.append(round_c16(base_url, _get(quoted), quick))
                    if before is not None:
                        before_runs.append(round_c16(before_url, _get(read.path, token), quick))
                if before_runs:
                    entry["before_c16"] = Run.merged(before_runs).summary()
                    before_ratios = sorted(
                        (len(a.latencies_ms) / a.seconds) / (len(b.latencies_ms) / b.seconds)
                        for a, b in zip(before_runs, base_runs, strict=True)
                    )
                    entry["before_throughput_ratio_c16"] = round(
                        before_ratios[len(before_ratios) // 2], 3
                    )
                    entry["before_throughput_ratio_c16_rounds"] = [
                        round(r, 3) for r in before_ratios
                    ]
                entry["app_c16"] = Run.merged(app_runs).summary()
                entry["baseline_c16"] = Run.merged(base_runs).summary()
                ratios = sorted(
                    (len(a.latencies_ms) / a.seconds) / (len(b.latencies_ms) / b.seconds)
                    for a, b in zip(app_runs, base_runs, strict=True)
                )
                entry["throughput_ratio_c16"] = round(ratios[len(ratios) // 2], 3)
                entry["throughput_ratio_c16_rounds"] = [round(r, 3) for r in ratios]
                app16 = entry["app_c16"]["throughput_rps"]
                base16 = entry["baseline_c16"]["throughput_rps"]
                org_result["reads"][read.name] = entry
                log(
                    f"{read.name}: app p95 c1 {entry['app_c1']['p95_ms']} ms, "
                    f"c16 {app16} rps vs baseline {base16} rps; SQL {entry['sql_main']['p50_ms']} ms"
                )
                entry["load_average"] = [round(x, 2) for x in os.getloadavg()]
            if not commands:
                org_result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
                results["organizations"][org.label] = org_result
                continue
            removable = make_removable(org, 500 if quick else 2400)
            run_id = secrets.token_hex(3)
            for name, make in command_makers(org, token, run_id, removable).items():
                org_result["commands"][name] = {
                    f"app_c{c}": measure(app_url, make, c, quick) for c in (1, 16)
                }
                log(
                    f"{name}: p95 c1 {org_result['commands'][name]['app_c1']['p95_ms']} ms, "
                    f"c16 {org_result['commands'][name]['app_c16']['throughput_rps']} rps"
                )
            sign_in = json_request(
                "POST", "/api/auth/token", {"email": org.editor_email, "password": PASSWORD}
            )
            from benchmarks.loadgen import load

            org_result["token"] = {
                "app_c1": load(app_url, lambda i, r=sign_in: r, concurrency=1,
                               max_requests=10 if quick else 30, max_seconds=20).summary(),
                "app_c16": load(app_url, lambda i, r=sign_in: r, concurrency=16,
                                max_requests=32 if quick else 64, max_seconds=30).summary(),
            }  # fmt: skip
            log(f"token: p95 c1 {org_result['token']['app_c1']['p95_ms']} ms")
            org_result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
            results["organizations"][org.label] = org_result
    finally:
        for process in (app, baseline, before):
            if process is not None:
                stop(process)
        reset_engines()
        if not keep:
            drop_database(url)
    results["finished_at"] = datetime.now(UTC).isoformat()
    return results


# --- report -------------------------------------------------------------------------------------


def _mark(ok: bool) -> str:
    return "✅" if ok else "❌"


def table(results: dict[str, Any]) -> str:
    lines = [
        f"Run {results['started_at'][:16]} UTC · {results['machine']['cpus']} CPUs · "
        f"{results['server']}{' · QUICK' if results['quick'] else ''}",
        "",
    ]
    for org in results["organizations"].values():
        lines += [
            f"**{org['entries']:,} entries, {org['sources']} sources** "
            f"(load average after: {org.get('load_average_after', '?')}; "
            f"targets: reads p95 < {READ_TARGET_P95_MS:.0f} ms at c=1, "
            f"commands < {COMMAND_TARGET_P95_MS:.0f} ms; c=16 read throughput ≥ "
            f"{THROUGHPUT_TARGET:.0%} of baseline)",
            "",
            "| operation | app p50 / p95 / p99 ms (c=1) | app rps c=1 | app p95 ms (c=16) "
            "| app rps c=16 | baseline rps c=16 | ratio (median of 5 paired rounds) "
            "| baseline p50 ms (c=1) "
            "| SQL main p50 | SQL all stmts p50 | target |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in org["reads"].items():
            a1, a16, b1, b16 = r["app_c1"], r["app_c16"], r["baseline_c1"], r["baseline_c16"]
            ok = a1["p95_ms"] < READ_TARGET_P95_MS and (r["throughput_ratio_c16"] or 0) >= 0.6
            lines.append(
                f"| {name} | {a1['p50_ms']} / {a1['p95_ms']} / {a1['p99_ms']} "
                f"| {a1['throughput_rps']} | {a16['p95_ms']} | {a16['throughput_rps']} "
                f"| {b16['throughput_rps']} | {r['throughput_ratio_c16']} | {b1['p50_ms']} "
                f"| {r['sql_main']['p50_ms']} | {r['sql_all_statements']['p50_ms']} | {_mark(ok)} |"
            )
            if "before_c1" in r:
                p1, p16 = r["before_c1"], r["before_c16"]
                ok = p1["p95_ms"] < READ_TARGET_P95_MS and r["before_throughput_ratio_c16"] >= 0.6
                lines.append(
                    f"| {name} — BEFORE ({results.get('before_tree', 'before')}) "
                    f"| {p1['p50_ms']} / {p1['p95_ms']} / {p1['p99_ms']} "
                    f"| {p1['throughput_rps']} | {p16['p95_ms']} | {p16['throughput_rps']} "
                    f"| {b16['throughput_rps']} | {r['before_throughput_ratio_c16']} "
                    f"| {b1['p50_ms']} | – | – | {_mark(ok)} |"
                )
        for name, r in org["commands"].items():  # (none with --no-commands)
            a1, a16 = r["app_c1"], r["app_c16"]
            ok = a1["p95_ms"] < COMMAND_TARGET_P95_MS
            lines.append(
                f"| command: {name} | {a1['p50_ms']} / {a1['p95_ms']} / {a1['p99_ms']} "
                f"| {a1['throughput_rps']} | {a16['p95_ms']} | {a16['throughput_rps']} "
                f"| – | – | – | – | – | {_mark(ok)} |"
            )
        if "token" not in org:
            lines.append("")
            continue
        t1, t16 = org["token"]["app_c1"], org["token"]["app_c16"]
        lines.append(
            f"| token (bcrypt cost 12) | {t1['p50_ms']} / {t1['p95_ms']} / {t1['p99_ms']} "
            f"| {t1['throughput_rps']} | {t16['p95_ms']} | {t16['throughput_rps']} "
            f"| – | – | – | – | – | n/a |"
        )
        lines.append("")
    return "\n".join(lines)


def write_readme(results: dict[str, Any], variant: str = "") -> None:
    start, end = TABLE_START, TABLE_END
    if variant:
        start = start.replace(":start", f"-{variant}:start")
        end = end.replace(":end", f"-{variant}:end")
    text = README.read_text() if README.exists() else ""
    block = f"{start}\n{table(results)}\n{end}"
    if start in text:
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        text = head + block + tail
    else:
        text += "\n" + block + "\n"
    README.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, short runs")
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark database")
    parser.add_argument("--no-readme", action="store_true", help="do not update the README table")
    parser.add_argument(
        "--via-reflex", action="store_true", help="serve with `capital-app run` (make run)"
    )
    parser.add_argument(
        "--sizes", default="", help=f"comma-separated, of {', '.join(SIZES)} (default 10k,100k)"
    )
    parser.add_argument(
        "--reads", default="", help="comma-separated parts of read names to run (default all)"
    )
    parser.add_argument(
        "--before-tree",
        default="",
        help="also serve the app from this source tree (e.g. `git archive main` unpacked) "
        "and measure it in the same rounds",
    )
    parser.add_argument("--no-commands", action="store_true", help="reads only")
    args = parser.parse_args()
    labels = [label.strip() for label in args.sizes.split(",") if label.strip()]
    unknown = [label for label in labels if label not in SIZES]
    if unknown:
        parser.error(f"unknown size(s) {', '.join(unknown)}; choose from {', '.join(SIZES)}")
    only = [r.strip() for r in args.reads.split(",") if r.strip()]
    before = Path(args.before_tree).resolve() if args.before_tree else None
    results = run(
        args.quick, args.keep_db, args.via_reflex, labels, only, before, not args.no_commands
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = ("-quick" if args.quick else "") + ("-reflex" if args.via_reflex else "")
    suffix += ("-" + "-".join(labels)) if labels else ""
    suffix += "-reads" if only or args.no_commands else ""
    suffix += "-with-before" if before else ""
    out = RESULTS / f"api-{stamp}{suffix}.json"
    out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    log(f"results: {out}")
    if not args.no_readme:
        variant = "-".join(
            (["reflex"] if args.via_reflex else [])
            + labels
            + (["hot-reads"] if only or args.no_commands or before else [])
        )
        write_readme(results, variant)
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
