"""SQL for web UI sessions: signing out is recorded, and ends the user's earlier sessions.

Sign-outs are auth events (the audit of sign-ins already lives there), so no
separate table is needed: a session token issued before the user's latest
sign-out is no longer accepted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, text

from capital_app.db import user_repository as users

SIGNED_OUT = "signed out"


def record_sign_out(conn: Connection, org: UUID, user_id: UUID, email: str, client: str) -> None:
    users.record_auth_event(
        conn,
        email=email,
        client_address=client,
        succeeded=True,
        reason=SIGNED_OUT,
        user_id=user_id,
        organization_id=org,
    )


LATEST_SIGN_OUT_SQL = (
    "SELECT max(occurred_at) FROM auth_event WHERE organization_id = :org"
    " AND user_id = :user_id AND reason = :reason"
)


# The user's row (USER_COLUMNS) and latest sign-out in one statement: the standing a
# pipelined hot read checks (service/hot_reads.py). No row when the user is not there.
USER_AND_SIGN_OUT_SQL = (
    f"SELECT {users.USER_COLUMNS}, (SELECT max(a.occurred_at) FROM auth_event a"
    " WHERE a.organization_id = :org AND a.user_id = :user_id AND a.reason = :reason)"
    " AS signed_out_at FROM app_user WHERE organization_id = :org AND id = :user_id"
)


def latest_sign_out_params(org: UUID, user_id: UUID) -> dict[str, Any]:
    return {"org": org, "user_id": user_id, "reason": SIGNED_OUT}


def latest_sign_out(conn: Connection, org: UUID, user_id: UUID) -> datetime | None:
    value = conn.execute(text(LATEST_SIGN_OUT_SQL), latest_sign_out_params(org, user_id)).scalar()
    return value.astimezone(UTC) if value else None


def latest_sign_outs(conn: Connection, org: UUID, user_ids: list[UUID]) -> dict[UUID, datetime]:
    """Each of these users' latest sign-out (users who never signed out are absent)."""
    rows = conn.execute(
        text(
            "SELECT user_id, max(occurred_at) FROM auth_event WHERE organization_id = :org"
            " AND user_id = ANY(CAST(:ids AS uuid[])) AND reason = :reason GROUP BY user_id"
        ),
        {"org": org, "ids": [str(i) for i in user_ids], "reason": SIGNED_OUT},
    )
    return {r[0]: r[1].astimezone(UTC) for r in rows if r[1] is not None}
