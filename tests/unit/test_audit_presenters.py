"""The audit log's words and CSV: old → new values, and cells a spreadsheet never runs."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from uuid import uuid4

from capital_app.domain.audit import AuditEventRecord
from capital_app.service.audit import AuditAction
from capital_app.ui.audit_presenters import ACTION_LABELS, audit_csv, describe_details


def event(action: AuditAction, details: dict, email: str | None = "a@example.test"):
    return AuditEventRecord(
        id=7,
        organization_id=uuid4(),
        occurred_at=datetime(2026, 12, 7, 6, 30, tzinfo=UTC),
        action=action.value,
        actor_user_id=uuid4(),
        actor_email=email,
        subject_user_id=None,
        client_address="10.0.0.1",
        details=details,
    )


def test_every_action_has_a_label():
    assert set(ACTION_LABELS) == set(AuditAction)


def test_changes_read_old_to_new():
    role = {"email": "v@example.test", "from": "VIEWER", "to": "EDITOR"}
    assert (
        describe_details(AuditAction.USER_ROLE_CHANGED, role) == "v@example.test: VIEWER → EDITOR"
    )
    off = {"email": "v@example.test", "from": True, "to": False}
    assert (
        describe_details(AuditAction.USER_DEACTIVATED, off) == "v@example.test: active → inactive"
    )
    imported = {"fileName": "x.json", "imported": 3, "skipped": 1, "contentSha256": "ab" * 32}
    assert describe_details(AuditAction.HISTORY_IMPORTED, imported) == (
        "x.json · 3 imported, 1 already stored · sha256 abababababab…"
    )


def test_csv_has_one_row_per_event_and_neutralises_formulas():
    rows = [
        event(AuditAction.SIGN_IN_FAILED, {"reason": "wrong password"}, email="=cmd|'/c calc'!A1"),
        event(AuditAction.HISTORY_EXPORTED, {"format": "csv"}),
    ]
    parsed = list(csv.reader(io.StringIO(audit_csv(rows))))
    assert parsed[0][:3] == ["id", "occurred_at_utc", "action"]
    assert len(parsed) == 3
    assert parsed[1][1] == "2026-12-07T06:30:00Z"
    assert parsed[1][3] == "'=cmd|'/c calc'!A1"
    assert json.loads(parsed[2][7]) == {"format": "csv"}


def test_a_webhook_event_reads_as_its_url_and_event_types():
    line = describe_details(
        "webhook.created",
        {"webhookId": "x", "url": "https://erp.example.com/h", "eventTypes": ["source.added"]},
    )
    assert line == "https://erp.example.com/h · source.added"
