"""Structured logs: one line per request, per command and per error.

Standard library `logging` (no new dependency, and Reflex, Granian and SQLAlchemy
already log through it): every line is a message plus a dict of fields, passed as
`extra={"fields": {...}}`. `CAPITAL_LOG_FORMAT=json` writes one JSON object per
line (orjson); otherwise (`make run`) a readable line with `key=value` pairs.
`CAPITAL_LOG_LEVEL` (default INFO) filters; WARNING drops the request and command
lines.

Never logged: headers (Authorization, cookies), query strings, bodies, passwords,
tokens, API key secrets. The request line holds ids only (request, user, API key,
organization), the route *template*, the status and the duration.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from capital_app.observe.context import current_request_id
from capital_app.settings import get_observability_settings

APP_LOGGER = "capital_app"
REQUEST_LOGGER = "capital_app.request"
COMMAND_LOGGER = "capital_app.command"


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = dict(getattr(record, "fields", None) or {})
    if "request_id" not in fields and (request_id := current_request_id()):
        fields["request_id"] = request_id
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = _fields(record)
        if fields:
            pairs = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
            text = f"{text}  {pairs}" if "\n" not in text else text.replace("\n", f"  {pairs}\n", 1)
        return text


_configured = False


def configure_logging() -> None:
    """Give the app's loggers one stderr handler in the chosen format (once per process)."""
    global _configured
    if _configured:
        return
    _configured = True
    settings = get_observability_settings()
    json_lines = settings.log_format == "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    logger = logging.getLogger(APP_LOGGER)
    logger.addHandler(handler)
    logger.setLevel(settings.log_level)
    logger.propagate = False


def log_command(
    kind: str,
    organization_id: object,
    source_id: str | None,
    revision: int | None,
    *,
    user_id: object | None = None,
    api_key_id: object | None = None,
) -> None:
    """The line of one history command (a service layer write), after its commit."""
    logger = logging.getLogger(COMMAND_LOGGER)
    if not logger.isEnabledFor(logging.INFO):
        return
    logger.info(
        "command %s",
        kind,
        extra={
            "fields": {
                "kind": kind,
                "organization_id": str(organization_id),
                "source_id": source_id,
                "revision": revision,
                "user_id": str(user_id) if user_id is not None else None,
                "api_key_id": str(api_key_id) if api_key_id is not None else None,
            }
        },
    )
