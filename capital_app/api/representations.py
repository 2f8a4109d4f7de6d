"""How the domain's read models are written as JSON (camelCase, exact values).

Plain dicts, built directly: responses skip FastAPI's per-field re-validation,
which costs more than the query for a page of entries. `schemas.py` documents
the same shapes for OpenAPI, and the tests check each against its model.
"""

from __future__ import annotations

from typing import Any

from capital_app.db.api_key_repository import ApiKeyRecord
from capital_app.db.webhook_repository import DeliveryRecord, EndpointRecord
from capital_app.domain.accounts import UserRecord
from capital_app.domain.alerts import AlertKind, AlertRule, RuleTerms, TriggeredAlert, describe
from capital_app.domain.currencies import FxRate, TaxRate
from capital_app.domain.errors import RateMissing
from capital_app.domain.events import HistoryEntry
from capital_app.domain.views import ActiveSource, SeriesPoint
from capital_app.service.history_commands import CommandResult
from capital_app.service.history_queries import WaccAnswer
from capital_app.service.organizations import OrganizationSettings
from capital_app.service.rates import UploadResult


def entry_body(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "organizationId": entry.organization_id,
        "sourceId": entry.source_id,
        "sequence": entry.sequence,
        "effectiveDate": entry.effective_date,
        "name": entry.name,
        "annualRate": entry.annual_rate,
        "availableCents": entry.available_cents,
        "action": entry.action.value,
        "previousRate": entry.previous_rate,
        "previousAmount": entry.previous_amount,
        "notes": entry.notes,
        "createdAt": entry.created_at,
        "createdBy": entry.created_by,
        "recordedBy": entry.recorded_by,
        "importId": entry.import_id,
        "originalCreatedAt": entry.original_created_at,
        "originalCreatedBy": entry.original_created_by,
        "apiKeyId": entry.api_key_id,
        "apiKeyName": entry.api_key_name,
    }


def command_body(result: CommandResult) -> dict[str, Any]:
    return {"sourceId": result.source_id, "entry": entry_body(result.entry)}


def active_source_body(source: ActiveSource, *, with_currency: bool = False) -> dict[str, Any]:
    body = {
        "sourceId": source.source_id,
        "name": source.name,
        "annualRate": source.annual_rate,
        "availableCents": source.available_cents,
        "sequence": source.sequence,
        "addedDate": source.added_date,
        "lastChangedDate": source.last_changed_date,
    }
    if with_currency:
        body["currency"] = source.currency
        body["kind"] = source.kind.value
    return body


def _reporting_fields(
    missing: tuple[str, ...], after_tax: Any, note: str | None, currency: str
) -> dict[str, Any]:
    return {
        "afterTaxWacc": after_tax,
        "afterTaxWaccReason": note,
        "reportingCurrency": currency,
        "missingRates": list(missing),
    }


def _check_complete(missing: tuple[str, ...], with_reporting: bool) -> None:
    """The plain shape has no place for a missing rate: 409 naming it, never a zero."""
    if missing and not with_reporting:
        raise RateMissing(missing)


def wacc_body(answer: WaccAnswer, *, with_reporting: bool = False) -> dict[str, Any]:
    found = answer.reporting
    missing = found.missing_rates if found else ()
    _check_complete(missing, with_reporting)
    body = {
        "asOf": answer.as_of,
        "knownAt": answer.known_at,
        # A missing FX rate leaves the total unknown: null, never a partial sum or zero.
        "totalCents": None if missing else answer.summary.total_cents,
        "wacc": answer.summary.wacc,
        "sourceCount": answer.summary.source_count,
    }
    if with_reporting:
        body |= _reporting_fields(
            missing,
            found.after_tax_wacc if found else None,
            found.after_tax_note if found else None,
            found.reporting_currency if found else "",
        )
    return body


def series_bodies(points: list[SeriesPoint], *, with_reporting: bool = False) -> list[Any]:
    missing = tuple(m for p in points for m in p.missing_rates)
    _check_complete(tuple(dict.fromkeys(missing)), with_reporting)
    return [series_point_body(p, with_reporting=with_reporting) for p in points]


def series_point_body(point: SeriesPoint, *, with_reporting: bool = False) -> dict[str, Any]:
    body = {
        "date": point.date,
        "totalCents": None if point.missing_rates else point.total_cents,
        "wacc": point.wacc,
    }
    if with_reporting:
        body |= _reporting_fields(
            point.missing_rates,
            point.after_tax_wacc,
            point.after_tax_note,
            point.reporting_currency,
        )
    return body


