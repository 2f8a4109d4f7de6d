"""The base state every page shares: who is signed in, their organization, the view.

The browser keeps only the signed session token (localStorage, shared by the tabs
of one browser). Every page load resumes the session through the service layer,
which re-reads the user: the name, role and organization held here are for
display only, and every service call re-checks the role itself. A forged event
therefore gains nothing: the handlers act as the token's user, and the service
refuses what that user may not do.

Live updates (realtime/) reach a session by enqueuing `AppState.catch_up` for
its client token; the `SessionHooks` that capital_app/wiring.py installs
(`install_session_hooks`) tell them which sessions belong to which organization. `catch_up` reloads whatever page the session shows,
through that page's one `_fetch(actor, pushed)`, which reads the revision and the
data in one snapshot; `pushed` is the revision the push announced (None for any
other read), passed explicitly down to `call_shared`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from uuid import UUID

import reflex as rx
from reflex.event import EventSpec

from capital_app.domain.dates import (
    format_datetime,
    format_day,
    local_today,
    parse_day,
    zone,
)
from capital_app.domain.errors import ErrorKind, LedgerError
from capital_app.domain.values import Role
from capital_app.domain.view_query import (
    ViewQuery,
    format_moment,
    format_view_query,
    moment_end,
    parse_moment,
    parse_moment_params,
)
from capital_app.service import alerts, sessions
from capital_app.service.actor import Actor
from capital_app.service.authentication import actor_from_session_token
from capital_app.service.errors import InvalidToken, Unauthenticated
from capital_app.ui.alert_presenters import LiveAlert, live_alert, with_news
from capital_app.ui.navigation import HOME_ROUTE as HOME_ROUTE  # the pages import it from here
from capital_app.ui.navigation import LOGIN_ROUTE, login_path
from capital_app.ui.url_state import show_url

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Reads run under the session's state lock (Reflex's Redis lock expires after 10 s).
LOAD_TIMEOUT_SECONDS = 8.0
# Writes run in background tasks (no lock held while the database works).
SAVE_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class SessionHooks:
    """What else runs when a session signs in, ends or loads a page (the realtime layer).

    Built and installed once by capital_app/wiring.py (`install_session_hooks`);
    none by default (a state used without the app, e.g. in a unit test).
    """

    # (client token, organization id) of each session that loads a page, before the
    # page reads its data: the realtime layer learns whom to push changes to.
    signed_in: Callable[[str, UUID], None] | None = None
    # The client token of a session that signed out or whose sign-in ended.
    ended: Callable[[str], None] | None = None
    # Awaited with the page's state once a signed-in page may show (presence, worker pid).
    page_loaded: Callable[[AppState], Awaitable[None]] | None = None


class _InstalledHooks:
    """The one place the process's SessionHooks are held (set by the wiring)."""

    def __init__(self) -> None:
        self.hooks = SessionHooks()


_INSTALLED = _InstalledHooks()


def install_session_hooks(hooks: SessionHooks) -> None:
    """Called once by capital_app/wiring.py, before the pages are added."""
    _INSTALLED.hooks = hooks


def session_hooks() -> SessionHooks:
    return _INSTALLED.hooks


class ServiceTimeout(LedgerError):
    kind = ErrorKind.UNAVAILABLE
    title = "No answer in time"


async def call_service(fn: Callable[..., T], *args: Any, timeout: float, **kwargs: Any) -> T:
    """Run a (blocking) service function in a worker thread, never on the event loop.

    Gives up waiting after `timeout` seconds with a message a person can act on:
    nothing on screen waits forever. (The thread finishes on its own; a write that
    commits late is announced like anyone else's and shows on the next reload.)
    """
    try:
        return await asyncio.wait_for(asyncio.to_thread(partial(fn, *args, **kwargs)), timeout)
    except TimeoutError:
        raise ServiceTimeout(
            f"The ledger did not answer within {timeout:.0f} seconds. Try again in a moment."
        ) from None


