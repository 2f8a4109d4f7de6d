"""Webhooks: ADMINs register endpoints; the worker delivers every committed change.

Delivery reads the history by revision from each endpoint's cursor, so the history
is the outbox: a change committed is a change that will be delivered, at least once,
in (revision, entry id) order per endpoint. The alert log is part of the outbox too:
an alert a change triggered is written in that change's transaction with the same
revision and an id that follows the change's (`alert.triggered`, service/alerts.py). One attempt at a time per endpoint (the
job queue's lock); a failed attempt stops that endpoint's line until its retry is due
(exponential backoff), and after the retry window the endpoint is marked failing.

Every message is signed with the Standard Webhooks scheme (`standardwebhooks`):
`webhook-id` (the delivery's id, the same on every retry and resend, so a receiver
can drop duplicates), `webhook-timestamp`, `webhook-signature` (v1, HMAC-SHA256).

SSRF: the receiver's host is resolved at registration and again before each attempt;
any non-public address is refused unless CAPITAL_WEBHOOKS_ALLOW_PRIVATE is set, and
the request goes to the address that was checked (the Host header and TLS name stay
the URL's). Redirects are not followed (a failure); each attempt is time-bounded.
"""

from __future__ import annotations

import base64
import secrets
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import httpx
import orjson
from standardwebhooks.webhooks import Webhook

from capital_app.db import webhook_repository as repo
from capital_app.db.unit_of_work import cross_tenant_ids_transaction, tenant_transaction
from capital_app.db.webhook_repository import DeliveryRecord, EndpointRecord
from capital_app.domain import webhooks as rules
from capital_app.domain.errors import ErrorCollector, InvalidInput
from capital_app.domain.webhooks import Message
from capital_app.service.actor import Actor, Permission, authorize
from capital_app.service.audit import AuditAction, record_audit
from capital_app.service.errors import NotFound
from capital_app.settings import get_settings

MAX_LOG = 200
BATCH = 100
USER_AGENT = "CapitalLedger-Webhooks/1"


@dataclass(frozen=True, slots=True)
class CreatedEndpoint:
    endpoint: EndpointRecord
    secret: str  # shown once


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class UnsafeReceiver(InvalidInput):
    title = "Receiver not allowed"


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise UnsafeReceiver.one("url", f"The host {host!r} cannot be resolved.") from error
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked_address(url: str) -> str:
    """The address to connect to, after refusing non-public ones (unless allowed)."""
    settings = get_settings()
    clean, host = rules.check_url(url, allow_http=settings.webhooks_allow_http)
    parts = urlsplit(clean)
    addresses = _resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
    if not addresses:
        raise UnsafeReceiver.one("url", f"The host {host!r} has no address.")
    refused = rules.refused_address(addresses)
    if refused is not None and not settings.webhooks_allow_private:
        raise UnsafeReceiver.one(
            "url",
            f"The host {host!r} resolves to {refused}, a loopback, private or link-local"
            " address: webhooks are only sent to public addresses.",
        )
    return addresses[0]


def create_endpoint(actor: Actor, *, url: object, event_types: object = None) -> CreatedEndpoint:
    settings = get_settings()
    errors = ErrorCollector()
    checked = errors.check(rules.check_url, url, allow_http=settings.webhooks_allow_http)
    types = errors.check(rules.check_event_types, event_types)
    errors.raise_if_any()
    assert checked is not None and types is not None
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.MANAGE_WEBHOOKS)  # roles before DNS
    checked_address(checked[0])
    secret = new_secret()
    with tenant_transaction(actor.organization_id) as conn:
        admin = authorize(conn, actor, Permission.MANAGE_WEBHOOKS)
        endpoint = repo.insert_endpoint(
            conn,
            actor.organization_id,
            uuid.uuid4(),
            url=checked[0],
            event_types=types,
            secret=secret,
            created_by=admin.id,
        )
        record_audit(
            conn,
            AuditAction.WEBHOOK_CREATED,
            organization_id=actor.organization_id,
            actor_user_id=admin.id,
            actor_email=admin.email,
            details=_audit_details(endpoint),
        )
    return CreatedEndpoint(endpoint, secret)


def _audit_details(endpoint: EndpointRecord) -> dict[str, object]:
    return {
        "webhookId": str(endpoint.id),
        "url": endpoint.url,
        "eventTypes": list(endpoint.event_types),
    }


def list_endpoints(actor: Actor) -> list[EndpointRecord]:
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.MANAGE_WEBHOOKS)
        return repo.list_endpoints(conn, actor.organization_id)


