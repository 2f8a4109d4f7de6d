"""The whole history of an organization, as JSON (re-importable) or CSV, streamed."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import Connection

from capital_app.db.history_repository import HistoryFilter, source_terms
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.db.user_repository import get_organization
from capital_app.domain.events import HistoryEntry
from capital_app.domain.export_format import ExportFormat, export_chunks
from capital_app.observe.metrics import observe_import_export
from capital_app.service.actor import Actor, Permission, authorize
from capital_app.service.audit import AuditAction, record_audit
from capital_app.service.errors import InvalidInput, WriteConflict
from capital_app.service.history_stream import open_history_stream, organization_stream


def parse_export_format(value: str | None) -> ExportFormat:
    try:
        return ExportFormat((value or "json").strip().lower())
    except ValueError:
        raise InvalidInput.one("format", "Format must be json or csv.") from None


def export_history(
    actor: Actor,
    fmt: ExportFormat = ExportFormat.JSON,
    *,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
) -> Iterator[str]:
    """Text chunks of the export (any reader may export): with `as_of`, the entries
    effective by then; with `known_at`, those recorded by then (created_at).

    Access is checked and a stream slot taken now, so a refusal comes before the
    first chunk; the entries then come a page at a time, all as of this moment's
    revision (one consistent history), without holding a connection between pages.
    """
    flt = HistoryFilter(end=as_of, recorded_until=known_at)
    entries = open_history_stream(actor, flt)  # may refuse: no slot free
    try:
        with tenant_transaction(actor.organization_id) as conn:
            user = authorize(conn, actor, Permission.READ)
            _refuse_other_currencies(conn, actor.organization_id)
            record_audit(
                conn,
                AuditAction.HISTORY_EXPORTED,
                organization_id=actor.organization_id,
                actor_user_id=user.id,
                actor_email=user.email,
                details={
                    "format": fmt.value,
                    **({"asOf": as_of.isoformat()} if as_of else {}),
                    **({"knownAt": known_at.isoformat()} if known_at else {}),
                },
            )
    except BaseException:
        entries.close()  # gives the slot back
        raise
    return _metered(entries, fmt)


def _refuse_other_currencies(conn: Connection, org_id: UUID) -> None:
    """The export formats have no currency: a source in another currency than the
    organization's would come back (and read) as the organization's. Refused, not lost."""
    org = get_organization(conn, org_id)
    assert org is not None
    others = sorted({c for c, _ in source_terms(conn, org_id).values() if c != org.currency})
    if others:
        raise WriteConflict(
            f"This organization has sources in {', '.join(others)}: the export format has no"
            f" currency, so their amounts would read as {org.currency}. Nothing was exported;"
            " an operator backup (capital-app backup) keeps every currency."
        )


def _metered(entries: Iterator[HistoryEntry], fmt: ExportFormat) -> Iterator[str]:
    """The chunks, with the export's duration, size and entries in the metrics once
    the whole file went out (an export cut off half-way is not counted)."""
    started = time.perf_counter()
    count = 0

    def counted() -> Iterator[HistoryEntry]:
        nonlocal count
        for entry in entries:
            count += 1
            yield entry

    size = 0
    chunks = _closing(counted(), fmt)
    try:
        for chunk in chunks:
            size += len(chunk) if chunk.isascii() else len(chunk.encode())
            yield chunk
    finally:
        close_chunks = getattr(chunks, "close", None)
        if close_chunks is not None:
            close_chunks()
        close = getattr(entries, "close", None)
        if close is not None:
            close()
    observe_import_export("export", time.perf_counter() - started, size, count)


def export_organization(
    organization_id: UUID, fmt: ExportFormat = ExportFormat.JSON
) -> Iterator[str]:
    """Operator export (the command line): the organization's whole history, no user needed."""
    return _closing(organization_stream(organization_id), fmt)


def _closing(entries: Iterator[HistoryEntry], fmt: ExportFormat) -> Iterator[str]:
    """The chunks; closing them closes the entries too (gives the stream slot back)."""
    try:
        yield from export_chunks(entries, fmt)
    finally:
        close = getattr(entries, "close", None)
        if close is not None:
            close()


def export_file_name(actor: Actor, fmt: ExportFormat, now: datetime | None = None) -> str:
    """capital-history-<organization>-<date>.<format>: a name to offer for download."""
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.READ)
        org = get_organization(conn, actor.organization_id)
    assert org is not None
    slug = re.sub(r"[^a-z0-9]+", "-", org.name.lower()).strip("-") or "organization"
    day = (now or datetime.now(UTC)).strftime("%Y-%m-%d")
    return f"capital-history-{slug}-{day}.{fmt.value}"
