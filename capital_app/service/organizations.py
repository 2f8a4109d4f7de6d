"""Organizations: created and looked up by operators (the command line); their
settings (name, reporting currency) read by any member and changed by ADMINs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.exc import DBAPIError

from capital_app.db import user_repository as repo
from capital_app.db.errors import translate
from capital_app.db.unit_of_work import organization_lookup_transaction, tenant_transaction
from capital_app.domain.accounts import OrganizationRecord
from capital_app.domain.errors import ErrorCollector, NoChange, WriteConflict
from capital_app.domain.values import check_currency, check_name
from capital_app.service.actor import Actor, Permission, authorize
from capital_app.service.audit import AuditAction, record_audit
from capital_app.service.errors import NameTaken, NotFound

CURRENCY_LOCKED = (
    "The reporting currency cannot change once the organization has history: "
    "every stored amount is in {currency}."
)


@dataclass(frozen=True, slots=True)
class OrganizationSettings:
    organization: OrganizationRecord
    # False once any history exists: every stored amount is in the currency.
    currency_changeable: bool


def create_organization(name: str, currency: str = "KES") -> OrganizationRecord:
    """Operator command: a new, empty organization with its revision counter."""
    clean = check_name(name, "name")
    currency = check_currency(currency)
    org_id = uuid.uuid4()
    try:
        with tenant_transaction(org_id) as conn:
            repo.insert_organization(conn, org_id, clean, currency)
            created = repo.get_organization(conn, org_id)
    except DBAPIError as error:
        translated = translate(error)
        if translated is None:
            raise
        raise translated from error
    assert created is not None
    return created


def find_organization(name: str) -> OrganizationRecord:
    """Operator lookup by name (case-insensitive)."""
    with organization_lookup_transaction(name) as conn:
        found = repo.find_organization_by_name(conn, name)
    if found is None:
        raise NotFound(f"No organization is called “{name.strip()}”.")
    return found


def get_organization(org_id: UUID) -> OrganizationRecord:
    with tenant_transaction(org_id, read_only=True) as conn:
        found = repo.get_organization(conn, org_id)
    if found is None:
        raise NotFound("Organization not found.")
    return found


def organization_settings(actor: Actor) -> OrganizationSettings:
    """The caller's organization and whether its currency may still change (any member)."""
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.READ)
        found = repo.get_organization(conn, actor.organization_id)
        assert found is not None
        return OrganizationSettings(found, not repo.has_history(conn, actor.organization_id))


def update_organization_settings(
    actor: Actor, *, name: object = None, currency: object = None
) -> OrganizationSettings:
    """Rename the organization and/or set its currency (ADMIN); None leaves a field alone.

    One audit event per changed field, with the old and new value. The currency may
    change only while there is no history: checked with the revision counter locked,
    so no entry can be written in between (and a database trigger refuses it too).
    """
    errors = ErrorCollector()
    new_name = errors.check(check_name, name) if name is not None else None
    new_currency = errors.check(check_currency, currency) if currency is not None else None
    errors.raise_if_any()
    org = actor.organization_id
    try:
        with tenant_transaction(org) as conn:
            admin = authorize(conn, actor, Permission.MANAGE_ORGANIZATION)
            before = repo.lock_organization(conn, org)
            assert before is not None
            final_name = new_name if new_name is not None else before.name
            final_currency = new_currency if new_currency is not None else before.currency
            if final_name == before.name and final_currency == before.currency:
                raise NoChange.one("name", "Nothing to change: these are the current settings.")
            history_exists = repo.has_history(conn, org)
            if final_currency != before.currency and history_exists:
                raise WriteConflict(CURRENCY_LOCKED.format(currency=before.currency))
            after = repo.update_organization(conn, org, name=final_name, currency=final_currency)
            changes = [
                (AuditAction.ORGANIZATION_RENAMED, before.name, after.name),
                (AuditAction.ORGANIZATION_CURRENCY_CHANGED, before.currency, after.currency),
            ]
            for action, old, new in changes:
                if old != new:
                    record_audit(
                        conn,
                        action,
                        organization_id=org,
                        actor_user_id=admin.id,
                        actor_email=admin.email,
                        details={"from": old, "to": new},
                    )
            return OrganizationSettings(after, not history_exists)
    except DBAPIError as error:
        translated = translate(error)
        if isinstance(translated, NameTaken):
            raise NameTaken("Another organization already has this name.") from error
        if translated is None:
            raise
        raise translated from error
