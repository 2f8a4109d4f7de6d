"""The change feed: every history entry in commit (revision) order, for integrators.

Each write transaction takes the organization's next revision while holding its
counter's lock, so revisions follow commit order with no gaps: a reader that
remembers where it stopped replays exactly what it missed. One transaction (an
import) can write many entries under one revision, so a position in the feed is
(revision, source id, sequence) — the event id — and `after=<revision>` starts after
every entry of that revision.
"""

from __future__ import annotations

from dataclasses import dataclass

from capital_app.db import history_repository as history
from capital_app.db.history_repository import HistoryFilter, encode_cursor
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.events import HistoryEntry
from capital_app.service.actor import Actor, Permission, authorize
from capital_app.service.errors import InvalidInput
from capital_app.service.history_stream import SLOTS

MAX_FEED_PAGE = 1000
ORDER = "revision"


@dataclass(frozen=True, slots=True)
class FeedEvent:
    event_id: str  # the position just after this entry: resume from it
    entry: HistoryEntry

    @property
    def revision(self) -> int:
        assert self.entry.revision is not None
        return self.entry.revision


@dataclass(frozen=True, slots=True)
class FeedPage:
    events: list[FeedEvent]
    next_position: str | None  # an event id when more events follow now
    revision: int  # the organization's revision when the page was read


def parse_position(value: str | None) -> tuple[int | None, str | None]:
    """A feed position as (after revision, event id): an integer is a revision, anything
    else an event id (checked when used)."""
    if value is None or not value.strip():
        return None, None
    value = value.strip()
    if value.isdigit():
        return int(value), None
    history.decode_cursor(ORDER, value)  # InvalidInput when it is not an event id
    return None, value


def events_page(
    actor: Actor, *, after: int | None = None, event_id: str | None = None, limit: int = 100
) -> FeedPage:
    """The events after `event_id` (if given) else after revision `after` (default 0)."""
    if not 1 <= limit <= MAX_FEED_PAGE:
        raise InvalidInput.one("limit", f"Limit must be between 1 and {MAX_FEED_PAGE}.")
    if after is not None and after < 0:
        raise InvalidInput.one("after", "After must be a revision: 0 or more.")
    flt = HistoryFilter(after_revision=None if event_id else (after or 0))
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.READ)
        revision = history.current_revision(conn, actor.organization_id)
        entries, next_cursor = history.list_history(
            conn, actor.organization_id, flt, order=ORDER, cursor=event_id, limit=limit
        )
    events = [FeedEvent(encode_cursor(ORDER, e), e) for e in entries]
    return FeedPage(events, next_cursor, revision)


def current_revision(actor: Actor) -> int:
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.READ)
        return history.current_revision(conn, actor.organization_id)


def take_stream_slot(actor: Actor) -> None:
    """An event stream counts against the same per-user and per-organization caps as
    the whole-history downloads (TooManyStreams, 429, when none is free)."""
    SLOTS.take(actor)


def give_back_stream_slot(actor: Actor) -> None:
    SLOTS.give_back(actor)
