"""Webhook endpoints and their delivery log (RLS: the caller's organization only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, text

from capital_app.db import alert_repository
from capital_app.db import history_repository as history
from capital_app.domain.events import HistoryEntry
from capital_app.domain.webhooks import ALERT_TRIGGERED, Message


@dataclass(frozen=True, slots=True)
class EndpointRecord:
    organization_id: UUID
    id: UUID
    url: str
    event_types: tuple[str, ...]
    secret: str
    created_by: UUID
    created_at: datetime
    disabled_at: datetime | None
    failing_since: datetime | None
    delivered_revision: int
    delivered_entry_id: str
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    organization_id: UUID
    id: UUID
    endpoint_id: UUID
    entry_id: str
    revision: int
    event_type: str
    status: str
    attempts: int
    response_code: int | None
    latency_ms: int | None
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    resend_requested: bool


_ENDPOINT = (
    "organization_id, id, url, event_types, secret, created_by, created_at, disabled_at,"
    " failing_since, delivered_revision, delivered_entry_id, next_attempt_at"
)
_DELIVERY = (
    "organization_id, id, endpoint_id, entry_id, revision, event_type, status, attempts,"
    " response_code, latency_ms, last_error, created_at, last_attempt_at, delivered_at,"
    " resend_requested"
)


def _endpoint(row) -> EndpointRecord:  # type: ignore[no-untyped-def]
    values = dict(row)
    values["event_types"] = tuple(values["event_types"])
    return EndpointRecord(**values)


def insert_endpoint(
    conn: Connection,
    org: UUID,
    endpoint_id: UUID,
    *,
    url: str,
    event_types: list[str],
    secret: str,
    created_by: UUID,
) -> EndpointRecord:
    """Starts after the organization's last committed entry: only changes from now on."""
    row = (
        conn.execute(
            text(
                "INSERT INTO webhook_endpoint (organization_id, id, url, event_types, secret,"
                " created_by, delivered_revision, delivered_entry_id)"
                " SELECT :org, :id, :url, :types, :secret, :by, r.revision,"
                " coalesce((SELECT max(m.id) FROM ("
                "   SELECT h.id FROM capital_history h"
                "    WHERE h.organization_id = :org AND h.revision = r.revision"
                "   UNION ALL SELECT a.event_id FROM alert_log a"
                "    WHERE a.organization_id = :org AND a.revision = r.revision) m), '')"
                " FROM organization_revision r WHERE r.organization_id = :org"
                f" RETURNING {_ENDPOINT}"
            ),
            {
                "org": org,
                "id": endpoint_id,
                "url": url,
                "types": event_types,
                "secret": secret,
                "by": created_by,
            },
        )
        .mappings()
        .one()
    )
    return _endpoint(row)


def get_endpoint(
    conn: Connection, org: UUID, endpoint_id: UUID, *, lock: bool = False
) -> EndpointRecord | None:
    sql = f"SELECT {_ENDPOINT} FROM webhook_endpoint WHERE organization_id = :org AND id = :id"
    if lock:
        sql += " FOR UPDATE"
    row = conn.execute(text(sql), {"org": org, "id": endpoint_id}).mappings().first()
    return _endpoint(row) if row else None


def list_endpoints(conn: Connection, org: UUID) -> list[EndpointRecord]:
    rows = conn.execute(
        text(
            f"SELECT {_ENDPOINT} FROM webhook_endpoint WHERE organization_id = :org"
            " ORDER BY created_at DESC, id"
        ),
        {"org": org},
    ).mappings()
    return [_endpoint(r) for r in rows]


def delete_endpoint(conn: Connection, org: UUID, endpoint_id: UUID) -> bool:
    result = conn.execute(
        text("DELETE FROM webhook_endpoint WHERE organization_id = :org AND id = :id"),
        {"org": org, "id": endpoint_id},
    )
    return result.rowcount == 1


def set_disabled(conn: Connection, org: UUID, endpoint_id: UUID, disabled: bool) -> None:
    """Disabling stops deliveries; enabling resumes from the cursor (nothing is lost)."""
    conn.execute(
        text(
            "UPDATE webhook_endpoint SET"
            " disabled_at = CASE WHEN :disabled THEN coalesce(disabled_at, now()) END,"
            " failing_since = CASE WHEN :disabled THEN failing_since END,"
            " next_attempt_at = CASE WHEN :disabled THEN next_attempt_at END"
            " WHERE organization_id = :org AND id = :id"
        ),
        {"org": org, "id": endpoint_id, "disabled": disabled},
    )