async def call_shared(
    fn: Callable[..., T],
    actor: Actor,
    *args: Any,
    pushed: int | None,
    question: Any,
    timeout: float,
    revision_of: Callable[[T], int] | None = None,
) -> T:
    """`fn(actor, *args)` like `call_service`; during a live push, one read per process.

    `pushed`: the organization revision a live push announced to this session
    (the `pushed` its page's `_fetch` was given), None for any other read.

    After a push every open session of the organization asks the same question at
    once: for reads that depend only on the organization and `question` (which
    must hold every argument), the sessions of this process share one read that
    sees at least the pushed revision (realtime/shared_reads.py; each asker is
    still authorized).
    """
    if pushed is None:
        return await call_service(fn, actor, *args, timeout=timeout)
    from capital_app.realtime.lifespan import process_realtime

    try:
        shared = process_realtime().shared_reads.read(
            actor, pushed, question, fn, *args, revision_of=revision_of
        )
        return await asyncio.wait_for(shared, timeout)
    except TimeoutError:
        raise ServiceTimeout(
            f"The ledger did not answer within {timeout:.0f} seconds. Try again in a moment."
        ) from None


def _notify(observe: Callable[..., None] | None, *args: Any) -> None:
    if observe is None:
        return
    try:
        observe(*args)
    except Exception:  # an observer's bug must not lock anyone out
        logger.exception("session observer failed")


def is_signed_out(error: LedgerError) -> bool:
    return isinstance(error, InvalidToken | Unauthenticated)


@dataclass(frozen=True, slots=True)
class PendingEdit:
    """An edit shown at once, before the ledger confirms it (optimistic).

    Reconciled by `(source_id, sequence)`: the entry it will become is the
    source's next sequence (1 for an addition, whose source id is only known once
    saved: until then it matches by name). Once loaded data contains that entry,
    the pending row gives way to it.
    """

    key: str  # also the command's idempotency key
    kind: str  # add | amount | rate | remove
    source_id: str
    name: str
    sequence: int
    amount_cents: int | None = None
    rate_text: str = ""  # the new rate, formatted
    amount_text: str = ""  # the new amount, formatted
    # The page already showed `sequence` (someone else's entry, pushed live) when this
    # was submitted: that entry is not this one, so it stays pending until answered.
    stale: bool = False

    @property
    def label(self) -> str:
        return "Removing…" if self.kind == "remove" else "Saving…"


def unconfirmed_change(
    pending: list[PendingEdit], source_id: str, loaded_sequence: int
) -> PendingEdit | None:
    """The pending change of a source that the loaded data does not contain yet."""
    return next(
        (
            p
            for p in pending
            if p.source_id == source_id and (p.sequence > loaded_sequence or p.stale)
        ),
        None,
    )


def unconfirmed_additions(pending: list[PendingEdit], active_names: set[str]) -> list[PendingEdit]:
    """Pending additions whose source the loaded data does not show yet (names are unique
    among active sources, ignoring case)."""
    return [p for p in pending if p.kind == "add" and p.name.lower() not in active_names]


@dataclass(frozen=True, slots=True)
class EditTarget:
    """An existing source as a page showed it: what a change dialog starts from."""

    source_id: str
    name: str
    amount_cents: int
    rate: Decimal
    sequence: int
    currency: str = ""  # the source's own ("": the organization's)