def fx_rate_body(rate: FxRate) -> dict[str, Any]:
    return {
        "id": rate.id,
        "fromCurrency": rate.from_currency,
        "toCurrency": rate.to_currency,
        "rate": rate.rate,
        "effectiveDate": rate.effective_date,
        "recordedAt": rate.recorded_at,
        "recordedBy": rate.recorded_by,
    }


def tax_rate_body(rate: TaxRate) -> dict[str, Any]:
    return {
        "id": rate.id,
        "rate": rate.rate,
        "effectiveDate": rate.effective_date,
        "recordedAt": rate.recorded_at,
        "recordedBy": rate.recorded_by,
    }


def fx_upload_body(result: UploadResult) -> dict[str, Any]:
    return {
        "dryRun": result.dry_run,
        "rows": [
            {
                "row": r.row,
                "fromCurrency": r.from_currency,
                "toCurrency": r.to_currency,
                "rate": r.rate,
                "effectiveDate": r.effective_date,
            }
            for r in result.rows
        ],
        "rates": [fx_rate_body(r) for r in result.stored],
    }


def organization_body(settings: OrganizationSettings) -> dict[str, Any]:
    org = settings.organization
    return {
        "id": org.id,
        "name": org.name,
        "currency": org.currency,
        "createdAt": org.created_at.isoformat().replace("+00:00", "Z"),
        "currencyChangeable": settings.currency_changeable,
    }


def user_body(user: UserRecord) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "active": user.active,
        "organizationId": user.organization_id,
    }


def me_body(user: UserRecord) -> dict[str, Any]:
    body = user_body(user)
    del body["active"]  # a signed-in user is active by definition
    return body


def api_key_body(key: ApiKeyRecord) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": list(key.scopes),
        "createdBy": key.created_by,
        "createdByName": key.created_by_name,
        "createdAt": key.created_at,
        "expiresAt": key.expires_at,
        "lastUsedAt": key.last_used_at,
        "revokedAt": key.revoked_at,
    }


def webhook_body(endpoint: EndpointRecord) -> dict[str, Any]:
    status = (
        "disabled" if endpoint.disabled_at else "failing" if endpoint.failing_since else "active"
    )
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "eventTypes": list(endpoint.event_types),
        "createdBy": endpoint.created_by,
        "createdAt": endpoint.created_at,
        "disabledAt": endpoint.disabled_at,
        "failingSince": endpoint.failing_since,
        "status": status,
        "deliveredRevision": endpoint.delivered_revision,
        "nextAttemptAt": endpoint.next_attempt_at,
    }


def webhook_delivery_body(delivery: DeliveryRecord) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "messageId": f"msg_{delivery.id.hex}",
        "entryId": delivery.entry_id,
        "revision": delivery.revision,
        "eventType": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "responseCode": delivery.response_code,
        "latencyMs": delivery.latency_ms,
        "lastError": delivery.last_error,
        "createdAt": delivery.created_at,
        "lastAttemptAt": delivery.last_attempt_at,
        "deliveredAt": delivery.delivered_at,
        "resendRequested": delivery.resend_requested,
    }


def _threshold_fields(terms: RuleTerms) -> dict[str, Any]:
    kind = terms.kind
    return {
        "kind": kind.value,
        "thresholdRate": terms.threshold if kind is AlertKind.WACC_ABOVE else None,
        "thresholdBasisPoints": int(terms.threshold) if kind is AlertKind.WACC_CHANGE else None,
        "windowDays": terms.window_days,
        "thresholdCents": int(terms.threshold) if kind is AlertKind.TOTAL_BELOW else None,
        "description": describe(terms),
    }


def alert_rule_body(rule: AlertRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        **_threshold_fields(rule.terms),
        "active": rule.active,
        "createdBy": rule.created_by,
        "createdAt": rule.created_at,
        "deactivatedAt": rule.deactivated_at,
        "deactivatedBy": rule.deactivated_by,
    }


def alert_body(alert: TriggeredAlert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "ruleId": alert.rule_id,
        **_threshold_fields(alert.terms),
        "triggeredAt": alert.triggered_at,
        "revision": alert.revision,
        "entryId": alert.entry_id,
        "sourceId": alert.source_id,
        "sequence": alert.sequence,
        "importId": alert.import_id,
        "valueBefore": alert.value_before,
        "valueAfter": alert.value_after,
        "totalCents": alert.total_cents,
        "wacc": alert.wacc,
    }
