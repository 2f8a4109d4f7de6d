"""Roles: a VIEWER sees no edit controls and a forged edit is refused by the server;
an ADMIN manages the organization's users."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from capital_app.domain.values import Role
from capital_app.service import sessions
from capital_app.service.users import get_user
from capital_app.ui.edits import EditState
from tests.e2e.support import (
    LOAD,
    browser_today,
    entry_count,
    sign_in,
    snap,
    source_row,
    toast,
    wait_ready,
)
from tests.support.factories import add_source, make_tenant


def test_viewer_sees_no_edit_controls_and_a_forged_edit_is_refused(page: Page) -> None:
    tenant = make_tenant("Viewer")
    loan = add_source(tenant.actor(), "Equity Bank overdraft", 8_000_000_00, "0.155", days=20)
    sign_in(page, tenant.viewer)
    wait_ready(page)
    expect(source_row(page, "Equity Bank overdraft")).to_be_visible()
    expect(page.locator(".row-actions")).to_have_count(0)
    expect(page.locator(".add-source")).to_have_count(0)
    expect(page.locator("#nav-users")).to_have_count(0)
    expect(page.locator("#user-role")).to_have_text("VIEWER")

    page.goto(f"/sources/{loan}")
    wait_ready(page)
    expect(page.locator("#page-title")).to_have_text("Equity Bank overdraft")
    expect(page.locator("#detail-rate")).to_have_count(0)
    expect(page.locator("#detail-remove")).to_have_count(0)

    page.goto("/users")  # not for viewers: back to the dashboard
    expect(page.locator("#page-title")).to_have_text("Dashboard", timeout=LOAD)

    # Forge the next event this browser sends into an "add source" submit, as a
    # hostile script could: the server runs it as the viewer and the service refuses.
    before = entry_count(tenant.actor())
    forged = {
        "name": EditState.get_full_name() + ".submit",
        "payload": {
            "form_data": {
                "name": "Forged facility",
                "amount": "1,000,000",
                "rate": "10",
                "effective_day": browser_today(page),
                "notes": "",
            }
        },
    }
    page.evaluate(
        """(forged) => { window.__reflex_otel = { onEventSend: (event) => {
            if (!window.__forged) { window.__forged = true;
                event.name = forged.name; event.payload = forged.payload; } } }; }""",
        forged,
    )
    page.locator(".sort-name").click()  # any event: it leaves as the forged one
    expect(toast(page).filter(has_text="Not saved")).to_contain_text(
        "Not saved: Your role can view the ledger but not change it.", timeout=LOAD
    )
    assert page.evaluate("window.__forged") is True
    assert entry_count(tenant.actor()) == before
    expect(page.locator(".pending-row")).to_have_count(0)
    expect(source_row(page, "Forged facility")).to_have_count(0)

    # The same with a forged "open the change dialog": refused before any dialog opens.
    page.evaluate(
        """(name) => { window.__forged = false; window.__reflex_otel = { onEventSend: (event) => {
            if (!window.__forged) { window.__forged = true; event.name = name;
                event.payload = {kind: 'rate', source_id: 'x'}; } } }; }""",
        EditState.get_full_name() + ".open_change",
    )
    page.locator(".sort-amount").click()
    expect(toast(page).filter(has_text="Editing is not available")).to_be_visible(timeout=LOAD)
    expect(page.locator("#edit-dialog")).to_have_count(0)


def test_admin_adds_a_user_changes_a_role_and_deactivates(page: Page) -> None:
    tenant = make_tenant("Admin")
    sign_in(page, tenant.admin, "/users")
    wait_ready(page)
    expect(page.locator("tr.user-row")).to_have_count(3)

    page.click("#add-user")
    expect(page.locator("#new-name")).to_be_focused(timeout=LOAD)
    page.keyboard.type("Jane Mwangi")
    page.fill("#new-email", "jane@example.test")
    page.fill("#new-password", "short")
    expect(page.locator("#new-password-error")).to_have_text(
        "Password must be at least 10 characters.", timeout=LOAD
    )
    expect(page.locator("#add-user-submit")).to_be_disabled()
    page.fill("#new-password", "a long enough passphrase")
    expect(page.locator("#add-user-submit")).to_be_enabled(timeout=LOAD)
    page.click("#add-user-submit")
    jane = page.locator("tr.user-row", has_text="jane@example.test")
    expect(jane).to_contain_text("Jane Mwangi", timeout=LOAD)
    expect(jane).to_contain_text("VIEWER")
    new = sessions.sign_in("jane@example.test", "a long enough passphrase", "e2e")
    assert new.signed_in.user.role is Role.VIEWER

    jane.get_by_role("combobox").click()
    page.get_by_role("option", name="EDITOR").click()
    expect(toast(page).filter(has_text="Saved")).to_be_visible(timeout=LOAD)
    assert get_user(tenant.actor("ADMIN"), new.signed_in.user.id).role is Role.EDITOR

    editor_row = page.locator("tr.user-row", has_text=tenant.editor.email)
    editor_row.locator(".deactivate").click()
    page.locator(".confirm-deactivate").click()
    expect(editor_row).to_contain_text("Deactivated", timeout=LOAD)
    assert not get_user(tenant.actor("ADMIN"), tenant.editor.id).active
    snap(page, "page-users")
    # The admin cannot demote or deactivate themselves from here.
    me = page.locator("tr.user-row", has_text=tenant.admin.email)
    expect(me.locator(".deactivate")).to_have_count(0)
    expect(me.get_by_role("combobox")).to_be_disabled()
