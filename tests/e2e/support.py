"""Helpers for the browser tests: sign in fast, wait for the app, read what it shows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, tzinfo

from playwright.sync_api import Page, expect

from capital_app.domain.accounts import UserRecord
from capital_app.domain.dates import local_today, zone
from capital_app.service import history_queries as queries
from capital_app.service import sessions
from capital_app.service.actor import Actor
from tests.e2e.conftest import SCREENSHOTS
from tests.support.factories import PASSWORD

LOAD = 30_000  # ms: generous for a 2-core machine shared with other work


def token_for(user: UserRecord) -> str:
    return sessions.sign_in(user.email, PASSWORD, "e2e-setup").token


def sign_in(page: Page, user: UserRecord, path: str = "/") -> None:
    """Start signed in as `user` (the token the login form would store), then open `path`.

    The login form itself is covered by test_login; everywhere else this skips it.
    """
    token = json.dumps(token_for(user))
    page.add_init_script(
        "if (!sessionStorage.getItem('e2e-signed-in')) {"
        f" localStorage.setItem('capital_session', {token});"
        " sessionStorage.setItem('e2e-signed-in', '1'); }"
    )
    page.goto(path)


def wait_ready(page: Page) -> None:
    """The page's data is on screen (no skeleton, no spinner)."""
    expect(page.locator("#page-title")).to_be_visible(timeout=LOAD)
    expect(page.locator("[aria-busy='true']")).to_have_count(0, timeout=LOAD)


def browser_zone(page: Page) -> tzinfo:
    return zone(page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone"))


def browser_today(page: Page) -> str:
    return local_today(browser_zone(page), datetime.now(UTC)).isoformat()


def entry_count(actor: Actor) -> int:
    return queries.count_history(actor)


def snap(page: Page, name: str) -> None:
    """A named screenshot of the page as it is now (tests/e2e/screenshots/<name>.png)."""
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def source_row(page: Page, name: str):
    return page.locator("tr.source-row", has_text=name)


def toast(page: Page):
    return page.locator("[data-sonner-toast]")


def watch_pending_rows(page: Page) -> None:
    """Remember whether a pending (optimistic) row ever appears from now on."""
    page.evaluate(
        """() => {
        window.__sawPending = false;
        const seen = () => { if (document.querySelector('.pending-row')) window.__sawPending = true; };
        new MutationObserver(seen).observe(document.body,
            {subtree: true, childList: true, attributes: true});
    }"""
    )


def saw_pending_row(page: Page) -> bool:
    return bool(page.evaluate("window.__sawPending"))