def entries_after(
    conn: Connection, org: UUID, revision: int, entry_id: str, limit: int
) -> list[HistoryEntry]:
    """History entries after the cursor, in (revision, id) order."""
    rows = conn.execute(
        text(
            f"SELECT {history.ENTRY_COLUMNS} FROM capital_history h"
            " WHERE h.organization_id = :org AND (h.revision, h.id) > (:revision, :entry_id)"
            " ORDER BY h.revision, h.id LIMIT :limit"
        ),
        {"org": org, "revision": revision, "entry_id": entry_id, "limit": limit},
    )
    return history.entries_from_rows(rows)


_MESSAGE_KEYS = text(
    """
    SELECT k.id, k.alert FROM (
        (SELECT h.revision, h.id, false AS alert FROM capital_history h
          WHERE h.organization_id = :org AND (h.revision, h.id) > (:revision, :entry_id)
          ORDER BY h.revision, h.id LIMIT :limit)
        UNION ALL
        (SELECT a.revision, a.event_id, true FROM alert_log a
          WHERE a.organization_id = :org AND (a.revision, a.event_id) > (:revision, :entry_id)
          ORDER BY a.revision, a.event_id LIMIT :limit)
    ) k ORDER BY k.revision, k.id LIMIT :limit
    """
)


def messages_after(
    conn: Connection, org: UUID, revision: int, entry_id: str, limit: int
) -> list[Message]:
    """History entries and alerts after the cursor, in the outbox's (revision, id) order
    (the database orders them: ids compare in its collation, as the cursor does)."""
    keys = conn.execute(
        _MESSAGE_KEYS, {"org": org, "revision": revision, "entry_id": entry_id, "limit": limit}
    ).all()
    entry_ids = [key for key, alert in keys if not alert]
    event_ids = [key for key, alert in keys if alert]
    found: dict[tuple[bool, str], Message] = {}
    if entry_ids:
        rows = conn.execute(
            text(
                f"SELECT {history.ENTRY_COLUMNS} FROM capital_history h"
                " WHERE h.organization_id = :org AND h.id = ANY(:ids)"
            ),
            {"org": org, "ids": entry_ids},
        )
        found.update(((False, e.id), e) for e in history.entries_from_rows(rows))
    for alert in alert_repository.alerts_by_event(conn, org, event_ids):
        found[(True, alert.event_id)] = alert
    return [found[(alert, key)] for key, alert in keys]


def get_message(conn: Connection, org: UUID, delivery: DeliveryRecord) -> Message | None:
    """What a delivery sent (for a resend): its history entry or its alert."""
    if delivery.event_type == ALERT_TRIGGERED:
        alerts = alert_repository.alerts_by_event(conn, org, [delivery.entry_id])
        return alerts[0] if alerts else None
    return history.get_entry(conn, org, delivery.entry_id)


def advance_cursor(
    conn: Connection, org: UUID, endpoint_id: UUID, revision: int, entry_id: str
) -> None:
    conn.execute(
        text(
            "UPDATE webhook_endpoint SET delivered_revision = :revision,"
            " delivered_entry_id = :entry_id, next_attempt_at = NULL"
            " WHERE organization_id = :org AND id = :id"
            " AND (delivered_revision, delivered_entry_id) < (:revision, :entry_id)"
        ),
        {"org": org, "id": endpoint_id, "revision": revision, "entry_id": entry_id},
    )


def schedule_retry(
    conn: Connection, org: UUID, endpoint_id: UUID, at: datetime, failing: bool
) -> None:
    conn.execute(
        text(
            "UPDATE webhook_endpoint SET next_attempt_at = :at,"
            " failing_since = CASE WHEN :failing THEN now() ELSE failing_since END"
            " WHERE organization_id = :org AND id = :id"
        ),
        {"org": org, "id": endpoint_id, "at": at, "failing": failing},
    )


def get_delivery_for_entry(
    conn: Connection, org: UUID, endpoint_id: UUID, entry_id: str
) -> DeliveryRecord | None:
    row = (
        conn.execute(
            text(
                f"SELECT {_DELIVERY} FROM webhook_delivery WHERE organization_id = :org"
                " AND endpoint_id = :endpoint AND entry_id = :entry"
            ),
            {"org": org, "endpoint": endpoint_id, "entry": entry_id},
        )
        .mappings()
        .first()
    )
    return DeliveryRecord(**row) if row else None


def get_delivery(conn: Connection, org: UUID, delivery_id: UUID) -> DeliveryRecord | None:
    row = (
        conn.execute(
            text(
                f"SELECT {_DELIVERY} FROM webhook_delivery WHERE organization_id = :org AND id = :id"
            ),
            {"org": org, "id": delivery_id},
        )
        .mappings()
        .first()
    )
    return DeliveryRecord(**row) if row else None


