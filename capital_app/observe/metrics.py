"""The Prometheus series (served at /metrics, see docs/operations.md).

Multi-worker: Granian workers are processes, so with PROMETHEUS_MULTIPROC_DIR set
(`capital-app run` sets it to a fresh folder per run and removes it afterwards)
prometheus-client keeps every value in a per-process memory-mapped file and a
scrape of any worker adds them all up (`MultiProcessCollector`). Without it (one
process, e.g. a test server) the default registry is used. Gauges of one worker
(live sessions, listener state) keep a `pid` label (mode "liveall").

Labels never hold a raw path, an id or anything a client chose beyond a bounded
set: routes are templates ("/api/sources/{sourceId}"), statuses are numbers,
problem types are the app's own URNs.

CAPITAL_METRICS=off turns everything here into no-ops (and /metrics answers 404).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

from capital_app.settings import get_observability_settings

ENABLED = get_observability_settings().metrics_enabled
MULTIPROCESS = get_observability_settings().multiprocess_dir is not None

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_STATEMENT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
_IMPORT_EXPORT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_SIZE_BUCKETS = (1e3, 1e4, 1e5, 1e6, 5e6, 1e7, 3e7, 6.4e7)

REQUESTS = Counter(
    "capital_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "capital_http_request_duration_seconds",
    "Time from request to the end of the response, by route template and status.",
    ["route", "method", "status"],
    buckets=_LATENCY_BUCKETS,
)
STATEMENT_SECONDS = Histogram(
    "capital_db_statement_duration_seconds",
    "Time of each SQL statement the app runs (cursor execute), by its first keyword.",
    ["statement"],
    buckets=_STATEMENT_BUCKETS,
)
PROBLEMS = Counter(
    "capital_http_problems",
    "Problem responses (RFC 9457), by problem type and status.",
    ["type", "status"],
)
SIGN_IN_FAILURES = Counter(
    "capital_sign_in_failures",
    "Refused sign-ins (API and UI), by reason.",
    ["reason"],
)
SIGN_IN_THROTTLES = Counter(
    "capital_sign_in_throttled", "Sign-in attempts refused because of too many failures."
)
LIVE_SESSIONS = Gauge(
    "capital_live_sessions",
    "UI sessions connected to this worker (pid label: one series per worker).",
    multiprocess_mode="liveall",
)
PUSHES = Counter("capital_live_pushes", "Live dashboard deltas sent to a room.")
PUSH_SECONDS = Histogram(
    "capital_live_push_latency_seconds",
    "From the commit's notification reaching this worker to the delta being sent.",
    buckets=_LATENCY_BUCKETS,
)
LISTENER_CONNECTED = Gauge(
    "capital_realtime_listener_connected",
    "1 while this worker's LISTEN connection is up, else 0 (pid label).",
    multiprocess_mode="liveall",
)
LISTENER_RECONNECTS = Counter(
    "capital_realtime_listener_reconnects", "LISTEN connections made again after a loss."
)
IMPORT_EXPORT_SECONDS = Histogram(
    "capital_transfer_duration_seconds",
    "Import (kind=import) and export (kind=export) durations.",
    ["kind"],
    buckets=_IMPORT_EXPORT_BUCKETS,
)
IMPORT_EXPORT_BYTES = Histogram(
    "capital_transfer_size_bytes",
    "Import body and export file sizes.",
    ["kind"],
    buckets=_SIZE_BUCKETS,
)
IMPORT_EXPORT_ENTRIES = Counter(
    "capital_transfer_entries",
    "Entries imported (written) and exported.",
    ["kind"],
)


def exposition() -> tuple[bytes, str]:
    """The scrape body (every worker's values when in multiprocess mode) and its type."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(DEFAULT_REGISTRY), CONTENT_TYPE_LATEST


# Labelled children by label values: `.labels()` takes a lock and builds a key on
# every call; the set of routes × methods × statuses is small and fixed.
_request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    if ENABLED:
        key = (route, method, status)
        children = _request_children.get(key)
        if children is None:
            labels = (route, method, str(status))
            children = (REQUESTS.labels(*labels), REQUEST_SECONDS.labels(*labels))
            _request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)


def count_problem(type_: str, status: int) -> None:
    if ENABLED:
        PROBLEMS.labels(type_, str(status)).inc()


def count_sign_in_failure(reason: str) -> None:
    if ENABLED:
        SIGN_IN_FAILURES.labels(reason).inc()


def count_sign_in_throttled() -> None:
    if ENABLED:
        SIGN_IN_THROTTLES.inc()


def set_live_sessions(count: int) -> None:
    if ENABLED:
        LIVE_SESSIONS.set(count)


def observe_push(seconds: float | None) -> None:
    if ENABLED:
        PUSHES.inc()
        if seconds is not None:
            PUSH_SECONDS.observe(seconds)


def set_listener_connected(connected: bool) -> None:
    if ENABLED:
        LISTENER_CONNECTED.set(1 if connected else 0)


def count_listener_reconnect() -> None:
    if ENABLED:
        LISTENER_RECONNECTS.inc()


def observe_import_export(kind: str, seconds: float, size_bytes: int, entries: int) -> None:
    if ENABLED:
        IMPORT_EXPORT_SECONDS.labels(kind).observe(seconds)
        IMPORT_EXPORT_BYTES.labels(kind).observe(size_bytes)
        IMPORT_EXPORT_ENTRIES.labels(kind).inc(entries)


@contextmanager
def timed() -> Iterator[list[float]]:
    """`with timed() as elapsed:` … `elapsed[0]` is the block's seconds afterwards."""
    out = [0.0]
    started = time.perf_counter()
    try:
        yield out
    finally:
        out[0] = time.perf_counter() - started


# -- statement timing -------------------------------------------------------------
#
# At the driver: the pool's psycopg connections get a cursor class that times its
# execute(). (SQLAlchemy's before/after_cursor_execute engine events were measured
# first: any engine event switches SQLAlchemy to its event-dispatching execution path,
# which cost ~0.2 ms per read here, ~8 % of a 2 ms read; see benchmarks/README.md.)

_VERBS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "SET", "COPY", "LOCK"})
_statement_children: dict[str, Any] = {}


def _verb(statement: object) -> str:
    if isinstance(statement, bytes):
        statement = statement[:16].decode("ascii", "replace")
    elif not isinstance(statement, str):
        return "OTHER"  # a psycopg.sql.Composed
    head = statement.lstrip()[:8].split(None, 1)
    word = head[0].upper() if head else ""
    return word if word in _VERBS else "OTHER"


def observe_statement(statement: object, seconds: float) -> None:
    verb = _verb(statement)
    child = _statement_children.get(verb)
    if child is None:
        child = _statement_children[verb] = STATEMENT_SECONDS.labels(verb)
    child.observe(seconds)


class TimedCursor(psycopg.Cursor):
    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return super().execute(query, params, **kwargs)
        finally:
            observe_statement(query, time.perf_counter() - started)

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return super().executemany(query, params_seq, **kwargs)
        finally:
            observe_statement(query, time.perf_counter() - started)


def instrument_connection(dbapi_connection: Any) -> None:
    """Time every statement of this psycopg connection (no-op when metrics are off)."""
    wanted = ENABLED and get_observability_settings().sql_metrics_enabled
    if wanted and isinstance(dbapi_connection, psycopg.Connection):
        dbapi_connection.cursor_factory = TimedCursor
