"""Live collaboration in the UI: sessions registered for pushes, presence, the worker pid.

`session_hooks()` is what capital_app/wiring.py installs into the UI's state
(`ui.state.install_session_hooks`, once, before the pages are added):

- every page load of a signed-in session (also the one after a WebSocket
  reconnect, which re-runs on_load on whichever worker now holds the socket)
  registers the session for its organization's pushes (`signed_in`), and
  records its page for presence (`page_loaded`);
- sign-out forgets both (`ended`); a closed tab drops out by itself;
- the top bar shows the others of the organization on the same page, and a hidden
  element carries the pid of the worker holding the session (for tests).

Pushed changes themselves land in `AppState.catch_up` (ui/state.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import reflex as rx

from capital_app.realtime.lifespan import process_realtime, register_session, unregister_session
from capital_app.realtime.presence import AVATARS, Viewer
from capital_app.ui.state import AppState, SessionHooks

MAX_AVATARS = AVATARS


@dataclass
class OtherViewer:
    """Someone else of the organization on this page (display only)."""

    user_id: str = ""
    name: str = ""
    initials: str = ""


def initials_of(name: str) -> str:
    parts = [p for p in name.split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def others_of(answer: list[Any]) -> list[OtherViewer]:
    """The hub's answer (presence.Company.payload's `others`) as the top bar shows it."""
    shown: list[OtherViewer] = []
    for other in answer[:MAX_AVATARS]:
        if isinstance(other, dict):
            name = str(other.get("name", ""))
            user_id = str(other.get("user_id", ""))
            shown.append(OtherViewer(user_id=user_id, name=name, initials=initials_of(name)))
    return shown


class LiveState(AppState):
    """Who else views this page, and which worker holds this session."""

    others: list[OtherViewer] = []  # the first MAX_AVATARS of them (small deltas)
    others_count: int = 0
    worker_pid: int = 0
    _page_path: str = ""
    _client_token: str = ""

    @rx.var
    def others_text(self) -> str:
        names = [o.name for o in self.others]
        if not names:
            return ""
        more = f" and {self.more_count} more" if self.more_count else ""
        return "Also here: " + ", ".join(names) + more

    @rx.var
    def more_count(self) -> int:
        return max(0, self.others_count - len(self.others))

    @rx.event
    def presence_changed(self, others: list[dict[str, Any]], count: int):
        """Pushed by this worker's presence hub when the others on this page change:
        the first of them and how many (realtime/presence.py, `companies`)."""
        if not self.user_id or not self._page_path or not isinstance(others, list):
            return
        self.others = others_of(others)
        self.others_count = max(int(count), len(self.others))


async def _page_loaded(state: AppState) -> None:
    """Record where the session is (presence) and which worker holds it."""
    live = await state.get_state(LiveState)
    live.worker_pid = os.getpid()
    live._page_path = state.router.url.path
    live._client_token = state.router.session.client_token
    if not state.user_id or not state.organization_id:
        return
    viewer = Viewer(
        client_token=state.router.session.client_token,
        user_id=state.user_id,
        name=state.user_name,
        page=live._page_path,
    )
    await process_realtime().presence.arrive(UUID(state.organization_id), viewer)


def _signed_out(client_token: str) -> None:
    unregister_session(client_token)
    process_realtime().presence.depart(client_token)


def presence_avatars() -> rx.Component:
    """Initials of the others on this page; the worker pid for tests (hidden)."""

    def avatar(other: rx.Var) -> rx.Component:
        return rx.tooltip(
            rx.el.span(
                rx.avatar(
                    fallback=other.initials,
                    size="1",
                    radius="full",
                    variant="solid",
                    color_scheme="iris",
                ),
                class_name="presence-avatar",
                custom_attrs={"data-user-id": other.user_id, "data-name": other.name},
                line_height="0",
            ),
            content=other.name,
        )

    return rx.hstack(
        rx.foreach(LiveState.others, avatar),
        rx.cond(
            LiveState.more_count > 0,
            rx.text("+", LiveState.more_count, size="1", color=rx.color("gray", 11)),
        ),
        rx.el.span(
            id="worker-pid",
            custom_attrs={"data-pid": LiveState.worker_pid},
            display="none",
        ),
        spacing="1",
        align="center",
        aria_label=LiveState.others_text,
        id="presence-list",
    )


def session_hooks() -> SessionHooks:
    """The realtime layer's part in every session: registration, presence, sign-out."""
    return SessionHooks(signed_in=register_session, ended=_signed_out, page_loaded=_page_loaded)
