"""Signing in and out: clear messages, a session that survives reloads, and ends when it should."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from capital_app.auth.tokens import UI_AUDIENCE, issue_token
from capital_app.db import user_repository as repo
from capital_app.db.unit_of_work import login_transaction
from capital_app.service.users import provision_user, update_user
from tests.e2e.support import LOAD, sign_in, snap, token_for, wait_ready
from tests.support.factories import PASSWORD, make_tenant


def _store_token(page: Page, token: str) -> None:
    """Put a token where the app keeps it, from a same-origin page that is not the app."""
    page.goto("/api/health")
    page.evaluate(f"localStorage.setItem('capital_session', {json.dumps(token)})")


def _wait_for_failures(email: str, count: int) -> None:
    """Until the server has recorded `count` failed sign-ins for `email`."""
    deadline = time.monotonic() + LOAD / 1000
    while True:
        with login_transaction(email, "e2e") as conn:
            since = datetime.now(UTC) - timedelta(hours=1)
            seen = len(repo.recent_failures(conn, column="email", value=email, since=since))
        if seen >= count or time.monotonic() > deadline:
            assert seen == count
            return
        time.sleep(0.1)


def _submit(page: Page, email: str, password: str) -> None:
    page.fill("#login-email", email)
    page.fill("#login-password", password)
    page.press("#login-password", "Enter")


def test_sign_in_keeps_the_session_across_reloads_and_sign_out_ends_it(page: Page) -> None:
    tenant = make_tenant("Login")
    page.goto("/login")
    expect(page.locator("#login-email")).to_be_focused(timeout=LOAD)
    snap(page, "page-login")

    _submit(page, tenant.editor.email, "not the password")
    expect(page.locator("#login-error")).to_have_text("Wrong email or password.", timeout=LOAD)

    _submit(page, tenant.editor.email, PASSWORD)
    wait_ready(page)
    expect(page.locator("#page-title")).to_have_text("Dashboard")
    expect(page.locator("#user-name")).to_have_text(tenant.editor.name)
    expect(page.locator("#organization-name")).to_have_text(tenant.organization.name)
    token = page.evaluate("localStorage.getItem('capital_session')")
    assert token

    page.reload()
    wait_ready(page)
    expect(page.locator("#user-name")).to_have_text(tenant.editor.name)

    page.click("#sign-out")
    expect(page.locator("#login-notice")).to_have_text("You have signed out.", timeout=LOAD)
    assert not page.evaluate("localStorage.getItem('capital_session')")

    # The signed-out token is refused by the server even if it comes back.
    _store_token(page, token)
    page.goto("/history")
    expect(page.locator("#login-notice")).to_contain_text("signed out", timeout=LOAD)


def test_repeated_failures_are_throttled_with_a_clear_message(page: Page) -> None:
    tenant = make_tenant("Throttle")
    page.goto("/login")
    expect(page.locator("#login-email")).to_be_visible(timeout=LOAD)
    for attempt in range(1, 6):
        _submit(page, tenant.viewer.email, "wrong password!")
        _wait_for_failures(tenant.viewer.email, attempt)
        expect(page.locator("#login-error")).to_have_text("Wrong email or password.")
    # Five failures are allowed; now even the right password is held off.
    expect(page.locator("#login-submit")).to_be_enabled(timeout=LOAD)
    _submit(page, tenant.viewer.email, PASSWORD)
    expect(page.locator("#login-error")).to_contain_text(
        "Too many failed sign-in attempts. Try again in about", timeout=LOAD
    )
    expect(page).to_have_url(re.compile(r"/login/?$"))


def test_expired_and_deactivated_sessions_go_back_to_sign_in_with_the_reason(page: Page) -> None:
    tenant = make_tenant("Expiry")
    expired, _ = issue_token(tenant.viewer.id, tenant.org_id, -120, audience=UI_AUDIENCE)
    _store_token(page, expired)
    page.goto("/")
    expect(page.locator("#login-notice")).to_have_text(
        "Your session has expired; sign in again.", timeout=LOAD
    )

    _store_token(page, token_for(tenant.viewer))
    page.goto("/sources")
    wait_ready(page)
    update_user(tenant.actor("ADMIN"), tenant.viewer.id, active=False)
    page.reload()
    expect(page.locator("#login-notice")).to_have_text(
        "Your account is not active; sign in again.", timeout=LOAD
    )


def test_a_signed_in_visitor_of_the_login_page_goes_straight_in(page: Page) -> None:
    tenant = make_tenant("Straight")
    sign_in(page, tenant.viewer, "/login")
    wait_ready(page)
    expect(page.locator("#page-title")).to_have_text("Dashboard")


def test_an_email_in_two_organizations_asks_which_only_when_the_password_fits_both(
    page: Page,
) -> None:
    first, second = make_tenant("Twin A"), make_tenant("Twin B")
    email = first.editor.email
    provision_user(second.org_id, email=email, name="Twin", role="VIEWER", password=PASSWORD)
    other = first.viewer.email
    provision_user(second.org_id, email=other, name="Other", role="VIEWER", password="not yours 1")
    page.goto("/login")
    expect(page.locator("#login-email")).to_be_focused(timeout=LOAD)

    # Different passwords: each signs in to its own organization, no question asked.
    _submit(page, other, "not yours 1")
    wait_ready(page)
    expect(page.locator("#organization-name")).to_have_text(second.organization.name)
    page.click("#sign-out")
    expect(page.locator("#login-email")).to_be_visible(timeout=LOAD)

    _submit(page, email, PASSWORD)
    expect(page.locator("#login-error")).to_contain_text("more than one organization", timeout=LOAD)
    options = page.locator("#login-organization option")
    expect(options).to_have_count(2)
    assert sorted(options.all_inner_texts()) == sorted(
        [first.organization.name, second.organization.name]
    )
    page.select_option("#login-organization", label=second.organization.name)
    _submit(page, email, PASSWORD)
    wait_ready(page)
    expect(page.locator("#organization-name")).to_have_text(second.organization.name)
    expect(page.locator("#user-name")).to_have_text("Twin")