def get_endpoint(actor: Actor, endpoint_id: UUID) -> EndpointRecord:
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.MANAGE_WEBHOOKS)
        endpoint = repo.get_endpoint(conn, actor.organization_id, endpoint_id)
    if endpoint is None:
        raise NotFound("No webhook endpoint with this id exists in your organization.")
    return endpoint


def set_disabled(actor: Actor, endpoint_id: UUID, disabled: bool) -> EndpointRecord:
    """Disable (nothing is sent) or enable (also clears `failing`; resumes at the cursor)."""
    with tenant_transaction(actor.organization_id) as conn:
        authorize(conn, actor, Permission.MANAGE_WEBHOOKS)
        if repo.get_endpoint(conn, actor.organization_id, endpoint_id, lock=True) is None:
            raise NotFound("No webhook endpoint with this id exists in your organization.")
        repo.set_disabled(conn, actor.organization_id, endpoint_id, disabled)
        repo.notify_worker(conn, actor.organization_id)
        endpoint = repo.get_endpoint(conn, actor.organization_id, endpoint_id)
    assert endpoint is not None
    return endpoint


def delete_endpoint(actor: Actor, endpoint_id: UUID) -> None:
    with tenant_transaction(actor.organization_id) as conn:
        admin = authorize(conn, actor, Permission.MANAGE_WEBHOOKS)
        endpoint = repo.get_endpoint(conn, actor.organization_id, endpoint_id, lock=True)
        if endpoint is None:
            raise NotFound("No webhook endpoint with this id exists in your organization.")
        repo.delete_endpoint(conn, actor.organization_id, endpoint_id)
        record_audit(
            conn,
            AuditAction.WEBHOOK_DELETED,
            organization_id=actor.organization_id,
            actor_user_id=admin.id,
            actor_email=admin.email,
            details=_audit_details(endpoint),
        )


def list_deliveries(actor: Actor, endpoint_id: UUID, limit: int = 50) -> list[DeliveryRecord]:
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.MANAGE_WEBHOOKS)
        if repo.get_endpoint(conn, actor.organization_id, endpoint_id) is None:
            raise NotFound("No webhook endpoint with this id exists in your organization.")
        return repo.list_deliveries(
            conn, actor.organization_id, endpoint_id, max(1, min(limit, MAX_LOG))
        )


def resend(actor: Actor, endpoint_id: UUID, delivery_id: UUID) -> DeliveryRecord:
    """Send this message again (same webhook-id), as soon as a worker picks it up."""
    with tenant_transaction(actor.organization_id) as conn:
        authorize(conn, actor, Permission.MANAGE_WEBHOOKS)
        delivery = repo.get_delivery(conn, actor.organization_id, delivery_id)
        if delivery is None or delivery.endpoint_id != endpoint_id:
            raise NotFound("No delivery with this id exists for this webhook endpoint.")
        repo.request_resend(conn, actor.organization_id, delivery_id)
        repo.notify_worker(conn, actor.organization_id)
        fresh = repo.get_delivery(conn, actor.organization_id, delivery_id)
    assert fresh is not None
    return fresh


# --- delivery (the worker) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attempt:
    ok: bool
    response_code: int | None
    latency_ms: int
    error: str | None


def endpoints_due() -> list[tuple[UUID, UUID]]:
    with cross_tenant_ids_transaction() as conn:
        return repo.endpoints_due(conn)