class AppState(rx.State):
    """Who is signed in, their organization, and which moment the pages show."""

    # Kept by the browser: the signed session token, and its time zone (written
    # before the app starts by a script in the page head, see capital_app/wiring.py).
    session_token: str = rx.LocalStorage("", name="capital_session", sync=True)
    time_zone: str = rx.LocalStorage("UTC", name="capital_tz")

    # Display copies of what the last resume read (never trusted for access).
    user_id: str = ""
    user_name: str = ""
    user_email: str = ""
    user_role: str = ""
    organization_id: str = ""
    organization_name: str = ""
    currency: str = "KES"
    auth_message: str = ""  # why the login page is shown (expired, signed out, …)

    # The view: "" means today / as known now; else a day ('2025-03-31', its end in the
    # view's zone) or an exact instant ('2025-04-02T10:00:00Z', from a link). On the
    # pages whose view lives in their URL (PageState._url_view) the URL sets these.
    as_of_day: str = ""
    known_at_day: str = ""
    view_zone: str = ""  # the zone a link's days are read in ("": the viewer's own)
    view_problem: str = ""  # why a link's value was not used, and what shows instead
    show_known_at: bool = False
    today: str = ""  # the viewer's today (YYYY-MM-DD), the date inputs' maximum

    # Live updates: the organization revision the page last read, and whether a
    # past view has been told that newer data exists.
    revision: int = 0
    newer_data: bool = False

    # Alerts pushed live (the banner of ui/layout.py), newest first, and the revision up
    # to which this session has been told of alerts (-1: not known before a page read).
    live_alerts: list[LiveAlert] = []
    _alerts_after: int = -1

    _current_page: str = ""  # full name of the PageState the session shows
    _pending: list[PendingEdit] = []

    # --- derived -------------------------------------------------------------

    @rx.var
    def signed_in(self) -> bool:
        return bool(self.user_id)

    @rx.var
    def is_past(self) -> bool:
        return bool(self.as_of_day or self.known_at_day)

    @rx.var
    def can_edit(self) -> bool:
        role = Role.named(self.user_role)
        writer = role is not None and role.can_write_history
        return writer and not (self.as_of_day or self.known_at_day)

    @rx.var
    def is_writer(self) -> bool:
        role = Role.named(self.user_role)
        return role is not None and role.can_write_history

    @rx.var
    def is_admin(self) -> bool:
        role = Role.named(self.user_role)
        return role is not None and role.can_administer

    @rx.var
    def user_initials(self) -> str:
        parts = [p for p in self.user_name.split() if p]
        return "".join(p[0] for p in parts[:2]).upper() or "?"

    @rx.var
    def past_view_text(self) -> str:
        """'Viewing 31 Jan 2026 as known on 1 Mar 2026 — read-only' (an instant from a
        link: 'as known at 2 Apr 2025, 13:00'; a link's zone is named when not ours)."""
        tz = zone(self.view_zone or self.time_zone)
        as_of = parse_moment(self.as_of_day, tz)
        known = parse_moment(self.known_at_day, tz)
        if isinstance(as_of, datetime):
            seen = f"Viewing {format_datetime(as_of, tz)}"
        else:
            seen = f"Viewing {format_day(as_of)}" if as_of else "Viewing today"
        if isinstance(known, datetime):
            known_text = f" as known at {format_datetime(known, tz)}"
        else:
            known_text = f" as known on {format_day(known)}" if known else " as known now"
        where = f" ({self.view_zone} time)" if self.view_zone else ""
        return f"{seen}{known_text}{where} — read-only"

    @rx.var
    def as_of_input(self) -> str:
        """The as-of date input's value: the view's day (an instant's, in the view's zone)."""
        moment = parse_moment(self.as_of_day)
        if isinstance(moment, datetime):
            return local_today(zone(self.view_zone or self.time_zone), moment).isoformat()
        return moment.isoformat() if moment else self.today

    @rx.var
    def known_at_input(self) -> str:
        moment = parse_moment(self.known_at_day)
        if isinstance(moment, datetime):
            return local_today(zone(self.view_zone or self.time_zone), moment).isoformat()
        return moment.isoformat() if moment else self.today

    @rx.var
    def view_query(self) -> str:
        """The moment as a query string ('' for today): every link to a view page
        carries it, so moving between pages keeps the moment (and the URL says it)."""
        view = ViewQuery(
            as_of=parse_moment(self.as_of_day),
            known_at=parse_moment(self.known_at_day),
            zone=self.view_zone or self.time_zone,
        )
        return format_view_query(view)

    # --- helpers for every state ----------------------------------------------

    def _tz(self):
        return zone(self.time_zone)

    def _view_tz(self):
        """The zone the view's days are read in: a link's, else the viewer's."""
        return zone(self.view_zone or self.time_zone)

    def _moment(self) -> tuple[datetime | None, datetime | None]:
        """(as_of, known_at) of the view; None means now."""
        tz = self._view_tz()
        as_of = parse_moment(self.as_of_day, tz)
        known = parse_moment(self.known_at_day, tz)
        return (
            moment_end(as_of, tz) if as_of else None,
            moment_end(known, tz) if known else None,
        )

    def _moment_view(self) -> ViewQuery:
        """The view's moment as its URL writes it (days with the zone they are read in)."""
        return ViewQuery(
            as_of=parse_moment(self.as_of_day),
            known_at=parse_moment(self.known_at_day),
            zone=self.view_zone or self.time_zone,
        )

    def _apply_moment(self, view: ViewQuery) -> None:
        """Show the moment a URL asked for (already checked by domain/view_query.py)."""
        self.as_of_day = format_moment(view.as_of) if view.as_of else ""
        self.known_at_day = format_moment(view.known_at) if view.known_at else ""
        self.view_zone = view.zone if (self.as_of_day or self.known_at_day) else ""
        if self.known_at_day:
            self.show_known_at = True

    def _place(self) -> str:
        """The path and query the browser shows (as of this session's last event)."""
        url = self.router.url
        return url.path + (f"?{url.query}" if url.query else "")

    def _actor(self) -> Actor:
        """Who the token says acts (signature, audience and expiry checked here; role,
        active flag and sign-out checked by the service on every call)."""
        return actor_from_session_token(self.session_token)

    def _client_address(self) -> str:
        return self.router.session.client_ip or "unknown"

    def _remember(self, signed_in: sessions.SignedIn) -> None:
        user, org = signed_in.user, signed_in.organization
        self.user_id = str(user.id)
        self.user_name = user.name
        self.user_email = user.email
        self.user_role = user.role.value
        self.organization_id = str(org.id)
        self.organization_name = org.name
        self.currency = org.currency
        self.today = local_today(self._tz(), datetime.now(UTC)).isoformat()
        _notify(session_hooks().signed_in, self.router.session.client_token, org.id)

    def _forget(self, message: str, *, come_back: bool = True) -> EventSpec:
        """Drop the session (token and display copies); go to the login page.

        `come_back`: the login page remembers the page and its view (`next`), so signing
        in again (or for the first time, from a shared link) opens exactly it.
        """
        place = self._place() if come_back else ""
        self.session_token = ""
        self.user_id = self.user_name = self.user_email = self.user_role = ""
        self.organization_id = self.organization_name = ""
        self._pending = []
        self.live_alerts = []
        self._alerts_after = -1
        self.auth_message = message or self.auth_message
        _notify(session_hooks().ended, self.router.session.client_token)
        return rx.redirect(login_path(place) if place else LOGIN_ROUTE, replace=True)

    async def _resume(self) -> sessions.SignedIn | None:
        """Re-read the session's user through the service; None if it is over."""
        if not self.session_token:
            return None
        signed_in = await call_service(
            sessions.resume, self.session_token, timeout=LOAD_TIMEOUT_SECONDS
        )
        self._remember(signed_in)
        return signed_in

    async def _page(self) -> PageState | None:
        if not self._current_page:
            return None
        page = await self.get_state(rx.State.get_class_substate(self._current_page))
        if not isinstance(page, PageState):
            return None
        page._sync_live()  # a background task sees what a live room sent, too
        return page

    async def _reload_page(self) -> None:
        page = await self._page()
        if page is not None:
            await page._reload()

    async def _render_page(self) -> None:
        """Re-draw the page's rows from what it holds (e.g. a pending edit came or went)."""
        page = await self._page()
        if page is not None:
            page._render()

    # --- events -----------------------------------------------------------------

    @rx.event
    async def catch_up(self, revision: int | None = None, resync: bool = False):
        """Live update: the organization is at `revision` now; show what changed.

        Idempotent (a revision already seen is ignored unless `resync`), so
        several listeners may announce one change. A past view keeps showing the
        past and is only told that newer data exists.
        """
        if not self.user_id:
            return None
        if revision is not None and revision <= self.revision and not resync:
            return None
        if self.as_of_day or self.known_at_day:
            # Nothing is read, but the hint is a push too: only while the session may read.
            from capital_app.realtime.lifespan import process_realtime

            try:
                await process_realtime().shared_reads.authorize(self._actor())
            except LedgerError as error:
                if is_signed_out(error):
                    return self._forget(error.message)
                raise
            self.newer_data = True
            return None
        page = await self._page()
        if page is None:
            return None
        return await page._reload(pushed=None if resync else revision)

    @rx.event
    async def alerts_arrived(self, revision: int | None = None):
        """Live: a change up to `revision` triggered alerts; show those not shown yet.

        Pushed to every session of the organization (realtime/sessions.py), whatever it
        shows. The read is shared by this worker's sessions and authorizes each of them;
        `revision` None (a resync) reads alone."""
        if not self.user_id:
            return None
        after = self._alerts_after
        if after < 0:  # no page read yet: only what this push announced is news
            if revision is None:
                return None
            after = revision - 1
        from capital_app.realtime.lifespan import process_realtime

        try:
            actor = self._actor()
            if revision is None:
                found = await call_service(alerts.news, actor, after, timeout=LOAD_TIMEOUT_SECONDS)
            else:
                found = await asyncio.wait_for(
                    process_realtime().shared_reads.read(
                        actor,
                        revision,
                        ("alert_news", after),
                        alerts.news,
                        after,
                        revision_of=lambda answer: answer.revision,
                    ),
                    LOAD_TIMEOUT_SECONDS,
                )
        except LedgerError as error:
            if is_signed_out(error):
                return self._forget(error.message)
            logger.warning("live alerts not read: %s", error.message)
            return None
        except TimeoutError:
            logger.warning("live alerts not read in time")
            return None
        self._alerts_after = max(self._alerts_after, found.revision)
        shown = {row.id for row in self.live_alerts}
        news = [live_alert(a, self.currency, self._tz()) for a in found.alerts]
        news = [row for row in news if row.id not in shown]
        if not news:
            return None
        self.live_alerts = with_news(self.live_alerts, news)
        return [rx.toast.warning(row.text, duration=10_000) for row in news]

    @rx.event
    def dismiss_alert(self, alert_id: str):
        self.live_alerts = [row for row in self.live_alerts if row.id != alert_id]

    def _view_changed(self):
        self.newer_data = False
        self.view_problem = ""
        if not (self.as_of_day or self.known_at_day):
            self.view_zone = ""
        return type(self).reload_current_page

    def _past_day(self, value: str) -> str:
        """A picked day before today (in the view's zone), else "" (today: the present view)."""
        day = parse_day(value)
        today = local_today(self._view_tz(), datetime.now(UTC))
        return day.isoformat() if day and day < today else ""

    @rx.event
    def set_as_of(self, value: str):
        self.as_of_day = self._past_day(value)
        return self._view_changed()

    @rx.event
    def set_known_at(self, value: str):
        self.known_at_day = self._past_day(value)
        return self._view_changed()

    @rx.event
    def toggle_known_at(self):
        self.show_known_at = not self.show_known_at
        if not self.show_known_at and self.known_at_day:
            self.known_at_day = ""
            return self._view_changed()
        return None

    @rx.event
    def back_to_today(self):
        self.as_of_day = ""
        self.known_at_day = ""
        return self._view_changed()

    @rx.event
    async def reload_current_page(self):
        """A new view chosen on the page: its URL becomes a new history entry, then it loads."""
        page = await self._page()
        if page is None:
            return None
        shown = page._show_view_url(replace=False)
        loaded = await page._reload(show_loading=True)
        return [e for e in (shown, loaded) if e is not None]

    @rx.event
    async def sign_out(self):
        token = self.session_token
        try:
            await call_service(
                sessions.sign_out, token, self._client_address(), timeout=LOAD_TIMEOUT_SECONDS
            )
        except LedgerError:
            logger.warning("sign-out could not be recorded", exc_info=True)
        return self._forget("You have signed out.", come_back=False)


