"""The Reflex WebSocket's bounds against a real server (Granian, raw sockets): too many
sockets from one address are refused, a socket that never starts a session is closed,
and a slow sender (a frame trickled byte by byte, so it cannot answer the heartbeat) is
cut off, while a well-behaved session keeps working."""

from __future__ import annotations

import base64
import os
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api_server import free_port, granian_command

pytestmark = pytest.mark.slow

PER_CLIENT = 3
CONNECT_SECONDS = 1.5
HEARTBEAT = {"REFLEX_SOCKET_INTERVAL": "1", "REFLEX_SOCKET_TIMEOUT": "1"}


@pytest.fixture(scope="module")
def socket_port() -> Iterator[int]:
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="capital-ws-", suffix=".log", delete=False)  # noqa: SIM115
    env = {
        **os.environ,
        **HEARTBEAT,
        "CAPITAL_WS_PER_CLIENT": str(PER_CLIENT),
        "CAPITAL_WS_CONNECT_SECONDS": str(CONNECT_SECONDS),
    }
    process = subprocess.Popen(
        granian_command("tests.support.socket_app:create_socket_app", port),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, Path(log.name).read_text()
                assert time.monotonic() < deadline, Path(log.name).read_text()
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=15)


class RawSocket:
    """A WebSocket client on a plain socket, so a test can misbehave at will."""

    def __init__(self, port: int, address: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), source_address=(address, 0))
        self.sock.settimeout(10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET /_event/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            part = self.sock.recv(1)
            if not part:
                break
            head += part
        self.status = int(head.split(b" ", 2)[1]) if head else 0
        self._buffer = b""

    def send_text(self, text: str) -> None:
        self.sock.sendall(_frame(text.encode()))

    def receive(self) -> tuple[int, bytes] | None:
        """(opcode, payload) of the next frame, or None when the server hung up."""
        try:
            head = self._read(2)
            length = head[1] & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8))[0]
            return head[0] & 0x0F, self._read(length)
        except (ConnectionError, EOFError):
            return None

    def closed_by_server(self, within: float, *, pong: bool = False) -> bool:
        """Reads until the server closes (answering its pings if `pong`); False if it
        has not within `within` seconds."""
        deadline = time.monotonic() + within
        try:
            while True:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                if time.monotonic() >= deadline:
                    return False
                if (frame := self.receive()) is None:
                    return True
                if frame[0] == 0x8:  # close
                    return True
                if pong and frame[1] == b"2":
                    self.send_text("3")
        except TimeoutError:
            return False
        return True

    def _read(self, n: int) -> bytes:
        while len(self._buffer) < n:
            part = self.sock.recv(65536)
            if not part:
                raise EOFError
            self._buffer += part
        taken, self._buffer = self._buffer[:n], self._buffer[n:]
        return taken

    def close(self) -> None:
        self.sock.close()


def _frame(payload: bytes, opcode: int = 0x1) -> bytes:
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    else:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    return header + mask + masked


def _session(port: int, address: str = "127.0.0.1") -> RawSocket:
    """A socket with a Socket.IO session started (engine.io open, then CONNECT)."""
    ws = RawSocket(port, address)
    assert ws.status == 101
    _, payload = ws.receive()
    assert payload.startswith(b"0{")  # engine.io open
    ws.send_text("40")
    _, payload = ws.receive()
    assert payload.startswith(b"40")  # Socket.IO connected
    return ws


def test_sockets_over_the_per_address_cap_are_refused_and_others_unaffected(socket_port):
    held = [RawSocket(socket_port, "127.0.0.21") for _ in range(PER_CLIENT)]
    try:
        assert [ws.status for ws in held] == [101] * PER_CLIENT
        refused = RawSocket(socket_port, "127.0.0.21")
        assert refused.status == 403
        refused.close()
        other = _session(socket_port, "127.0.0.22")  # another address still gets in
        other.close()
    finally:
        for ws in held:
            ws.close()
    time.sleep(0.5)
    again = RawSocket(socket_port, "127.0.0.21")  # the slots came back
    assert again.status == 101
    again.close()


def test_a_socket_that_never_starts_a_session_is_closed(socket_port):
    # It answers the heartbeat (so engine.io alone would keep it) but never says CONNECT.
    ws = RawSocket(socket_port, "127.0.0.23")
    assert ws.status == 101
    assert ws.receive()[1].startswith(b"0{")
    assert ws.closed_by_server(within=CONNECT_SECONDS + 5, pong=True)


def test_a_slow_sender_is_cut_off_by_the_heartbeat_while_a_live_session_works(socket_port):
    slow = _session(socket_port, "127.0.0.24")
    live = _session(socket_port, "127.0.0.25")
    # A 200-byte text frame, its payload trickled a byte every 0.1 s (20 s in all): it
    # cannot answer the server's pings meanwhile.
    payload = b'42["echo","' + b"x" * 186 + b'"]'
    mask = os.urandom(4)
    slow.sock.sendall(struct.pack("!BB", 0x81, 0x80 | 126) + struct.pack("!H", 200) + mask)
    cut_off = False
    started = time.monotonic()
    for i, byte in enumerate(payload):
        try:
            slow.sock.sendall(bytes([byte ^ mask[i % 4]]))
        except (BrokenPipeError, ConnectionResetError):
            cut_off = True
            break
        # The live session answers its pings and gets its echo all along.
        live.sock.settimeout(0.05)
        try:
            frame = live.receive()
            if frame is not None and frame[1] == b"2":
                live.send_text("3")  # pong
        except TimeoutError:
            pass
        time.sleep(0.1)
    if not cut_off:
        cut_off = slow.closed_by_server(within=0.5)
    assert cut_off, f"still open after {time.monotonic() - started:.1f} s"
    live.sock.settimeout(10)
    live.send_text('42["echo","still here"]')
    while (frame := live.receive()) is not None and frame[1] == b"2":
        live.send_text("3")
    assert frame is not None and frame[1] == b'42["echo","still here"]'
    live.close()
    slow.close()