def record_attempt(
    conn: Connection,
    org: UUID,
    *,
    delivery_id: UUID,
    endpoint_id: UUID,
    message_id: str,
    revision: int,
    event_type: str,
    status: str,
    response_code: int | None,
    latency_ms: int | None,
    error: str | None,
    resend: bool = False,
) -> None:
    """Insert the delivery on its first attempt, else count one more attempt."""
    conn.execute(
        text(
            "INSERT INTO webhook_delivery (organization_id, id, endpoint_id, entry_id, revision,"
            " event_type, status, attempts, response_code, latency_ms, last_error,"
            " last_attempt_at, delivered_at)"
            " VALUES (:org, :id, :endpoint, :entry, :revision, :type, :status, 1, :code,"
            " :latency, :error, now(), CASE WHEN :status = 'delivered' THEN now() END)"
            " ON CONFLICT (organization_id, endpoint_id, entry_id) DO UPDATE SET"
            " attempts = webhook_delivery.attempts + 1,"
            " status = CASE WHEN :resend AND webhook_delivery.status = 'delivered'"
            "   THEN 'delivered' ELSE EXCLUDED.status END,"
            " response_code = EXCLUDED.response_code, latency_ms = EXCLUDED.latency_ms,"
            " last_error = EXCLUDED.last_error, last_attempt_at = now(),"
            " delivered_at = coalesce(EXCLUDED.delivered_at, webhook_delivery.delivered_at),"
            " resend_requested = false"
        ),
        {
            "org": org,
            "id": delivery_id,
            "endpoint": endpoint_id,
            "entry": message_id,
            "revision": revision,
            "type": event_type,
            "status": status,
            "code": response_code,
            "latency": latency_ms,
            "error": error,
            "resend": resend,
        },
    )


def mark_failed(conn: Connection, org: UUID, endpoint_id: UUID, entry_id: str) -> None:
    conn.execute(
        text(
            "UPDATE webhook_delivery SET status = 'failed' WHERE organization_id = :org"
            " AND endpoint_id = :endpoint AND entry_id = :entry"
        ),
        {"org": org, "endpoint": endpoint_id, "entry": entry_id},
    )


def first_attempt_at(
    conn: Connection, org: UUID, endpoint_id: UUID, entry_id: str
) -> datetime | None:
    return conn.execute(
        text(
            "SELECT created_at FROM webhook_delivery WHERE organization_id = :org"
            " AND endpoint_id = :endpoint AND entry_id = :entry"
        ),
        {"org": org, "endpoint": endpoint_id, "entry": entry_id},
    ).scalar()


def list_deliveries(
    conn: Connection, org: UUID, endpoint_id: UUID, limit: int
) -> list[DeliveryRecord]:
    rows = conn.execute(
        text(
            f"SELECT {_DELIVERY} FROM webhook_delivery WHERE organization_id = :org"
            " AND endpoint_id = :endpoint ORDER BY revision DESC, entry_id DESC LIMIT :limit"
        ),
        {"org": org, "endpoint": endpoint_id, "limit": limit},
    ).mappings()
    return [DeliveryRecord(**r) for r in rows]


def request_resend(conn: Connection, org: UUID, delivery_id: UUID) -> None:
    conn.execute(
        text(
            "UPDATE webhook_delivery SET resend_requested = true"
            " WHERE organization_id = :org AND id = :id"
        ),
        {"org": org, "id": delivery_id},
    )


def resends(conn: Connection, org: UUID, endpoint_id: UUID) -> list[DeliveryRecord]:
    rows = conn.execute(
        text(
            f"SELECT {_DELIVERY} FROM webhook_delivery WHERE organization_id = :org"
            " AND endpoint_id = :endpoint AND resend_requested ORDER BY revision, entry_id"
        ),
        {"org": org, "endpoint": endpoint_id},
    ).mappings()
    return [DeliveryRecord(**r) for r in rows]


def notify_worker(conn: Connection, org: UUID) -> None:
    """Wake the delivery workers (at commit) for a resend or a re-enabled endpoint."""
    conn.execute(text("SELECT pg_notify('capital_webhooks', :org)"), {"org": str(org)})


def endpoints_due(conn: Connection) -> list[tuple[UUID, UUID]]:
    """Across organizations (ids only, via the owner's function): endpoints behind."""
    rows = conn.execute(text("SELECT organization_id, endpoint_id FROM webhook_endpoints_due()"))
    return [(r[0], r[1]) for r in rows]


def deliveries_for(
    conn: Connection, org: UUID, endpoint_id: UUID, entry_ids: list[str]
) -> dict[str, DeliveryRecord]:
    if not entry_ids:
        return {}
    rows = conn.execute(
        text(
            f"SELECT {_DELIVERY} FROM webhook_delivery WHERE organization_id = :org"
            " AND endpoint_id = :endpoint AND entry_id = ANY(:entries)"
        ),
        {"org": org, "endpoint": endpoint_id, "entries": entry_ids},
    ).mappings()
    return {r["entry_id"]: DeliveryRecord(**r) for r in rows}
