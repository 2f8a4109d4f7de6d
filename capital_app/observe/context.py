"""What the request log line needs to know from deep inside the request.

The request middleware puts a fresh `RequestContext` in a context variable; the
auth dependency notes the actor and the problem handlers note the problem type on
that same object (a context copied into a worker thread still points at it).
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass

# An incoming X-Request-ID is kept when it is short and plain; anything else (too
# long, spaces, quotes, control characters) is replaced by a generated one.
MAX_REQUEST_ID_LENGTH = 128
_SAFE_REQUEST_ID = re.compile(rf"[A-Za-z0-9._:@+=/-]{{1,{MAX_REQUEST_ID_LENGTH}}}")


@dataclass(slots=True)
class RequestContext:
    request_id: str
    user_id: str | None = None
    api_key_id: str | None = None
    organization_id: str | None = None
    problem_type: str | None = None


CURRENT: ContextVar[RequestContext | None] = ContextVar("capital_request", default=None)


def request_id_from(header: bytes | None) -> str:
    """The client's X-Request-ID when it is safe to echo and log, else a new one."""
    if header:
        try:
            text = header.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        if _SAFE_REQUEST_ID.fullmatch(text):
            return text
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    context = CURRENT.get()
    return context.request_id if context else None


def note_actor(user_id: object, organization_id: object, api_key_id: object | None) -> None:
    context = CURRENT.get()
    if context is not None:
        context.user_id = str(user_id)
        context.organization_id = str(organization_id)
        context.api_key_id = str(api_key_id) if api_key_id is not None else None


def note_problem(problem_type: str) -> None:
    context = CURRENT.get()
    if context is not None:
        context.problem_type = problem_type
