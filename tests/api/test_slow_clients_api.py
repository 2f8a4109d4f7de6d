"""Hostile clients against a real server: slow readers of the whole-history stream leave
the pool to everyone else, a stream over the cap is refused at once, and an exhausted
pool answers 503 at once instead of a 500 after 30 s."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import create_engine, text

from capital_app.db.engine import owner_database_url
from tests.api.helpers import assert_problem
from tests.support.api_server import ApiServer, start_api_server
from tests.support.bulk_history import seed_bulk_history
from tests.support.factories import PASSWORD, make_tenant

pytestmark = pytest.mark.slow


def _token(server: ApiServer, email: str) -> str:
    answer = httpx.post(
        f"{server.base_url}/api/auth/token", json={"email": email, "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["accessToken"]


class SlowReader:
    """A raw socket that asks for a stream, reads its first bytes, then stops reading
    (a tiny receive buffer, so the server cannot push the rest into the kernel)."""

    def __init__(self, server: ApiServer, path: str, token: str) -> None:
        host, port = server.base_url.removeprefix("http://").split(":")
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect((host, int(port)))
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        self.head = self.sock.recv(1024)

    def status(self) -> int:
        return int(self.head.split(b" ", 2)[1])

    def read_rest(self) -> bytes:
        parts = [self.head]
        while chunk := self.sock.recv(1 << 16):
            parts.append(chunk)
        self.sock.close()
        return b"".join(parts)

    def close(self) -> None:
        self.sock.close()


def _body(raw: bytes) -> bytes:
    """The body of a chunked HTTP/1.1 answer."""
    _, _, rest = raw.partition(b"\r\n\r\n")
    out = bytearray()
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += rest[:size]
        rest = rest[size + 2 :]


@pytest.fixture(scope="module")
def big_tenant(database_url):
    tenant = make_tenant("Slow readers")
    written = seed_bulk_history(tenant.org_id, tenant.admin.id, sources=250, per_source=40)
    assert written == 10_000
    return tenant


def test_sixteen_slow_readers_leave_the_pool_free_and_get_one_consistent_history(big_tenant):
    server = start_api_server(
        {"CAPITAL_STREAMS_PER_USER": "16", "CAPITAL_STREAMS_PER_ORGANIZATION": "16"}
    )
    readers: list[SlowReader] = []
    try:
        viewer = _token(server, big_tenant.viewer.email)
        editor = _token(server, big_tenant.editor.email)
        readers = [SlowReader(server, "/api/capital-history", viewer) for _ in range(16)]
        assert {r.status() for r in readers} == {200}
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            # The pool (5 + 10) would be gone if each paused reader held a connection.
            for _ in range(20):
                me = client.get("/api/me", headers={"Authorization": f"Bearer {editor}"})
                assert me.status_code == 200, me.text
            pool = client.get("/api/health").json()["database"]["pool"]
            assert pool["checkedOut"] <= 2, pool  # the health probe's own, at most one more
            added = client.post(
                "/api/capital-history/add-source",
                headers={"Authorization": f"Bearer {editor}"},
                json={
                    "source": {"name": "Added mid-stream", "annualRate": 0.1,
                               "availableCents": 100},
                    "effectiveDate": "2020-01-01",
                },
            )  # fmt: skip
            assert added.status_code == 201, added.text
        for reader in readers:
            entries = json.loads(_body(reader.read_rest()))
            # As of the revision when the stream began: the later source is not in it.
            assert len(entries) == 10_000
            assert all(e["name"] != "Added mid-stream" for e in entries)
            keys = [(e["effectiveDate"], e["sequence"], e["sourceId"]) for e in entries]
            assert len(set(keys)) == 10_000
    finally:
        for reader in readers:
            reader.close()
        server.stop()


def test_a_stream_over_the_cap_is_refused_at_once_with_retry_after(big_tenant):
    # The cap itself (per user, per organization) is tested in tests/db; here the answer.
    server = start_api_server({"CAPITAL_STREAMS_PER_USER": "0"})
    try:
        token = _token(server, big_tenant.viewer.email)
        with httpx.Client(
            base_url=server.base_url, timeout=10, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            for path in ("/api/capital-history", "/api/capital-history/export"):
                refused = client.get(path)
                body = assert_problem(refused, 429)
                assert refused.headers["retry-after"] == str(body["retryAfter"])
                assert "downloads" in body["detail"]
            # Paged reads are not streams: still answered.
            assert client.get("/api/capital-history?limit=5").status_code == 200
    finally:
        server.stop()


@contextmanager
def _revision_counter_locked(organization_id) -> Iterator[None]:
    """Hold the organization's revision counter, so a write waits on it with its
    pooled connection checked out."""
    engine = create_engine(owner_database_url())
    try:
        with engine.connect() as conn, conn.begin():
            conn.execute(
                text("SELECT 1 FROM organization_revision WHERE organization_id = :org FOR UPDATE"),
                {"org": organization_id},
            )
            yield
    finally:
        engine.dispose()


def test_an_exhausted_pool_answers_503_at_once_and_health_shows_it(database_url):
    tenant = make_tenant("Tiny pool")
    server = start_api_server({"CAPITAL_DB_POOL_SIZE": "1", "CAPITAL_DB_MAX_OVERFLOW": "0"})
    try:
        token = _token(server, tenant.editor.email)
        auth = {"Authorization": f"Bearer {token}"}
        results: list[httpx.Response] = []
        with _revision_counter_locked(tenant.org_id):
            writer = threading.Thread(
                target=lambda: results.append(
                    httpx.post(
                        f"{server.base_url}/api/capital-history/add-source",
                        headers=auth,
                        json={
                            "source": {"name": "Waits", "annualRate": 0.1, "availableCents": 1},
                            "effectiveDate": "2020-01-01",
                        },
                        timeout=60,
                    )
                )
            )
            writer.start()
            with httpx.Client(base_url=server.base_url, timeout=10) as client:
                deadline = time.monotonic() + 10
                while client.get("/api/health").json()["database"]["pool"]["checkedOut"] < 1:
                    assert time.monotonic() < deadline, "the write never took the connection"
                    time.sleep(0.1)
                # The old pool waited 30 s and answered 500; the timeout here is 10 s.
                busy = client.get("/api/me", headers=auth)
                body = assert_problem(busy, 503)
                assert busy.headers["retry-after"].isdigit()
                assert "busy" in body["detail"]
                health = client.get("/api/health")
                assert health.status_code == 503
                assert health.json()["database"]["pool"] == {
                    "size": 1,
                    "maxOverflow": 0,
                    "checkedOut": 1,
                    "overflow": 0,
                    "timeoutSeconds": 1.0,
                }
        writer.join(timeout=30)
        assert results and results[0].status_code == 201, results
        assert httpx.get(f"{server.base_url}/api/me", headers=auth).status_code == 200
    finally:
        server.stop()


def _trickle(server: ApiServer, path: str, declared: int, token: str = "") -> bytes:
    """Send headers, then one body byte every 0.2 s; what the server answers."""
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {declared}\r\nAuthorization: Bearer {token}\r\n\r\n{{".encode()
        )
        sock.settimeout(0.2)
        answer = b""
        for _ in range(200):  # 40 s at most: far past the 2 s deadline
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                try:
                    sock.sendall(b" ")
                except OSError:
                    break
                continue
            if not chunk:
                break
            answer += chunk
        return answer


def test_a_body_trickled_byte_by_byte_is_cut_off_with_408(database_url):
    tenant = make_tenant("Trickle")
    server = start_api_server(
        {"CAPITAL_BODY_TIMEOUT_SECONDS": "2", "CAPITAL_IMPORT_BODY_TIMEOUT_SECONDS": "3"}
    )
    try:
        token = _token(server, tenant.editor.email)
        for path, declared in (
            ("/api/auth/token", 1000),
            ("/api/capital-history/import", 2_000_000),
        ):
            answer = _trickle(server, path, declared, token)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408"), (path, answer[:300])
            assert b"application/problem+json" in head
            assert b"did not arrive within" in body
    finally:
        server.stop()
