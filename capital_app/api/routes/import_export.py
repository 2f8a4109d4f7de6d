"""Bring a browser-prototype export in, take the whole history out.

`POST /api/capital-history/import` streams the request body into the service's
importer (the body is never held whole: the parser reads it chunk by chunk as
it arrives), so it gets a larger body cap than the rest of the API
(`max_import_bytes`, see api/limits.py). `GET /api/capital-history/export`
streams the export from one read-only snapshot. Both paths sit under
`/api/capital-history/`, so this router is registered before the history
router, whose `/api/capital-history/{sourceId}` would otherwise take "export"
for a source id.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import anyio
import anyio.from_thread
import anyio.to_thread
from fastapi import Query, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from capital_app.api import schemas
from capital_app.api.body_size import IMPORT_PATH
from capital_app.api.deps import AsOf, CurrentActor, KnownAt
from capital_app.api.problems import problem, problem_type
from capital_app.api.routing import ExactJSONResponse, api_router, error_responses
from capital_app.api.streaming import in_worker_thread
from capital_app.domain.export_format import ExportFormat
from capital_app.domain.prototype_format import ImportProblem
from capital_app.service import history_export, history_import
from capital_app.service.history_import import ImportRefused, ImportReport
from capital_app.settings import get_settings

router = api_router(tags=["migration and export"])

# Bodies the importer reads: JSON, or a file sent as-is. A form would wrap the file in
# a format the importer does not read, so it is refused plainly rather than misread.
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _text(value: str | None) -> str | None:
    """A file's unknown field name may hold a lone surrogate (JSON can spell "\\ud800"),
    which no UTF-8 answer can carry: shown as U+FFFD instead."""
    return None if value is None else _LONE_SURROGATE.sub("\ufffd", value)


def _error_body(p: ImportProblem) -> dict[str, Any]:
    field = p.field or ("file" if p.index is None else "entry")
    return {
        "index": p.index,
        "field": _text(field),
        "message": _text(p.message),
        "entryId": _text(p.entry_id),
    }


def report_body(report: ImportReport) -> dict[str, Any]:
    """The service's report with each problem as {index, field, message, entryId}."""
    body = report.as_json()
    body["errors"] = [_error_body(p) for p in report.errors]
    body["errorCounts"] = {_text(kind): n for kind, n in report.errors.counts.most_common()}
    return body


def _refused(request: Request, error: ImportRefused) -> Response:
    """422 problem+json carrying the report: the first problems, all of them counted."""
    body = report_body(error.report)
    for key in ("type", "title", "status", "detail", "instance"):
        body.pop(key, None)
    return problem(
        422,
        error.title,
        error.message,
        type_=problem_type(error),
        instance=request.url.path,
        **body,
    )


READ_AHEAD = 1 << 20  # bytes handed to the parser's thread at a time


def _body_chunks(request: Request) -> Iterator[bytes]:
    """The request body as it arrives, for code in a worker thread, in pieces of about
    READ_AHEAD bytes: the server delivers it in small pieces, and each trip between the
    event loop and the thread costs more than parsing a small piece does."""
    stream = request.stream()

    async def next_piece() -> bytes | None:
        parts: list[bytes] = []
        size = 0
        while size < READ_AHEAD:
            try:
                part = await stream.__anext__()
            except StopAsyncIteration:
                break
            parts.append(part)
            size += len(part)
        return b"".join(parts) if parts else None

    while (piece := anyio.from_thread.run(next_piece)) is not None:
        if piece:
            yield piece


async def _discard_rest(request: Request) -> None:
    """Read what is left of the body, so the client hears the answer, not a reset."""
    try:
        async for _ in request.stream():
            pass
    except Exception:
        pass


_IMPORT_RESPONSES = error_responses(401, 403, 413, 415, 503)
_IMPORT_RESPONSES[413] = {
    "model": schemas.Problem,
    "description": "The body is larger than `CAPITAL_MAX_IMPORT_BYTES` (64 MiB unless configured).",
}
_IMPORT_RESPONSES[415] = {
    "model": schemas.Problem,
    "description": "The file was sent as a form; send the file itself as the body.",
}
_IMPORT_RESPONSES[422] = {
    "model": schemas.ImportRefusedProblem,
    "description": "The file has problems (or a query parameter is wrong); nothing was "
    "written. `errors` lists every one, with the entry's `index`.",
}


