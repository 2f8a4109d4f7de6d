"""Organizations: created and looked up by operators (the command line)."""

from __future__ import annotations

import re
import uuid
from uuid import UUID

from sqlalchemy.exc import DBAPIError

from capital_app.db import user_repository as repo
from capital_app.db.errors import translate
from capital_app.db.unit_of_work import organization_lookup_transaction, tenant_transaction
from capital_app.domain.accounts import OrganizationRecord
from capital_app.domain.values import check_name
from capital_app.service.errors import InvalidInput, NotFound

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def create_organization(name: str, currency: str = "KES") -> OrganizationRecord:
    """Operator command: a new, empty organization with its revision counter."""
    clean = check_name(name, "name")
    if not _CURRENCY.match(currency):
        raise InvalidInput.one("currency", "Currency must be a three-letter code such as KES.")
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
