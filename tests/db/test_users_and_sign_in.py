"""Users and signing in: roles, deactivation, the last admin, throttling."""

from __future__ import annotations

import pytest

from capital_app.service import authentication, users
from capital_app.service.errors import (
    AuthenticationFailed,
    Forbidden,
    InvalidInput,
    NameTaken,
    NotFound,
    TooManyAttempts,
    WriteConflict,
)
from tests.support.factories import PASSWORD


def test_admin_creates_changes_and_deactivates_users(tenant):
    admin = tenant.actor("ADMIN")
    created = users.create_user(
        admin,
        email=" Jane@Example.TEST ",
        name="Jane Mwangi",
        role="VIEWER",
        password="long enough pw",
    )
    assert created.email == "jane@example.test" and created.active
    changed = users.update_user(admin, created.id, role="EDITOR", name="Jane W. Mwangi")
    assert (changed.role.value, changed.name) == ("EDITOR", "Jane W. Mwangi")
    assert not users.update_user(admin, created.id, active=False).active
    listed = {u.email: u.active for u in users.list_users(admin)}
    assert listed["jane@example.test"] is False and len(listed) == 4


def test_user_input_is_validated_all_at_once(tenant):
    with pytest.raises(InvalidInput) as caught:
        users.create_user(
            tenant.actor("ADMIN"), email="nope", name="", role="OWNER", password="short"
        )
    assert {e.field for e in caught.value.errors} == {"email", "name", "role", "password"}


def test_emails_are_unique_within_an_organization_only(tenant, other_tenant):
    with pytest.raises(NameTaken):
        users.create_user(
            tenant.actor("ADMIN"),
            email=tenant.viewer.email,
            name="Twin",
            role="VIEWER",
            password=PASSWORD,
        )
    twin = users.create_user(
        other_tenant.actor("ADMIN"),
        email=tenant.viewer.email,
        name="Twin",
        role="VIEWER",
        password="another password",
    )
    assert twin.organization_id == other_tenant.org_id and twin.id != tenant.viewer.id
    signed_in = authentication.authenticate(tenant.viewer.email, PASSWORD, "db-test-twin")
    assert signed_in.id == tenant.viewer.id
    signed_in = authentication.authenticate(tenant.viewer.email, "another password", "db-twin")
    assert signed_in.id == twin.id


def test_only_admins_manage_users_and_only_their_own(tenant, other_tenant):
    for role in ("EDITOR", "VIEWER"):
        with pytest.raises(Forbidden):
            users.list_users(tenant.actor(role))
        with pytest.raises(Forbidden):
            users.create_user(
                tenant.actor(role), email="x@y.test", name="X", role="VIEWER", password=PASSWORD
            )
    with pytest.raises(NotFound):
        users.update_user(tenant.actor("ADMIN"), other_tenant.viewer.id, active=False)
    assert users.get_user(other_tenant.actor("ADMIN"), other_tenant.viewer.id).active


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(tenant):
    admin = tenant.actor("ADMIN")
    with pytest.raises(WriteConflict, match="last active administrator"):
        users.update_user(admin, tenant.admin.id, role="EDITOR")
    with pytest.raises(WriteConflict):
        users.update_user(admin, tenant.admin.id, active=False)
    users.update_user(admin, tenant.editor.id, role="ADMIN")
    users.update_user(admin, tenant.admin.id, role="VIEWER")  # now allowed: another admin exists


def test_sign_in_checks_the_password_and_hides_which_part_was_wrong(tenant):
    user = authentication.authenticate(tenant.editor.email.upper(), PASSWORD, "10.0.0.1")
    assert user.id == tenant.editor.id
    with pytest.raises(AuthenticationFailed) as wrong_password:
        authentication.authenticate(tenant.editor.email, "wrong password!", "10.0.0.1")
    with pytest.raises(AuthenticationFailed) as unknown_email:
        authentication.authenticate("nobody@example.test", PASSWORD, "10.0.0.1")
    assert wrong_password.value.message == unknown_email.value.message


def test_deactivated_users_cannot_sign_in(tenant):
    users.update_user(tenant.actor("ADMIN"), tenant.viewer.id, active=False)
    with pytest.raises(AuthenticationFailed):
        authentication.authenticate(tenant.viewer.email, PASSWORD, "10.0.0.2")


def test_repeated_failures_throttle_the_account(tenant):
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            authentication.authenticate(tenant.viewer.email, "wrong password!", "10.0.1.1")
    with pytest.raises(TooManyAttempts) as caught:
        authentication.authenticate(tenant.viewer.email, PASSWORD, "10.0.1.2")  # even the right one
    assert 0 < caught.value.retry_after <= 15 * 60
    # Another account is not affected.
    authentication.authenticate(tenant.editor.email, PASSWORD, "10.0.1.3")


def test_repeated_failures_throttle_the_client_address(tenant):
    for i in range(20):
        with pytest.raises(AuthenticationFailed):
            authentication.authenticate(f"guess{i}@example.test", "wrong password!", "10.0.2.1")
    with pytest.raises(TooManyAttempts):
        authentication.authenticate(tenant.editor.email, PASSWORD, "10.0.2.1")
    authentication.authenticate(tenant.editor.email, PASSWORD, "10.0.2.2")


def test_tokens_name_the_user_and_organization(tenant):
    token, ttl = authentication.issue_api_token(tenant.viewer)
    actor = authentication.actor_from_token(token)
    assert (actor.user_id, actor.organization_id) == (tenant.viewer.id, tenant.org_id)
    assert ttl > 0
    assert users.me(actor).email == tenant.viewer.email
