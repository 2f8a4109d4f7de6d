"""The change feed for integrators: pages of events, and the same as Server-Sent Events.

`GET /api/events?after=<revision>` answers every history entry written after that
revision, in commit order, a page at a time (`Link: rel="next"`).
`GET /api/events/stream` sends the same events as they are committed: it is woken by
this process's LISTEN connection (capital_app/realtime/listener.py, the one the live
pages use) and then reads what is new from the database, so a lost notification
costs only latency, never an event. It resumes from `Last-Event-ID`. Each stream
takes one of the whole-history stream slots (per user and per organization), holds
no database connection between reads, reads at most a page at a time, and ends
after `CAPITAL_STREAM_MAX_SECONDS` (the client reconnects with `Last-Event-ID`).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Header, Query, Request
from pydantic import WithJsonSchema
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from capital_app.api import exact_json, schemas
from capital_app.api import representations as out
from capital_app.api.deps import CurrentActor
from capital_app.api.routing import ExactJSONResponse, api_router, error_responses
from capital_app.realtime.changes import OrganizationChange
from capital_app.realtime.lifespan import get_listener
from capital_app.service import change_feed
from capital_app.service.actor import Actor
from capital_app.service.change_feed import MAX_FEED_PAGE, FeedEvent
from capital_app.service.errors import LedgerError
from capital_app.settings import get_settings

router = api_router(tags=["change feed"])

DEFAULT_PAGE = 100
STREAM_PAGE = 500
RETRY_MILLISECONDS = 3000
SSE_MEDIA_TYPE = "text/event-stream"


def event_body(event: FeedEvent) -> dict[str, Any]:
    return {
        "eventId": event.event_id,
        "revision": event.revision,
        "entry": out.entry_body(event.entry),
    }


After = Annotated[
    int | None,
    Query(
        ge=0,
        description="A revision: the events of the write transactions after it. Default 0 "
        "(from the beginning) for the feed, the current revision for the stream.",
    ),
    WithJsonSchema({"type": "integer", "minimum": 0}),
]


@router.get(
    "/api/events",
    summary="The change feed: every history entry in commit order",
    response_model=list[schemas.FeedEventOut],
    responses=error_responses(401, 403, 422, 503),
)
def list_events(
    request: Request,
    actor: CurrentActor,
    after: After = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_FEED_PAGE, description="Page size (default 100).")
    ] = DEFAULT_PAGE,
    cursor: Annotated[
        str | None,
        Query(max_length=500, description="An `eventId`: the events after it (the next link)."),
        WithJsonSchema({"type": "string", "maxLength": 500}),
    ] = None,
) -> Response:
    """Every entry written after revision `after` (or after the event `cursor`), in
    revision order — the order their transactions committed, with no gaps — each as
    `{eventId, revision, entry}`. One transaction's entries share a revision. When
    more events follow, a `Link: <…>; rel="next"` header gives the next page; without
    it you have everything up to the revision in `Capital-Revision`. Any API-key scope
    may read it."""
    if cursor is not None:
        cursor_revision, event_id = change_feed.parse_position(cursor)
        page = change_feed.events_page(actor, after=cursor_revision, event_id=event_id, limit=limit)
    else:
        page = change_feed.events_page(actor, after=after, limit=limit)
    headers = {"Capital-Revision": str(page.revision)}
    if page.next_position:
        params = {k: v for k, v in request.query_params.items() if k not in ("cursor", "after")}
        next_url = request.url.replace_query_params(**params, cursor=page.next_position)
        headers["Link"] = f'<{next_url}>; rel="next"'
    return ExactJSONResponse([event_body(e) for e in page.events], headers=headers)


@router.get(
    "/api/events/stream",
    summary="The change feed as Server-Sent Events",
    responses={
        200: {
            "description": "`text/event-stream`: one `history-entry` event per entry, its "
            "`id` the `eventId`; comments (`: keep-alive`) while nothing happens.",
            "content": {SSE_MEDIA_TYPE: {"schema": {"type": "string"}}},
        },
        **error_responses(401, 403, 422, 429, 503),
    },
)
async def stream_events(
    actor: CurrentActor,
    after: After = None,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            max_length=500,
            description="Resume after this event (browsers send it when they reconnect); "
            "a plain revision works too. Wins over `after`.",
        ),
    ] = None,
) -> Response:
    """The events after `Last-Event-ID` (or `after`, or from now on), then each new one
    as soon as it is committed. A stream ends after `CAPITAL_STREAM_MAX_SECONDS`;
    reconnect with `Last-Event-ID` and nothing is missed or repeated. At most
    `CAPITAL_STREAMS_PER_USER` streams and downloads at once per user, or per API key
    (429 beyond)."""
    start_revision, event_id = change_feed.parse_position(last_event_id)
    if start_revision is None and event_id is None:
        start_revision = after
    if start_revision is None and event_id is None:
        start_revision = await anyio.to_thread.run_sync(change_feed.current_revision, actor)
    else:  # checks access now, so a refusal is a status, not an empty stream
        await anyio.to_thread.run_sync(change_feed.current_revision, actor)
    await anyio.to_thread.run_sync(change_feed.take_stream_slot, actor)
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            change_feed.give_back_stream_slot(actor)

    return _SlottedStream(
        _events(actor, start_revision, event_id),
        release,
        media_type=SSE_MEDIA_TYPE,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


class _SlottedStream(StreamingResponse):
    """Gives the stream slot back however the response ends (also when the client left
    before the first byte, when the body generator never started)."""

    def __init__(self, content: AsyncIterator[bytes], release: Callable[[], None], **kw: Any):
        super().__init__(content, **kw)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            try:
                aclose = getattr(self.body_iterator, "aclose", None)
                if aclose is not None:
                    await aclose()
            finally:
                self._release()


def _sse(event: FeedEvent) -> bytes:
    data = exact_json.dumps(event_body(event))
    return b"id: " + event.event_id.encode() + b"\nevent: history-entry\ndata: " + data + b"\n\n"


async def _events(actor: Actor, after: int | None, event_id: str | None) -> AsyncIterator[bytes]:
    settings = get_settings()
    deadline = time.monotonic() + settings.stream_max_seconds
    wake = asyncio.Event()

    async def on_change(_change: OrganizationChange) -> None:
        wake.set()

    listener = get_listener()
    await listener.start()  # started by the app's lifespan; a bare API server starts it here
    subscription = listener.subscribe(on_change, actor.organization_id)
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n\n".encode()
        while True:
            wake.clear()  # before reading: a commit during the read wakes the next one
            try:
                page = await anyio.to_thread.run_sync(
                    functools.partial(
                        change_feed.events_page,
                        actor,
                        after=after,
                        event_id=event_id,
                        limit=STREAM_PAGE,
                    )
                )
            except LedgerError as error:  # revoked, deactivated, database down: end it
                body = exact_json.dumps({"title": error.title, "detail": error.message})
                yield b"event: error\ndata: " + body + b"\n\n"
                return
            if page.events:
                yield b"".join(_sse(e) for e in page.events)
                event_id = page.events[-1].event_id
            if page.next_position:
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                await asyncio.wait_for(
                    wake.wait(), min(settings.event_stream_heartbeat_seconds, remaining)
                )
            except TimeoutError:
                yield b": keep-alive\n\n"  # also re-reads: a safety net for a lost wake-up
    finally:
        await subscription.close()
