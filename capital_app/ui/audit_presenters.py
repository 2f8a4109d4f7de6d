"""Words and CSV for the security audit log (pure: no state, no I/O)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from capital_app.domain.audit import AuditEventRecord
from capital_app.service.audit import AuditAction

ACTION_LABELS: dict[str, str] = {
    AuditAction.SIGN_IN_SUCCEEDED: "Signed in",
    AuditAction.SIGN_IN_FAILED: "Sign-in failed",
    AuditAction.SIGN_IN_THROTTLED: "Sign-in throttled",
    AuditAction.SIGNED_OUT: "Signed out",
    AuditAction.USER_CREATED: "User created",
    AuditAction.USER_ROLE_CHANGED: "Role changed",
    AuditAction.USER_RENAMED: "User renamed",
    AuditAction.USER_DEACTIVATED: "User deactivated",
    AuditAction.USER_REACTIVATED: "User reactivated",
    AuditAction.HISTORY_IMPORTED: "History imported",
    AuditAction.HISTORY_EXPORTED: "History exported",
    AuditAction.ORGANIZATION_RENAMED: "Organization renamed",
    AuditAction.ORGANIZATION_CURRENCY_CHANGED: "Currency changed",
    AuditAction.API_KEY_CREATED: "API key created",
    AuditAction.API_KEY_REVOKED: "API key revoked",
    AuditAction.WEBHOOK_CREATED: "Webhook created",
    AuditAction.WEBHOOK_DELETED: "Webhook deleted",
    AuditAction.ALERT_RULE_CREATED: "Alert rule set",
    AuditAction.ALERT_RULE_DEACTIVATED: "Alert rule deactivated",
    AuditAction.FX_RATE_ADDED: "FX rate added",
    AuditAction.FX_RATES_UPLOADED: "FX rates uploaded",
    AuditAction.TAX_RATE_ADDED: "Tax rate added",
}

ACTION_COLORS: dict[str, str] = {
    AuditAction.SIGN_IN_FAILED: "red",
    AuditAction.SIGN_IN_THROTTLED: "red",
    AuditAction.USER_DEACTIVATED: "orange",
    AuditAction.USER_ROLE_CHANGED: "blue",
    AuditAction.HISTORY_IMPORTED: "grass",
}

CSV_COLUMNS = [
    "id",
    "occurred_at_utc",
    "action",
    "actor_email",
    "actor_user_id",
    "subject_user_id",
    "client_address",
    "details",
]


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def describe_details(action: str, details: dict[str, Any]) -> str:
    """One line an auditor reads: old → new values, file and counts, the reason."""
    if "from" in details and "to" in details:
        who = f"{details['email']}: " if details.get("email") else ""
        return f"{who}{_word(details['from'])} → {_word(details['to'])}"
    if action == AuditAction.HISTORY_IMPORTED:
        return (
            f"{details.get('fileName') or 'file'} · {details.get('imported', 0)} imported, "
            f"{details.get('skipped', 0)} already stored · sha256 "
            f"{str(details.get('contentSha256', ''))[:12]}…"
        )
    if action == AuditAction.USER_CREATED:
        return f"{details.get('email', '')} as {details.get('role', '')}"
    if action in (AuditAction.API_KEY_CREATED, AuditAction.API_KEY_REVOKED):
        scopes = ", ".join(str(scope) for scope in details.get("scopes", []))
        return f"“{details.get('name', '')}” ({details.get('prefix', '')}…) · {scopes}"
    if action in (AuditAction.WEBHOOK_CREATED, AuditAction.WEBHOOK_DELETED):
        events = ", ".join(str(kind) for kind in details.get("eventTypes", []))
        return f"{details.get('url', '')} · {events}"
    if action in (AuditAction.ALERT_RULE_CREATED, AuditAction.ALERT_RULE_DEACTIVATED):
        return str(details.get("rule", ""))
    if action == AuditAction.FX_RATE_ADDED:
        return (
            f"1 {details.get('fromCurrency', '')} = {details.get('rate', '')}"
            f" {details.get('toCurrency', '')} from {details.get('effectiveDate', '')}"
        )
    if action == AuditAction.FX_RATES_UPLOADED:
        return f"{details.get('fileName') or 'file'} · {details.get('rates', 0)} rates"
    if action == AuditAction.TAX_RATE_ADDED:
        return f"{details.get('rate', '')} from {details.get('effectiveDate', '')}"
    if action == AuditAction.HISTORY_EXPORTED:
        return f"as {str(details.get('format', '')).upper()}"
    if "reason" in details:
        return str(details["reason"])
    return ""


def _word(value: object) -> str:
    if value is True:
        return "active"
    if value is False:
        return "inactive"
    return str(value)


def _cell(value: object) -> str:
    """A spreadsheet never runs a cell as a formula (=, +, -, @, tab, CR first)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def audit_csv(events: Iterable[AuditEventRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for event in events:
        writer.writerow(
            [
                _cell(value)
                for value in (
                    event.id,
                    event.occurred_at.isoformat().replace("+00:00", "Z"),
                    event.action,
                    event.actor_email,
                    event.actor_user_id,
                    event.subject_user_id,
                    event.client_address,
                    json.dumps(event.details, sort_keys=True),
                )
            ]
        )
    return out.getvalue()
