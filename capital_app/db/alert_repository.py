"""SQL of the alert rules and the alert log (migration 0012)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, text

from capital_app.domain.alerts import AlertKind, AlertRule, RuleTerms, TriggeredAlert

_RULE_COLUMNS = (
    "id, kind, threshold, window_days, active, created_by, created_at,"
    " deactivated_at, deactivated_by"
)
_LOG_COLUMNS = (
    "organization_id, id, rule_id, kind, threshold, window_days, triggered_at, revision,"
    " event_id, value_before, value_after, total_cents, wacc, entry_id, source_id, sequence,"
    " import_id"
)


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value else None


def _terms(kind: str, threshold: Decimal, window_days: int | None) -> RuleTerms:
    kind_ = AlertKind(kind)
    if kind_ is not AlertKind.WACC_ABOVE:  # whole numbers: no stored scale in the value
        threshold = Decimal(int(threshold))
    return RuleTerms(kind_, threshold, window_days)


def _rule(row: Sequence[Any]) -> AlertRule:
    rule_id, kind, threshold, window, active, by, at, off_at, off_by = row
    return AlertRule(
        id=rule_id,
        terms=_terms(kind, threshold, window),
        active=active,
        created_by=by,
        created_at=_utc(at),
        deactivated_at=_utc(off_at),
        deactivated_by=off_by,
    )


def _alert(row: Sequence[Any]) -> TriggeredAlert:
    (org, alert_id, rule_id, kind, threshold, window, at, revision, event_id, before, after,
     total, wacc, entry_id, source_id, sequence, import_id) = row  # fmt: skip
    return TriggeredAlert(
        id=alert_id,
        organization_id=org,
        rule_id=rule_id,
        terms=_terms(kind, threshold, window),
        triggered_at=at.astimezone(UTC),
        revision=revision,
        event_id=event_id,
        value_before=before,
        value_after=after,
        total_cents=total,
        wacc=wacc,
        entry_id=entry_id,
        source_id=source_id,
        sequence=sequence,
        import_id=import_id,
    )


def insert_rule(
    conn: Connection, org: UUID, rule_id: UUID, terms: RuleTerms, created_by: UUID
) -> AlertRule:
    row = conn.execute(
        text(
            "INSERT INTO alert_rule (organization_id, id, kind, threshold, window_days,"
            " created_by) VALUES (:org, :id, :kind, :threshold, :window, :by)"
            f" RETURNING {_RULE_COLUMNS}"
        ),
        {
            "org": org,
            "id": rule_id,
            "kind": terms.kind.value,
            "threshold": terms.threshold,
            "window": terms.window_days,
            "by": created_by,
        },
    ).one()
    return _rule(row)


def get_rule(conn: Connection, org: UUID, rule_id: UUID, *, lock: bool = False) -> AlertRule | None:
    row = conn.execute(
        text(
            f"SELECT {_RULE_COLUMNS} FROM alert_rule WHERE organization_id = :org AND id = :id"
            + (" FOR UPDATE" if lock else "")
        ),
        {"org": org, "id": rule_id},
    ).first()
    return _rule(row) if row else None


def list_rules(conn: Connection, org: UUID, *, active_only: bool = False) -> list[AlertRule]:
    where = " AND active" if active_only else ""
    rows = conn.execute(
        text(
            f"SELECT {_RULE_COLUMNS} FROM alert_rule WHERE organization_id = :org{where}"
            " ORDER BY active DESC, created_at, id"
        ),
        {"org": org},
    ).all()
    return [_rule(row) for row in rows]


def deactivate_rule(conn: Connection, org: UUID, rule_id: UUID, by: UUID) -> None:
    conn.execute(
        text(
            "UPDATE alert_rule SET active = false, deactivated_at = now(), deactivated_by = :by"
            " WHERE organization_id = :org AND id = :id AND active"
        ),
        {"org": org, "id": rule_id, "by": by},
    )


def last_entry_id(conn: Connection, org: UUID, revision: int) -> str | None:
    """The last history id (in the outbox's order) written at this revision."""
    value: str | None = conn.execute(
        text(
            "SELECT id FROM capital_history WHERE organization_id = :org AND revision = :rev"
            " ORDER BY id DESC LIMIT 1"
        ),
        {"org": org, "rev": revision},
    ).scalar()
    return value


def insert_alerts(conn: Connection, alerts: Iterable[TriggeredAlert]) -> list[TriggeredAlert]:
    """Append log rows (the database stamps `triggered_at`); returns them as stored."""
    stored: list[TriggeredAlert] = []
    for alert in alerts:
        row = conn.execute(
            text(
                "INSERT INTO alert_log (organization_id, id, rule_id, kind, threshold,"
                " window_days, revision, event_id, value_before, value_after, total_cents,"
                " wacc, entry_id, source_id, sequence, import_id) VALUES (:org, :id, :rule,"
                " :kind, :threshold, :window, :revision, :event_id, :before, :after, :total,"
                " :wacc, :entry_id, :source_id, :sequence, :import_id)"
                f" RETURNING {_LOG_COLUMNS}"
            ),
            {
                "org": alert.organization_id,
                "id": alert.id,
                "rule": alert.rule_id,
                "kind": alert.terms.kind.value,
                "threshold": alert.terms.threshold,
                "window": alert.terms.window_days,
                "revision": alert.revision,
                "event_id": alert.event_id,
                "before": alert.value_before,
                "after": alert.value_after,
                "total": alert.total_cents,
                "wacc": alert.wacc,
                "entry_id": alert.entry_id,
                "source_id": alert.source_id,
                "sequence": alert.sequence,
                "import_id": alert.import_id,
            },
        ).one()
        stored.append(_alert(row))
    return stored


def list_alerts(
    conn: Connection,
    org: UUID,
    *,
    limit: int,
    after_revision: int | None = None,
    before: tuple[datetime, UUID] | None = None,
) -> list[TriggeredAlert]:
    """Newest first; `after_revision`: only alerts of later revisions (a live push);
    `before`: the keyset of the previous page's last row."""
    where = ["organization_id = :org"]
    params: dict[str, Any] = {"org": org, "limit": limit}
    if after_revision is not None:
        where.append("revision > :after_revision")
        params["after_revision"] = after_revision
    if before is not None:
        where.append("(triggered_at, id) < (:before_at, :before_id)")
        params["before_at"], params["before_id"] = before
    rows = conn.execute(
        text(
            f"SELECT {_LOG_COLUMNS} FROM alert_log WHERE {' AND '.join(where)}"
            " ORDER BY triggered_at DESC, id DESC LIMIT :limit"
        ),
        params,
    ).all()
    return [_alert(row) for row in rows]


def alerts_by_event(conn: Connection, org: UUID, event_ids: list[str]) -> list[TriggeredAlert]:
    if not event_ids:
        return []
    rows = conn.execute(
        text(
            f"SELECT {_LOG_COLUMNS} FROM alert_log"
            " WHERE organization_id = :org AND event_id = ANY(:ids)"
        ),
        {"org": org, "ids": event_ids},
    ).all()
    return [_alert(row) for row in rows]


def get_alert(conn: Connection, org: UUID, alert_id: UUID) -> TriggeredAlert | None:
    row = conn.execute(
        text(f"SELECT {_LOG_COLUMNS} FROM alert_log WHERE organization_id = :org AND id = :id"),
        {"org": org, "id": alert_id},
    ).first()
    return _alert(row) if row else None
