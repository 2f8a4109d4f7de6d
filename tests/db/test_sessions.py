"""Web UI sessions: a token resumes only while its user is active and has not signed out."""

from __future__ import annotations

import contextlib
import time

import pytest

from capital_app.auth.tokens import UI_AUDIENCE, InvalidToken, issue_token
from capital_app.service import sessions
from capital_app.service.errors import AuthenticationFailed, TooManyAttempts, Unauthenticated
from capital_app.service.users import update_user
from tests.support.factories import PASSWORD


def test_sign_in_resume_and_sign_out(tenant):
    new = sessions.sign_in(tenant.editor.email, PASSWORD, "10.0.0.1")
    assert new.signed_in.user.id == tenant.editor.id
    assert new.signed_in.organization.id == tenant.org_id
    assert new.expires_in > 0

    resumed = sessions.resume(new.token)
    assert resumed.user.role == tenant.editor.role
    assert resumed.organization.name == tenant.organization.name

    time.sleep(1.1)  # tokens carry whole seconds
    sessions.sign_out(new.token, "10.0.0.1")
    with pytest.raises(Unauthenticated, match="signed out"):
        sessions.resume(new.token)
    # Signing in again right away works: only earlier sessions ended.
    again = sessions.sign_in(tenant.editor.email, PASSWORD, "10.0.0.1")
    assert sessions.resume(again.token).user.id == tenant.editor.id


def test_wrong_password_and_throttling_are_reported_plainly(tenant):
    with pytest.raises(AuthenticationFailed, match="Wrong email or password"):
        sessions.sign_in(tenant.viewer.email, "not the password", "10.0.0.2")
    for _ in range(5):
        with contextlib.suppress(AuthenticationFailed, TooManyAttempts):
            sessions.sign_in(tenant.viewer.email, "still wrong", "10.0.0.2")
    with pytest.raises(TooManyAttempts, match="Try again in about"):
        sessions.sign_in(tenant.viewer.email, PASSWORD, "10.0.0.2")


def test_deactivated_user_and_bad_tokens_cannot_resume(tenant):
    new = sessions.sign_in(tenant.viewer.email, PASSWORD, "10.0.0.3")
    update_user(tenant.actor("ADMIN"), tenant.viewer.id, active=False)
    with pytest.raises(Unauthenticated, match="not active"):
        sessions.resume(new.token)
    with pytest.raises(Unauthenticated):
        sessions.resume("")
    with pytest.raises(InvalidToken):
        sessions.resume(new.token[:-4] + "AAAA")
    expired, _ = issue_token(tenant.editor.id, tenant.org_id, -60)
    with pytest.raises(InvalidToken, match="expired"):
        sessions.resume(expired)
    sessions.sign_out("garbage", "10.0.0.3")  # nothing to end, no error


def test_a_token_cannot_claim_another_organization(tenant, other_tenant):
    forged, _ = issue_token(tenant.editor.id, other_tenant.org_id, 600, audience=UI_AUDIENCE)
    with pytest.raises(Unauthenticated):
        sessions.resume(forged)
