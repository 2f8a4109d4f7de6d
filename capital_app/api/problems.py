"""Every failure as an RFC 9457 problem: one place maps errors to statuses.

Ledger errors carry a `kind`; the kind decides the status. Request-shape errors
(FastAPI validation, unknown routes, oversized bodies) get the same format.
Anything unexpected becomes a 500 with an id that is also in the log — never a
stack trace or SQL in the response.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from capital_app.api import exact_json
from capital_app.api.body_size import TOO_LARGE_TITLE, too_large_detail
from capital_app.api.representations import entry_body
from capital_app.domain.errors import ErrorKind, InvalidInput, LedgerError, SequenceMismatch
from capital_app.observe.context import note_problem
from capital_app.observe.metrics import count_problem

logger = logging.getLogger("capital_app.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
WWW_AUTHENTICATE = 'Bearer realm="capital-ledger"'

STATUS_BY_KIND: dict[ErrorKind, int] = {
    ErrorKind.INVALID: 422,
    ErrorKind.CONFLICT: 409,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.THROTTLED: 429,
    ErrorKind.UNAVAILABLE: 503,
}

_HTTP_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    408: "Request body too slow",
    413: TOO_LARGE_TITLE,
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class ProblemResponse(Response):
    media_type = PROBLEM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return exact_json.dumps(content)


def _slug(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def problem_type(error: LedgerError) -> str:
    """A stable identifier per error class, e.g. urn:capital-ledger:problem:name-taken."""
    return f"urn:capital-ledger:problem:{_slug(type(error).__name__)}"


INVALID_INPUT_TYPE = "urn:capital-ledger:problem:invalid-input"


problem_logger = logging.getLogger("capital_app.problem")


def _observe_problem(type_: str, status: int, title: str) -> None:
    """Every problem answered: counted by type and logged (type, status, title only:
    details may quote what the client sent)."""
    note_problem(type_)
    count_problem(type_, status)
    problem_logger.log(
        logging.WARNING if status >= 500 else logging.INFO,
        "problem %s %s",
        status,
        type_,
        extra={"fields": {"problem_type": type_, "status": status, "title": title}},
    )


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    type_: str = "about:blank",
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extra)
    _observe_problem(type_, status, title)
    all_headers = dict(headers or {})
    if status == 401:
        all_headers.setdefault("WWW-Authenticate", WWW_AUTHENTICATE)
    return ProblemResponse(body, status_code=status, headers=all_headers)


def ledger_problem(request: Request, error: LedgerError) -> ProblemResponse:
    status = STATUS_BY_KIND.get(error.kind, 422)
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if status == 422:
        extra["errors"] = [{"field": e.field, "message": e.message} for e in error.field_errors]
    if isinstance(error, SequenceMismatch):
        extra["expectedSequence"] = error.expected
        extra["currentSequence"] = error.current
        extra["latestEntry"] = entry_body(error.latest_entry) if error.latest_entry else None
    missing_rates = getattr(error, "missing_rates", None)  # RateMissing
    if isinstance(missing_rates, list):
        extra["missingRates"] = missing_rates
    organizations = getattr(error, "organizations", None)  # OrganizationNeeded
    if isinstance(organizations, list):
        extra["organizations"] = [{"id": str(i), "name": n} for i, n in organizations]
    retry_after = getattr(error, "retry_after", None)  # TooManyAttempts, TooManyStreams
    if isinstance(retry_after, int):
        headers["Retry-After"] = str(retry_after)
        extra["retryAfter"] = retry_after
    if status == 503:
        headers.setdefault("Retry-After", "5")
    return problem(
        status,
        error.title,
        error.message,
        type_=problem_type(error),
        instance=request.url.path,
        headers=headers,
        **extra,
    )


_MESSAGES = {
    "missing": "This field is required.",
    "extra_forbidden": "Unknown field; check the spelling (field names are camelCase).",
    "json_invalid": "The body is not valid JSON.",
    "model_attributes_type": "Expected a JSON object.",
    "dict_type": "Expected a JSON object.",
}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in ("body", "query", "path") else []
    if loc and loc[0] == "header":
        return "-".join(w.capitalize() for w in str(loc[-1]).replace("_", "-").split("-"))
    if loc and loc[0] == "body" and len(loc) == 2 and isinstance(loc[1], int):
        return "body"  # a JSON decode position, not a field
    return ".".join(parts) or "body"


def validation_errors(error: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for item in error.errors():
        kind = item.get("type", "")
        message = _MESSAGES.get(kind) or str(item.get("msg", "Invalid value."))
        if kind == "json_invalid":
            reason = (item.get("ctx") or {}).get("error")
            message = f"The body is not valid JSON: {reason}." if reason else message
        out.append({"field": _field(tuple(item.get("loc", ()))), "message": message})
    return out


async def _ledger_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, LedgerError)
    return ledger_problem(request, error)


async def _request_validation(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    errors = validation_errors(error)
    return problem(
        422,
        InvalidInput.title,
        "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "The request is not valid.",
        type_=INVALID_INPUT_TYPE,
        instance=request.url.path,
        errors=errors,
    )


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    status = error.status_code
    title = _HTTP_TITLES.get(status, "Request failed")
    detail = error.detail if isinstance(error.detail, str) else title
    if status == 404 and detail == "Not Found":
        detail = "There is no such endpoint; see /api/docs."
    if status == 413:
        detail = too_large_detail(request.url.path)
    return problem(
        status, title, detail, instance=request.url.path, headers=dict(error.headers or {})
    )


async def _unexpected(request: Request, error: Exception) -> Response:
    error_id = uuid.uuid4().hex
    logger.error(
        "unexpected error %s on %s %s",
        error_id,
        request.method,
        request.url.path,
        exc_info=(type(error), error, error.__traceback__),
    )
    return problem(
        500,
        "Internal server error",
        f"Something went wrong on our side. If it persists, quote error id {error_id}.",
        instance=request.url.path,
        errorId=error_id,
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LedgerError, _ledger_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
