"""The capital history: read it (filtered, paged) and append to it (four commands)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Path, Query, Request
from pydantic import WithJsonSchema
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from capital_app.api import exact_json, schemas
from capital_app.api import representations as out
from capital_app.api.deps import AsOf, CurrentActor, IdempotencyKey, KnownAt
from capital_app.api.routing import ExactJSONResponse, api_router, error_responses
from capital_app.api.streaming import in_worker_thread
from capital_app.domain.events import HistoryEntry
from capital_app.domain.views import HistoryPage
from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from capital_app.service import hot_reads
from capital_app.service.actor import Actor
from capital_app.service.history_commands import CommandResult
from capital_app.service.history_queries import MAX_PAGE
from capital_app.settings import get_settings

# A `cursor` without `limit` (a hand-built next link) pages this many at a time.
DEFAULT_PAGE = 100

router = api_router(tags=["capital history"])

_COMMAND_ERRORS = error_responses(401, 403, 404, 409, 413, 422, 503)


@router.get(
    "/api/capital-history",
    summary="The organization's history entries",
    response_model=list[schemas.HistoryEntryOut],
    responses=error_responses(401, 404, 422, 503),
)
async def list_history(
    request: Request,
    actor: CurrentActor,
    source_id: Annotated[
        schemas.SourceIdFilter, Query(alias="sourceId", description="Only this source's entries.")
    ] = None,
    start_date: Annotated[
        schemas.StartBound,
        Query(alias="startDate", description="Effective on or after (a date: from its start)."),
    ] = None,
    end_date: Annotated[
        schemas.EndBound,
        Query(alias="endDate", description="Effective on or before (a date: to its end)."),
    ] = None,
    action: Annotated[
        schemas.ActionFilter, Query(description="Only entries of this action.")
    ] = None,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_PAGE,
            description="Page size. Without `limit` and `cursor` the answer is every "
            "matching entry, as one array (how the browser prototype's client reads it).",
        ),
        WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(max_length=500, description="From the `Link: rel=next` header."),
        WithJsonSchema({"type": "string", "maxLength": 500}),
    ] = None,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> Response:
    """Ordered by (`effectiveDate`, `sequence`). Paged when `limit` or `cursor` is
    given: when more entries remain, the answer has a `Link: <…>; rel="next"` header
    (RFC 8288) with the next page's URL. Without either, every matching entry, streamed
    from one consistent snapshot. `asOf` keeps the entries effective by then, `knownAt`
    those recorded by then: what the organization believed at `knownAt`."""
    moments = {"as_of": as_of, "known_at": known_at}
    if limit is None and cursor is None:
        entries = await run_in_threadpool(
            partial(queries.stream_history, actor, source_id=source_id, action=action,
                    start=start_date, end=end_date, **moments)
        )  # fmt: skip
        return StreamingResponse(_json_array(entries), media_type="application/json")
    page_of = hot_reads.list_history if get_settings().async_reads else _sync_page
    page = await page_of(
        actor,
        source_id=source_id,
        action=action,
        start=start_date,
        end=end_date,
        cursor=cursor,
        limit=limit or DEFAULT_PAGE,
        as_of=as_of,
        known_at=known_at,
    )
    headers = {}
    if page.next_cursor:
        next_url = request.url.include_query_params(cursor=page.next_cursor)
        headers["Link"] = f'<{next_url}>; rel="next"'
    return ExactJSONResponse([out.entry_body(e) for e in page.entries], headers=headers)


async def _sync_page(actor: Actor, **filters: Any) -> HistoryPage:
    return await run_in_threadpool(partial(queries.list_history, actor, **filters))


@router.get(
    "/api/capital-history/{sourceId}",
    summary="One source's entries",
    response_model=list[schemas.HistoryEntryOut],
    responses=error_responses(401, 404, 422, 503),
)
async def source_history(
    actor: CurrentActor,
    source_id: Annotated[str, Path(alias="sourceId", max_length=100)],
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> Response:
    """Every entry of the source, in (`effectiveDate`, `sequence`) order; 404 unless the
    source belongs to the caller's organization. `asOf` / `knownAt` as for the list."""
    if get_settings().async_reads:
        entries = await hot_reads.source_history(actor, source_id, as_of, known_at)
    else:
        entries = await run_in_threadpool(queries.source_history, actor, source_id, as_of, known_at)
    return ExactJSONResponse([out.entry_body(e) for e in entries])


def _created(result: CommandResult) -> Response:
    headers = {"Location": f"/api/capital-history/{quote(result.source_id, safe='')}"}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return ExactJSONResponse(out.command_body(result), status_code=201, headers=headers)


@router.post(
    "/api/capital-history/add-source",
    summary="Add a capital source",
    status_code=201,
    response_model=schemas.CommandResponse,
    responses=_COMMAND_ERRORS,
)
def add_source(
    body: schemas.AddSourceRequest, actor: CurrentActor, key: IdempotencyKey = None
) -> Response:
    """EDITOR or ADMIN. The name must not be another active source's (ignoring case) → 409."""
    result = commands.execute(actor, body.to_command(), key)
    return _created(result)


@router.post(
    "/api/capital-history/update-amount",
    summary="Change a source's amount",
    status_code=201,
    response_model=schemas.CommandResponse,
    responses=_COMMAND_ERRORS,
)
def update_amount(
    body: schemas.UpdateAmountRequest, actor: CurrentActor, key: IdempotencyKey = None
) -> Response:
    """EDITOR or ADMIN. A stale `expectedSequence` → 409 with the latest entry."""
    result = commands.execute(actor, body.to_command(), key)
    return _created(result)


@router.post(
    "/api/capital-history/update-rate",
    summary="Change a source's rate",
    status_code=201,
    response_model=schemas.CommandResponse,
    responses=_COMMAND_ERRORS,
)
def update_rate(
    body: schemas.UpdateRateRequest, actor: CurrentActor, key: IdempotencyKey = None
) -> Response:
    """EDITOR or ADMIN. A stale `expectedSequence` → 409 with the latest entry."""
    result = commands.execute(actor, body.to_command(), key)
    return _created(result)


def remove_source(
    body: schemas.RemoveSourceRequest, actor: CurrentActor, key: IdempotencyKey = None
) -> Response:
    """EDITOR or ADMIN. Nothing may take effect after the removal's date."""
    result = commands.execute(actor, body.to_command(), key)
    return _created(result)


for _path, _operation_id in (
    ("/api/capital-history/remove-source", "remove_source"),
    ("/api/capital-history/remove", "remove_source_alias"),
):
    router.add_api_route(
        _path,
        remove_source,
        methods=["POST"],
        summary="Remove a source" + (" (alias)" if _path.endswith("/remove") else ""),
        operation_id=_operation_id,
        status_code=201,
        response_model=schemas.CommandResponse,
        responses=_COMMAND_ERRORS,
    )


async def _json_array(entries: Iterator[HistoryEntry]) -> AsyncIterator[bytes]:
    """The entries as one JSON array, 200 at a time (each read and encoded off the
    event loop, paced: api/streaming.py)."""
    first = True
    async for body in in_worker_thread(entries, _encode_entries, batch=200):
        yield (b"[" if first else b",") + body
        first = False
    yield b"[]" if first else b"]"


def _encode_entries(batch: list[HistoryEntry]) -> bytes:
    return b",".join(exact_json.dumps(out.entry_body(e)) for e in batch)