def _send(endpoint: EndpointRecord, message_id: str, body: bytes) -> Attempt:
    settings = get_settings()
    started = time.perf_counter()

    def done(ok: bool, code: int | None, error: str | None) -> Attempt:
        return Attempt(ok, code, round((time.perf_counter() - started) * 1000), error)

    try:
        address = checked_address(endpoint.url)  # again: DNS may have changed
    except InvalidInput as refused:
        return done(False, None, str(refused))
    parts = urlsplit(endpoint.url)
    host = parts.hostname or ""
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    now = datetime.now(UTC)
    signature = Webhook(endpoint.secret).sign(message_id, now, body)
    headers = {
        "host": parts.netloc.rsplit("@", 1)[-1],
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    try:
        with httpx.Client(
            timeout=settings.webhooks_timeout_seconds, follow_redirects=False, trust_env=False
        ) as client:
            answer = client.post(
                target, content=body, headers=headers, extensions={"sni_hostname": host}
            )
    except httpx.TimeoutException:
        return done(False, None, f"timed out after {settings.webhooks_timeout_seconds:g} s")
    except httpx.HTTPError as error:
        return done(False, None, f"{type(error).__name__}: {error}"[:500])
    if 200 <= answer.status_code < 300:
        return done(True, answer.status_code, None)
    if 300 <= answer.status_code < 400:
        return done(False, answer.status_code, "redirects are not followed")
    return done(False, answer.status_code, f"answered {answer.status_code}")


INLINE_RETRY_SECONDS = 2.0  # a retry due this soon waits in the job, holding the line


def _deliver_one(
    endpoint: EndpointRecord,
    entry: Message,
    known: DeliveryRecord | None,
    resend: bool,
) -> tuple[Attempt, float | None]:
    """One attempt, recorded with its outcome in one transaction: the cursor moves past a
    delivered message; a failed one gets its retry time (or the endpoint is failing).
    Returns the attempt and, after a failure, the seconds until its retry (None: failing)."""
    settings = get_settings()
    org = endpoint.organization_id
    delivery_id = known.id if known else uuid.uuid4()
    body = orjson.dumps(rules.payload(entry, datetime.now(UTC)))
    attempt = _send(endpoint, f"msg_{delivery_id.hex}", body)
    delay: float | None = 0.0
    assert entry.revision is not None
    message_id = rules.message_id(entry)
    with tenant_transaction(org) as conn:
        repo.record_attempt(
            conn,
            org,
            delivery_id=delivery_id,
            endpoint_id=endpoint.id,
            message_id=message_id,
            revision=entry.revision,
            event_type=rules.event_type(entry),
            status="delivered" if attempt.ok else "pending",
            response_code=attempt.response_code,
            latency_ms=attempt.latency_ms,
            error=attempt.error,
            resend=resend,
        )
        if resend:
            return attempt, None
        if attempt.ok:
            repo.advance_cursor(conn, org, endpoint.id, entry.revision, message_id)
            return attempt, 0.0
        now = datetime.now(UTC)
        first = known.created_at if known else now
        failing = (now - first).total_seconds() >= settings.webhooks_retry_window_seconds
        delay = rules.backoff_seconds(
            (known.attempts if known else 0) + 1,
            settings.webhooks_backoff_base_seconds,
            settings.webhooks_backoff_max_seconds,
        )
        repo.schedule_retry(conn, org, endpoint.id, now + timedelta(seconds=delay), failing)
        if failing:
            repo.mark_failed(conn, org, endpoint.id, message_id)
            return attempt, None
    return attempt, delay


def deliver_endpoint(organization_id: UUID, endpoint_id: UUID, max_seconds: float = 30.0) -> int:
    """Deliver what this endpoint has not received, in order, until caught up, a failure
    whose retry is not due soon (it is scheduled; the worker's dispatcher picks it up),
    the failing state, or `max_seconds`. Returns how many attempts were made.

    Run one at a time per endpoint (the job's lock)."""
    sent = 0
    started = time.monotonic()
    org = organization_id
    # Resends first: they are copies of messages already in order, out of band.
    with tenant_transaction(org, read_only=True) as conn:
        endpoint = repo.get_endpoint(conn, org, endpoint_id)
        pending_resends = repo.resends(conn, org, endpoint_id) if endpoint else []
    if endpoint is None or endpoint.disabled_at or endpoint.failing_since:
        return 0
    for delivery in pending_resends:
        with tenant_transaction(org, read_only=True) as conn:
            entry = repo.get_message(conn, org, delivery)
        if entry is not None:
            _deliver_one(endpoint, entry, delivery, resend=True)
            sent += 1
    while time.monotonic() - started < max_seconds:
        with tenant_transaction(org, read_only=True) as conn:
            endpoint = repo.get_endpoint(conn, org, endpoint_id)
            if endpoint is None or endpoint.disabled_at or endpoint.failing_since:
                return sent
            wait = 0.0
            if endpoint.next_attempt_at:
                wait = (endpoint.next_attempt_at - datetime.now(UTC)).total_seconds()
            if wait <= 0:
                batch = repo.messages_after(
                    conn, org, endpoint.delivered_revision, endpoint.delivered_entry_id, BATCH
                )
                known = repo.deliveries_for(
                    conn, org, endpoint_id, [rules.message_id(m) for m in batch[:1]]
                )
        if wait > INLINE_RETRY_SECONDS:
            return sent  # the dispatcher defers a job once it is due
        if wait > 0:
            time.sleep(wait)  # outside any transaction
            continue
        if not batch:
            return sent
        for index, entry in enumerate(batch):
            assert entry.revision is not None
            if rules.event_type(entry) not in endpoint.event_types:
                with tenant_transaction(org) as conn:
                    repo.advance_cursor(
                        conn, org, endpoint_id, entry.revision, rules.message_id(entry)
                    )
                continue
            # Only the first of a batch can have been tried before (the line stops at a failure).
            previous = known.get(rules.message_id(entry)) if index == 0 else None
            _attempt, delay = _deliver_one(endpoint, entry, previous, resend=False)
            sent += 1
            if delay is None:
                return sent  # failing
            if delay > 0:
                break  # re-read the endpoint: wait inline or return
    return sent