class PageState(rx.State, mixin=True):
    """A signed-in page: loads on arrival, reloads on live updates, shows its own status.

    A mixin, used as `class XState(PageState, AppState)`: each page's state gets
    its own copy of these vars and handlers, so `load` and `retry` run against
    that page's state (its `_fetch`), and AppState stays its parent.

    A page implements `_fetch(actor, pushed)` (read everything it shows, through the
    service, via `call_service`, or `call_shared(..., pushed=pushed)` for reads every
    session of the organization repeats after a live push) and `_render()` (turn what it holds into rows).
    """

    status: str = "loading"  # loading | ready | error
    problem: str = ""
    _targets: dict[str, EditTarget] = {}
    # Whether this page's view (the moment, and `_read_view`'s filters) lives in its URL:
    # set by the dashboard, history and source pages (issue 15: shareable views).
    _url_view: ClassVar[bool] = False
    if TYPE_CHECKING:  # AppState's, which every page state also extends
        revision: int
        time_zone: str
        view_problem: str

        def _apply_moment(self, view: ViewQuery) -> None: ...
        def _moment_view(self) -> ViewQuery: ...
        def _place(self) -> str: ...

        _alerts_after: int

    async def _fetch(self, actor: Actor, pushed: int | None) -> int:
        """Read the page's data; returns the organization revision it was read at.

        `pushed`: the revision a live push announced (catch-up), else None.
        """
        raise NotImplementedError

    def _render(self) -> None:
        """Derive what the page displays from what it holds."""

    def _sync_live(self) -> None:
        """Bring the held data up to what a live room sent the browser (dashboard)."""

    def _follow_up(self, pushed: int | None) -> Any:
        """Events to run once the page's main data is on screen (e.g. a chart)."""
        return None

    def _reset_for_new_subject(self) -> bool:
        """Whether the old data must not show while loading (e.g. another source)."""
        return False

    # --- the view in the URL ----------------------------------------------------

    def _read_view(self, params: dict[str, str], now: datetime) -> tuple[str, ...]:
        """Take the view from the URL's parameters; the sentences of what was dropped.

        The moment here; a page with filters (history) reads those too.
        """
        parsed = parse_moment_params(params, viewer_zone=self.time_zone, now=now)
        self._apply_moment(parsed.view)
        return parsed.problems

    def _view(self) -> ViewQuery:
        """What the page shows, as its URL writes it."""
        return self._moment_view()

    def _view_url(self) -> str:
        return self.router.url.path + format_view_query(self._view())

    def _show_view_url(self, *, replace: bool) -> EventSpec | None:
        """The address bar made to say what the page shows (None if it does already)."""
        if not self._url_view:
            return None
        url = self._view_url()
        if url == self._place():
            return None
        return show_url(url, replace=replace)

    async def _reload(self, *, show_loading: bool = False, pushed: int | None = None):
        """Fetch and render; on failure say what happened (with Retry), never spin.

        `pushed`: the revision a live push announced (from `catch_up` only).
        """
        if show_loading or self._reset_for_new_subject():
            self.status = "loading"
        try:
            actor = self._actor()
            revision = await self._fetch(actor, pushed)
        except LedgerError as error:
            if is_signed_out(error):
                return self._forget(error.message)
            self.problem = error.message
            self.status = "error"
            return None
        self.revision = max(self.revision, revision)
        if self._alerts_after < 0 and revision > 0:  # alerts before this read are not news
            self._alerts_after = revision
        self.problem = ""
        self.status = "ready"
        self._render()
        return self._follow_up(pushed)

    @rx.event
    async def load(self):
        """on_load: resume the session, then read the page's data."""
        self._current_page = type(self).get_full_name()
        try:
            signed_in = await self._resume()
        except LedgerError as error:
            if is_signed_out(error):
                return self._forget(error.message)
            self.problem = error.message
            self.status = "error"
            return None
        if signed_in is None:
            return self._forget("")
        allowed = self._allowed(signed_in)
        if allowed is not None:
            return allowed
        loaded = session_hooks().page_loaded
        if loaded is not None:
            try:
                await loaded(self)  # type: ignore[arg-type]  # a page state is an AppState
            except Exception:  # presence is a courtesy: the page loads anyway
                logger.exception("page-load hook failed")
        if not self._url_view:
            self.view_problem = ""  # a notice about another page's link
            return await self._reload()
        # Opened, linked to, or reached by back/forward: the URL says what to show.
        params = dict(self.router.url.query_parameters)
        self.view_problem = " ".join(self._read_view(params, datetime.now(UTC)))
        result = await self._reload()
        shown = self._show_view_url(replace=True)  # a corrected URL, rewritten in place
        return [e for e in (shown, result) if e is not None]

    def _allowed(self, signed_in: sessions.SignedIn) -> EventSpec | None:
        """A redirect when the signed-in user may not see this page."""
        return None

    @rx.event
    async def retry(self):
        return await self._reload(show_loading=True)
