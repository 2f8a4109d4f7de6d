"""Configuration read once from the environment.

Every knob an operator may turn lives here, so the rest of the code never reads
`os.environ` directly.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIN_JWT_SECRET_LENGTH = 32  # HS256 keys shorter than its 256-bit output can be guessed


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def _flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    return raw in ("1", "true", "yes", "on") if raw else default


@dataclass(frozen=True)
class Settings:
    """What the app needs to know about its environment."""

    database_url: str | None
    data_dir: Path
    runtime_role: str
    # The runtime pool logs in as its own role (`<runtime_role>_login`): with this URL
    # when given (the operator manages that role), else DATABASE_URL's server with the
    # login role's name and `runtime_password` (set on the role by `migrate`).
    runtime_database_url: str | None
    runtime_password: str
    jwt_secret: str
    jwt_issuer: str
    api_token_ttl_seconds: int
    ui_session_ttl_seconds: int
    bcrypt_rounds: int
    db_pool_size: int
    db_max_overflow: int
    login_max_failures_per_account: int
    login_max_failures_per_client: int
    login_window_seconds: int
    max_request_bytes: int
    # POST /api/capital-history/import only: a prototype export is streamed, not held,
    # and a 100,000-entry one is about 33 MB.
    max_import_bytes: int
    # How long a request waits for a pooled connection before answering 503: short,
    # so an exhausted pool is a quick "try again", never a 30 s wait and a 500.
    db_pool_timeout_seconds: float
    # The hot reads (history page, one source, active sources and WACC now) on the
    # event loop, one pipelined round trip each (db/async_reads.py); off: the sync path
    # in worker threads (for comparing the two, e.g. benchmarks/api.py --compare-sync).
    async_reads: bool
    # Whole-history streams (GET /api/capital-history without limit, the export): at
    # most this many at once per user and per organization (per backend process),
    # each cut off after stream_max_seconds however slowly its client reads.
    streams_per_user: int
    streams_per_organization: int
    stream_max_seconds: int
    # The share of one core that all whole-history streams of a worker may use together
    # (they take turns, and each turn is followed by a pause in proportion): a stream is
    # background work, never at the cost of other users' requests. 1 = unpaced.
    stream_cpu_share: float
    # The Reflex WebSocket (api/socket_guard.py): sockets at once per client address,
    # and how long a socket may stay open without starting a Socket.IO session.
    ws_per_client: int
    ws_connect_seconds: float
    # A request body must have arrived this long after its first byte was awaited
    # (Granian bounds headers only): 408 otherwise.
    body_timeout_seconds: float
    import_body_timeout_seconds: float
    # GET /api/events/stream: a comment this often while nothing happens (proxies close
    # silent connections), and a re-read in case a wake-up was lost.
    event_stream_heartbeat_seconds: float
    # Authenticated API requests per API key and per user: a token bucket refilled at
    # rate_limit_per_minute (0 turns limits off), holding at most rate_limit_burst.
    rate_limit_per_minute: int
    rate_limit_burst: int
    # Where the buckets live (shared by every worker); in memory when unset.
    rate_limit_redis_url: str | None
    # Reflex's own variables, read here too: REFLEX_REDIS_URL (several workers share
    # presence through it) and REFLEX_WEB_WORKDIR (where the launcher finds .web).
    redis_url: str | None = None
    web_workdir: Path | None = None
    # Strict-Transport-Security on every answer: "auto" sends it when the request came
    # over TLS (directly, or X-Forwarded-Proto https from a trusted proxy), "on" always,
    # "off" never.
    hsts: str = "auto"
    # Origins other than the app's own that may call it from a browser (CORS, and the
    # WebSocket's Origin check); none by default.
    allowed_origins: tuple[str, ...] = ()
    # Webhooks: receivers on loopback/private/link-local addresses and plain http are
    # refused unless allowed (tests, a local receiver); each attempt is bounded by the
    # timeout; failures are retried with exponential backoff (base doubling up to max)
    # for the retry window, then the endpoint is marked failing.
    webhooks_allow_private: bool = False
    webhooks_allow_http: bool = False
    webhooks_timeout_seconds: float = 10.0
    webhooks_retry_window_seconds: float = 24 * 3600.0
    webhooks_backoff_base_seconds: float = 5.0
    webhooks_backoff_max_seconds: float = 3600.0
    webhooks_poll_seconds: float = 1.0
    webhooks_worker_in_run: bool = True


def _private_secret(data_dir: Path, name: str) -> str:
    """A random secret kept in the data folder (created on first use, owner-only).

    Kept on disk so it survives a restart and every worker process of one
    installation shares it. The file is created with mode 0600, never readable by
    others even for a moment.
    """
    path = data_dir / name
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret)
    try:
        os.link(tmp, path)  # atomic: the first writer wins, others read its secret
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def _jwt_secret(data_dir: Path) -> str:
    """Use CAPITAL_JWT_SECRET, else a random secret kept in the data folder."""
    configured = os.environ.get("CAPITAL_JWT_SECRET", "").strip()
    if configured:
        if len(configured) < MIN_JWT_SECRET_LENGTH:
            raise ValueError(
                f"CAPITAL_JWT_SECRET must be at least {MIN_JWT_SECRET_LENGTH} characters"
                " (e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
            )
        return configured
    return _private_secret(data_dir, "jwt-secret")


def _runtime_password(data_dir: Path) -> str:
    configured = os.environ.get("CAPITAL_RUNTIME_PASSWORD", "").strip()
    return configured or _private_secret(data_dir, "runtime-db-password")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    data_dir = Path(os.environ.get("CAPITAL_DATA_DIR", "") or PROJECT_ROOT / ".data").resolve()
    return Settings(
        database_url=os.environ.get("DATABASE_URL", "").strip() or None,
        data_dir=data_dir,
        runtime_role=os.environ.get("CAPITAL_RUNTIME_ROLE", "").strip() or "capital_runtime",
        runtime_database_url=os.environ.get("CAPITAL_RUNTIME_DATABASE_URL", "").strip() or None,
        runtime_password=_runtime_password(data_dir),
        jwt_secret=_jwt_secret(data_dir),
        jwt_issuer=os.environ.get("CAPITAL_JWT_ISSUER", "").strip() or "capital-ledger",
        api_token_ttl_seconds=_int("CAPITAL_API_TOKEN_TTL_SECONDS", 30 * 60),
        ui_session_ttl_seconds=_int("CAPITAL_UI_SESSION_TTL_SECONDS", 12 * 3600),
        bcrypt_rounds=_int("CAPITAL_BCRYPT_ROUNDS", 12),
        db_pool_size=_int("CAPITAL_DB_POOL_SIZE", 5),
        db_max_overflow=_int("CAPITAL_DB_MAX_OVERFLOW", 10),
        login_max_failures_per_account=_int("CAPITAL_LOGIN_MAX_FAILURES_PER_ACCOUNT", 5),
        login_max_failures_per_client=_int("CAPITAL_LOGIN_MAX_FAILURES_PER_CLIENT", 20),
        login_window_seconds=_int("CAPITAL_LOGIN_WINDOW_SECONDS", 15 * 60),
        max_request_bytes=_int("CAPITAL_MAX_REQUEST_BYTES", 1024 * 1024),
        max_import_bytes=_int("CAPITAL_MAX_IMPORT_BYTES", 64 * 1024 * 1024),
        db_pool_timeout_seconds=_float("CAPITAL_DB_POOL_TIMEOUT_SECONDS", 1.0),
        async_reads=_flag("CAPITAL_ASYNC_READS", default=True),
        streams_per_user=_int("CAPITAL_STREAMS_PER_USER", 2),
        streams_per_organization=_int("CAPITAL_STREAMS_PER_ORGANIZATION", 6),
        stream_max_seconds=_int("CAPITAL_STREAM_MAX_SECONDS", 900),
        ws_per_client=_int("CAPITAL_WS_PER_CLIENT", 20),
        ws_connect_seconds=_float("CAPITAL_WS_CONNECT_SECONDS", 10.0),
        stream_cpu_share=min(1.0, max(0.05, _float("CAPITAL_STREAM_CPU_SHARE", 0.25))),
        body_timeout_seconds=_float("CAPITAL_BODY_TIMEOUT_SECONDS", 30.0),
        import_body_timeout_seconds=_float("CAPITAL_IMPORT_BODY_TIMEOUT_SECONDS", 600.0),
        event_stream_heartbeat_seconds=_float("CAPITAL_EVENT_STREAM_HEARTBEAT_SECONDS", 15.0),
        rate_limit_per_minute=_int("CAPITAL_RATE_LIMIT_PER_MINUTE", 1200),
        rate_limit_burst=_int("CAPITAL_RATE_LIMIT_BURST", 300),
        rate_limit_redis_url=(
            os.environ.get("CAPITAL_RATE_LIMIT_REDIS_URL", "").strip()
            or os.environ.get("REFLEX_REDIS_URL", "").strip()
            or None
        ),
        redis_url=os.environ.get("REFLEX_REDIS_URL", "").strip() or None,
        web_workdir=Path(os.environ["REFLEX_WEB_WORKDIR"])
        if os.environ.get("REFLEX_WEB_WORKDIR")
        else None,
        hsts=os.environ.get("CAPITAL_HSTS", "auto").strip().lower() or "auto",
        allowed_origins=tuple(
            o.strip().rstrip("/")
            for o in os.environ.get("CAPITAL_ALLOWED_ORIGINS", "").split(",")
            if o.strip()
        ),
        webhooks_allow_private=_flag("CAPITAL_WEBHOOKS_ALLOW_PRIVATE"),
        webhooks_allow_http=_flag("CAPITAL_WEBHOOKS_ALLOW_HTTP"),
        webhooks_timeout_seconds=_float("CAPITAL_WEBHOOKS_TIMEOUT_SECONDS", 10.0),
        webhooks_retry_window_seconds=_float("CAPITAL_WEBHOOKS_RETRY_WINDOW_SECONDS", 86400.0),
        webhooks_backoff_base_seconds=_float("CAPITAL_WEBHOOKS_BACKOFF_BASE_SECONDS", 5.0),
        webhooks_backoff_max_seconds=_float("CAPITAL_WEBHOOKS_BACKOFF_MAX_SECONDS", 3600.0),
        webhooks_poll_seconds=_float("CAPITAL_WEBHOOKS_POLL_SECONDS", 1.0),
        webhooks_worker_in_run=_flag("CAPITAL_WEBHOOKS_WORKER_IN_RUN", default=True),
    )


def _switch(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw not in {"off", "0", "false", "no"}


@dataclass(frozen=True)
class ObservabilitySettings:
    """Metrics and logs (docs/operations.md); read apart from `Settings`, which needs
    the data folder and its secrets, because every module's metrics use them."""

    # CAPITAL_METRICS=off: no series are recorded and /metrics answers 404.
    metrics_enabled: bool
    # CAPITAL_METRICS_SQL=off: no statement-time histogram (no SQLAlchemy cursor events).
    sql_metrics_enabled: bool
    # The scraper's bearer token for /metrics (ADMINs may always read it).
    metrics_token: str | None
    # Set by `capital-app run` (a fresh folder per run): prometheus-client's
    # multiprocess mode, so any worker's /metrics adds up every worker's values.
    multiprocess_dir: str | None
    # "json" (CAPITAL_LOG_FORMAT=json): one JSON object per line; else readable text.
    log_format: str
    log_level: str


@lru_cache(maxsize=1)
def get_observability_settings() -> ObservabilitySettings:
    log_format = os.environ.get("CAPITAL_LOG_FORMAT", "").strip().lower()
    return ObservabilitySettings(
        metrics_enabled=_switch("CAPITAL_METRICS", True),
        sql_metrics_enabled=_switch("CAPITAL_METRICS_SQL", True),
        metrics_token=os.environ.get("CAPITAL_METRICS_TOKEN", "").strip() or None,
        multiprocess_dir=os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip() or None,
        log_format="json" if log_format == "json" else "text",
        log_level=os.environ.get("CAPITAL_LOG_LEVEL", "").strip().upper() or "INFO",
    )
