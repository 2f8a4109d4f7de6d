"""The security audit log: every action recorded once, with actor and values; append-only."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from capital_app.db.engine import owner_engine
from capital_app.db.roles import runtime_role_name
from capital_app.domain.export_format import ExportFormat
from capital_app.service import authentication, sessions, users
from capital_app.service.audit import AuditAction, list_audit_events
from capital_app.service.errors import (
    AuthenticationFailed,
    Forbidden,
    OrganizationNeeded,
    TooManyAttempts,
)
from capital_app.service.history_export import export_history
from capital_app.service.history_import import import_history
from tests.support.factories import PASSWORD, Tenant

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def events(tenant: Tenant, action: AuditAction, subject=None) -> list:
    found = list_audit_events(tenant.actor("ADMIN"), actions=[action.value], limit=500)
    return [e for e in found if subject is None or e.subject_user_id == subject]


def only(tenant: Tenant, action: AuditAction, subject=None):
    found = events(tenant, action, subject)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def owner():
    engine = owner_engine()
    yield engine
    engine.dispose()


def test_sign_in_success_failure_throttle_and_sign_out(tenant):
    viewer = tenant.viewer
    user = authentication.authenticate(viewer.email, PASSWORD, "10.9.0.1")
    event = only(tenant, AuditAction.SIGN_IN_SUCCEEDED)
    assert (event.actor_user_id, event.actor_email) == (viewer.id, viewer.email)
    assert event.client_address == "10.9.0.1" and event.organization_id == tenant.org_id

    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            authentication.authenticate(viewer.email, "wrong password!", "10.9.0.2")
    failures = events(tenant, AuditAction.SIGN_IN_FAILED)
    assert len(failures) == 5
    assert {e.details["reason"] for e in failures} == {"wrong password"}
    assert all(e.actor_user_id == viewer.id for e in failures)
    with pytest.raises(TooManyAttempts):
        authentication.authenticate(viewer.email, PASSWORD, "10.9.0.3")
    throttled = only(tenant, AuditAction.SIGN_IN_THROTTLED)
    assert throttled.actor_email == viewer.email and throttled.client_address == "10.9.0.3"

    token, _ = authentication.issue_session_token(user)
    sessions.sign_out(token, "10.9.0.4")
    signed_out = only(tenant, AuditAction.SIGNED_OUT)
    assert (signed_out.actor_user_id, signed_out.client_address) == (viewer.id, "10.9.0.4")
    # No password, right or wrong, in any event.
    every = list_audit_events(tenant.actor("ADMIN"), limit=500)
    assert PASSWORD not in repr(every) and "wrong password!" not in repr(every)


def test_user_created_role_changed_deactivated_reactivated_renamed(tenant):
    admin = tenant.actor("ADMIN")
    new = users.create_user(
        admin, email="audited@example.test", name="Audited", role="VIEWER", password="long enough!"
    )
    created = only(tenant, AuditAction.USER_CREATED, new.id)
    assert (created.actor_user_id, created.subject_user_id) == (tenant.admin.id, new.id)
    assert created.details["role"] == "VIEWER" and created.details["email"] == new.email
    assert "long enough!" not in repr(created)
    provisioned = events(tenant, AuditAction.USER_CREATED, tenant.admin.id)
    assert [(e.actor_user_id, e.details["by"]) for e in provisioned] == [(None, "operator")]

    users.update_user(admin, new.id, role="EDITOR")
    users.update_user(admin, new.id, active=False)
    users.update_user(admin, new.id, active=True, name="Audited Again")
    users.update_user(admin, new.id, role="EDITOR")  # no change: no event

    role = only(tenant, AuditAction.USER_ROLE_CHANGED)
    assert (role.details["from"], role.details["to"]) == ("VIEWER", "EDITOR")
    off = only(tenant, AuditAction.USER_DEACTIVATED)
    on = only(tenant, AuditAction.USER_REACTIVATED)
    renamed = only(tenant, AuditAction.USER_RENAMED)
    assert (off.details["from"], off.details["to"]) == (True, False)
    assert (on.details["from"], on.details["to"]) == (False, True)
    assert (renamed.details["from"], renamed.details["to"]) == ("Audited", "Audited Again")
    for event in (role, off, on, renamed):
        assert event.actor_user_id == tenant.admin.id and event.subject_user_id == new.id


def test_import_and_export_are_recorded_with_hash_and_counts(tenant):
    content = (FIXTURES / "demo-export.json").read_bytes()
    report = import_history(tenant.actor("EDITOR"), content, file_name="demo.json")
    imported = only(tenant, AuditAction.HISTORY_IMPORTED)
    assert imported.actor_user_id == tenant.editor.id
    assert imported.details["contentSha256"] == hashlib.sha256(content).hexdigest()
    assert imported.details["imported"] == report.imported > 0
    assert imported.details["fileName"] == "demo.json"
    import_history(tenant.actor("EDITOR"), content, file_name="demo.json", dry_run=True)
    assert len(events(tenant, AuditAction.HISTORY_IMPORTED)) == 1  # a dry run writes nothing

    "".join(export_history(tenant.actor("VIEWER"), ExportFormat.CSV))
    exported = only(tenant, AuditAction.HISTORY_EXPORTED)
    assert exported.actor_user_id == tenant.viewer.id and exported.details == {"format": "csv"}


def test_only_admins_read_it_and_only_their_own_organization(tenant, other_tenant):
    authentication.authenticate(other_tenant.viewer.email, PASSWORD, "10.9.1.1")
    for role in ("EDITOR", "VIEWER"):
        with pytest.raises(Forbidden):
            list_audit_events(tenant.actor(role))
    mine = list_audit_events(tenant.actor("ADMIN"), limit=500)
    assert all(e.organization_id == tenant.org_id for e in mine)
    assert not events(tenant, AuditAction.SIGN_IN_SUCCEEDED)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET details = '{}'::jsonb WHERE organization_id = :org",
        "DELETE FROM audit_event WHERE organization_id = :org",
        "TRUNCATE audit_event",
    ],
)
def test_the_log_refuses_changes_even_from_the_owner(tenant, owner, statement):
    authentication.authenticate(tenant.viewer.email, PASSWORD, "10.9.2.1")
    count = text("SELECT count(*) FROM audit_event WHERE organization_id = :org")
    with owner.connect() as conn:
        before = conn.execute(count, {"org": tenant.org_id}).scalar()
    assert before == 4  # three users provisioned, one sign-in
    with pytest.raises(DBAPIError, match="append-only"), owner.begin() as conn:
        conn.execute(
            text("SELECT set_config('app.org_id', :org, true)"), {"org": str(tenant.org_id)}
        )
        conn.execute(text(statement), {"org": tenant.org_id})
    with owner.connect() as conn:
        assert conn.execute(count, {"org": tenant.org_id}).scalar() == before


def test_the_runtime_role_has_only_select_and_insert(owner):
    with owner.connect() as conn:
        granted = conn.execute(
            text(
                "SELECT privilege_type FROM information_schema.role_table_grants"
                " WHERE table_name = 'audit_event' AND grantee = :role"
            ),
            {"role": runtime_role_name()},
        ).scalars()
        assert set(granted) == {"SELECT", "INSERT"}


def test_a_failed_sign_in_on_a_shared_email_is_listed_in_each_organization(tenant, other_tenant):
    email = tenant.viewer.email
    twin = users.create_user(
        other_tenant.actor("ADMIN"), email=email, name="Twin", role="VIEWER", password=PASSWORD
    )
    with pytest.raises(AuthenticationFailed):
        authentication.authenticate(email, "wrong password!", "10.9.3.1")
    for org, account in ((tenant, tenant.viewer), (other_tenant, twin)):
        failed = only(org, AuditAction.SIGN_IN_FAILED)
        assert failed.actor_user_id == account.id and failed.details["reason"] == "wrong password"
    # The same password in both: no sign-in until the organization is named.
    with pytest.raises(OrganizationNeeded) as needed:
        authentication.authenticate(email, PASSWORD, "10.9.3.2")
    assert {o for o, _ in needed.value.organizations} == {tenant.org_id, other_tenant.org_id}
    user = authentication.authenticate(email, PASSWORD, "10.9.3.2", str(other_tenant.org_id))
    assert user.id == twin.id
    assert only(other_tenant, AuditAction.SIGN_IN_SUCCEEDED).actor_user_id == twin.id
    assert events(tenant, AuditAction.SIGN_IN_SUCCEEDED) == []
