"""The Audit log page (ADMIN): events with who and what, filters, CSV download."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import Page, expect

from capital_app.service import users
from tests.e2e.support import LOAD, sign_in, wait_ready
from tests.support.factories import make_tenant


def test_an_admin_reads_filters_and_downloads_the_audit_log(page: Page) -> None:
    tenant = make_tenant("Audit")
    users.update_user(tenant.actor("ADMIN"), tenant.viewer.id, role="EDITOR")
    sign_in(page, tenant.admin, "/audit")
    wait_ready(page)
    expect(page.locator("#page-title")).to_have_text("Audit log")
    expect(page.locator("#nav-audit-log")).to_be_visible()
    role_row = page.locator(".audit-row[data-action='user.role_changed']")
    expect(role_row).to_have_count(1)
    expect(role_row).to_contain_text(f"{tenant.viewer.email}: VIEWER → EDITOR")
    expect(role_row).to_contain_text(tenant.admin.email)
    expect(page.locator(".audit-row[data-action='auth.sign_in_succeeded']")).to_have_count(1)

    page.locator("#audit-filter-action").click()
    page.get_by_role("option", name="Role changed").click()
    expect(page.locator(".audit-row")).to_have_count(1, timeout=LOAD)

    with page.expect_download() as download:
        page.locator("#audit-download").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [r["action"] for r in rows] == ["user.role_changed"]
    assert rows[0]["actor_email"] == tenant.admin.email


def test_a_viewer_is_sent_back_from_the_audit_log(page: Page) -> None:
    tenant = make_tenant("AuditViewer")
    sign_in(page, tenant.viewer, "/audit")
    expect(page.locator("#page-title")).to_have_text("Dashboard", timeout=LOAD)
    expect(page.locator("#nav-audit-log")).to_have_count(0)
