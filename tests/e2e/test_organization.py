"""The Organization page (ADMIN): rename the organization and see it in the top bar."""

from __future__ import annotations

import secrets

from playwright.sync_api import Page, expect

from capital_app.service import audit, organizations
from tests.e2e.support import LOAD, sign_in, snap, wait_ready
from tests.support.factories import add_source, make_tenant


def test_an_admin_renames_the_organization_and_the_top_bar_shows_it(page: Page) -> None:
    tenant = make_tenant("OrgPage")
    add_source(tenant.actor("EDITOR"))  # history exists: the currency is read-only
    sign_in(page, tenant.admin, "/organization")
    wait_ready(page)
    expect(page.locator("#page-title")).to_have_text("Organization")
    expect(page.locator("#nav-organization")).to_be_visible()
    expect(page.locator("#organization-name")).to_have_text(tenant.organization.name)
    expect(page.locator("#org-currency")).to_have_text("KES")
    expect(page.locator("#org-currency-locked")).to_contain_text("every stored amount is in KES")

    name = page.locator("#org-name")
    expect(name).to_have_value(tenant.organization.name, timeout=LOAD)
    name.fill("Acme\u202eLtd")  # a text-direction override: refused as you type
    expect(page.locator("#org-name-error")).to_contain_text("direction", timeout=LOAD)
    expect(page.locator("#org-save")).to_be_disabled()

    new_name = f"Renamed Treasury {secrets.token_hex(3)}"
    name.fill(f"  {new_name}  ")
    expect(page.locator("#org-name-error")).to_have_count(0)
    page.locator("#org-save").click()
    expect(page.locator("#organization-name")).to_have_text(new_name, timeout=LOAD)
    expect(name).to_have_value(new_name)
    snap(page, "organization-renamed")

    stored = organizations.organization_settings(tenant.actor("VIEWER")).organization
    assert stored.name == new_name
    (event,) = audit.list_audit_events(tenant.actor("ADMIN"), actions=["organization.renamed"])
    assert event.details == {"from": tenant.organization.name, "to": new_name}
    assert event.actor_email == tenant.admin.email

    # Another page keeps the new name in the top bar.
    page.locator("#nav-dashboard").click()
    expect(page.locator("#page-title")).to_have_text("Dashboard", timeout=LOAD)
    expect(page.locator("#organization-name")).to_have_text(new_name)


def test_an_editor_sees_no_entry_and_is_told_not_allowed(page: Page) -> None:
    tenant = make_tenant("OrgEditor")
    sign_in(page, tenant.editor, "/organization")
    expect(page.locator("#organization-not-allowed")).to_contain_text("Not allowed", timeout=LOAD)
    expect(page.locator("#nav-organization")).to_have_count(0)
    expect(page.locator("#org-name")).to_have_count(0)
