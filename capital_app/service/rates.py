"""FX rates and corporate tax rates: recorded by EDITORs and ADMINs, read by everyone.

Rates are dated facts, appended and never changed (migration 0013): a correction is a
new rate for the same effective date, recorded later, so every past view "as known
at" keeps its numbers. A CSV upload is all or nothing: every row is checked first,
every problem is reported together, and only a clean file is stored, in one
transaction. Each write leaves an audit event in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from capital_app.db import rate_repository as repo
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.currencies import (
    FxRate,
    TaxRate,
    check_fx_rate,
    check_iso_currency,
    check_tax_rate,
)
from capital_app.domain.errors import ErrorCollector, InvalidInput
from capital_app.domain.rate_csv import FxRow, check_fact_date, check_fx_pair, parse_fx_csv
from capital_app.service.actor import Actor, Permission, authorize
from capital_app.service.audit import AuditAction, record_audit

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
# PostgreSQL cannot store NUL or lone surrogates (the audit details are JSONB).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class RatesView:
    reporting_currency: str
    fx: list[FxRate]  # by effective date, then recording
    tax: list[TaxRate]


@dataclass(frozen=True, slots=True)
class UploadResult:
    dry_run: bool
    rows: list[FxRow]  # what the file holds (checked)
    stored: list[FxRate]  # empty on a dry run


def _today() -> date:
    """The latest calendar day anywhere now (UTC+14): a person's "today" is never refused
    as the future. A rate is used from its day on (UTC days, like every point)."""
    return (datetime.now(UTC) + timedelta(hours=14)).date()


def list_rates(actor: Actor) -> RatesView:
    """Every FX and tax rate of the organization, with its reporting currency (any member)."""
    with tenant_transaction(actor.organization_id, read_only=True, snapshot=True) as conn:
        authorize(conn, actor, Permission.READ)
        book = repo.rate_book(conn, actor.organization_id)
    return RatesView(book.reporting_currency, list(book.fx), list(book.tax))


def add_fx_rate(
    actor: Actor,
    *,
    from_currency: object,
    rate: object,
    effective_date: object,
    to_currency: object = None,
) -> FxRate:
    """Record 1 FROM = rate (reporting currency), in force from `effective_date` (EDITOR/ADMIN)."""
    errors = ErrorCollector()
    source = errors.check(check_iso_currency, from_currency, "fromCurrency")
    target = (
        errors.check(check_iso_currency, to_currency, "toCurrency")
        if to_currency is not None
        else None
    )
    value = errors.check(check_fx_rate, rate, "rate")
    day = errors.check(check_fact_date, effective_date, _today(), "effectiveDate")
    errors.raise_if_any()
    assert source is not None and value is not None and day is not None
    org = actor.organization_id
    with tenant_transaction(org) as conn:
        user = authorize(conn, actor, Permission.WRITE_HISTORY)
        reporting = repo.reporting_currency(conn, org)
        check_fx_pair(source, target or reporting, reporting, "toCurrency")
        (stored,) = repo.insert_fx_rates(
            conn, org, [(source, reporting, value, day)], user.id, actor.api_key_id
        )
        repo.announce(conn, org)
        record_audit(
            conn,
            AuditAction.FX_RATE_ADDED,
            organization_id=org,
            actor_user_id=user.id,
            actor_email=user.email,
            details=_fx_details(stored),
        )
    return stored


def _fx_details(rate: FxRate) -> dict[str, str]:
    return {
        "id": rate.id,
        "fromCurrency": rate.from_currency,
        "toCurrency": rate.to_currency,
        "rate": str(rate.rate),
        "effectiveDate": rate.effective_date.isoformat(),
    }


def add_tax_rate(actor: Actor, *, rate: object, effective_date: object) -> TaxRate:
    """Record the corporate tax rate in force from `effective_date` (EDITOR/ADMIN)."""
    errors = ErrorCollector()
    value = errors.check(check_tax_rate, rate, "rate")
    day = errors.check(check_fact_date, effective_date, _today(), "effectiveDate")
    errors.raise_if_any()
    assert value is not None and day is not None
    org = actor.organization_id
    with tenant_transaction(org) as conn:
        user = authorize(conn, actor, Permission.WRITE_HISTORY)
        stored = repo.insert_tax_rate(conn, org, value, day, user.id, actor.api_key_id)
        repo.announce(conn, org)
        record_audit(
            conn,
            AuditAction.TAX_RATE_ADDED,
            organization_id=org,
            actor_user_id=user.id,
            actor_email=user.email,
            details={
                "id": stored.id,
                "rate": str(stored.rate),
                "effectiveDate": stored.effective_date.isoformat(),
            },
        )
    return stored


def upload_fx_rates(
    actor: Actor, content: bytes, *, file_name: str | None = None, dry_run: bool = False
) -> UploadResult:
    """Check a CSV of FX rates and (unless `dry_run`) store all of them, or none.

    The role is checked before the file is read, so a VIEWER learns nothing from it.
    """
    if file_name is not None and (len(file_name) > 200 or _UNPRINTABLE.search(file_name)):
        raise InvalidInput.one("fileName", "The file name must be printable text (200 at most).")
    org = actor.organization_id
    with tenant_transaction(org) as conn:
        user = authorize(conn, actor, Permission.WRITE_HISTORY)
        reporting = repo.reporting_currency(conn, org)
        rows = parse_fx_csv(_decoded(content), reporting, _today())
        if dry_run:
            return UploadResult(True, rows, [])
        stored = repo.insert_fx_rates(
            conn,
            org,
            [(r.from_currency, r.to_currency, r.rate, r.effective_date) for r in rows],
            user.id,
            actor.api_key_id,
        )
        repo.announce(conn, org)
        record_audit(
            conn,
            AuditAction.FX_RATES_UPLOADED,
            organization_id=org,
            actor_user_id=user.id,
            actor_email=user.email,
            details={"fileName": file_name, "rates": len(stored)},
        )
    return UploadResult(False, rows, stored)


def _decoded(content: bytes) -> str:
    if len(content) > MAX_UPLOAD_BYTES:
        raise InvalidInput.one("file", "The file is larger than 2 MB.")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput.one("file", "The file must be UTF-8 text (CSV).") from None