@router.post(
    IMPORT_PATH,
    summary="Import a browser-prototype export",
    response_model=schemas.ImportReportOut,
    responses=_IMPORT_RESPONSES,
    max_body_size=get_settings().max_import_bytes,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schemas.IMPORT_BODY_SCHEMA}},
        }
    },
)
async def import_history(
    request: Request,
    actor: CurrentActor,
    dry_run: Annotated[
        bool, Query(alias="dryRun", description="Check and report; write nothing.")
    ] = False,
    file_name: Annotated[
        str | None,
        Query(
            alias="fileName",
            max_length=255,
            pattern=r"^[^\x00-\x1f\x7f]*$",
            description="The file's name, kept in the import log.",
        ),
    ] = None,
) -> Response:
    """EDITOR or ADMIN. All or nothing: any problem answers 422 with every problem (its
    entry's `index` in the file, the field, a message) and writes nothing. Entries keep
    their prototype ids, dates and `createdBy`; one already stored is skipped, so
    importing the same file again adds nothing. With `dryRun=true` the answer is 200
    with the same report (problems included) and nothing is written."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in _FORM_TYPES:
        await _discard_rest(request)
        raise StarletteHTTPException(
            415,
            "Send the export file itself as the request body (Content-Type: application/json), "
            "not as a form.",
        )
    chunks = _body_chunks(request)
    try:
        report = await anyio.to_thread.run_sync(
            lambda: history_import.import_history(
                actor, chunks, file_name=file_name, dry_run=dry_run
            )
        )
    except ImportRefused as error:
        return _refused(request, error)
    except ClientDisconnect:  # the upload stopped half-way; nobody is left to answer
        return Response(status_code=400)
    except Exception:
        await _discard_rest(request)
        raise
    return ExactJSONResponse(report_body(report))


_CSV_EXAMPLE = (
    "id,sourceId,sequence,action,effectiveDate,name,annualRate,availableCents,"
    "previousRate,previousAmount,notes,createdAt,createdBy\r\n"
    "hist_1737000000000_k3j9x,src_1737000000000_a81bz,1,ADDED,2024-01-22T09:00:00.000Z,"
    "KCB term loan,0.1325,250000000,,,,2024-01-22T09:01:00.000Z,demo-user\r\n"
)


@router.get(
    "/api/capital-history/export",
    summary="Export the whole history (JSON or CSV)",
    responses={
        200: {
            "model": list[schemas.ExportEntryOut],
            "description": "The organization's every entry in (`sourceId`, `sequence`) "
            "order, streamed; `Content-Disposition` names the file. The JSON form "
            "re-imports (POST /api/capital-history/import) as the same history.",
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE},
            },
        },
        **error_responses(401, 422, 503),
    },
)
def export_history(
    actor: CurrentActor,
    fmt: Annotated[
        ExportFormat, Query(alias="format", description="json (re-importable) or csv.")
    ] = ExportFormat.JSON,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> Response:
    """Any role. One consistent snapshot, however long the download takes. `asOf` keeps
    the entries effective by then, `knownAt` those recorded by then (`createdAt`)."""
    name = history_export.export_file_name(actor, fmt)
    chunks = history_export.export_history(
        actor, fmt, as_of=as_of, known_at=known_at
    )  # checks access, takes a stream slot
    media_type = "text/csv; charset=utf-8" if fmt is ExportFormat.CSV else fmt.media_type
    return StreamingResponse(
        _encoded(chunks),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _encoded(chunks: Iterator[str]) -> AsyncIterator[bytes]:
    """The export's text as UTF-8, each chunk produced in a worker thread."""
    async for chunk in in_worker_thread(chunks, _encode_text):
        yield chunk


def _encode_text(chunks: list[str]) -> bytes:
    return "".join(chunks).encode()
