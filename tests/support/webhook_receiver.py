"""A local webhook receiver (a real HTTP server on loopback) whose answers a test scripts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int
    at: float
    arrival: int = 0  # n-th request to its path, counted when it arrived


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    # path → callable(n-th request to that path, from 1) → (status, delay seconds)
    behaviour: dict[str, Callable[[int], tuple[int, float]]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrivals: dict[str, int] = field(default_factory=dict)  # counted as requests arrive

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return sorted((r for r in self.received if r.path == path), key=lambda r: r.arrival)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError("the receiver did not get what was expected in time")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_receiver(host: str = "127.0.0.1") -> Receiver:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            receiver = holder["r"]
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            with receiver.lock:
                count = receiver.arrivals[self.path] = receiver.arrivals.get(self.path, 0) + 1
            rule = receiver.behaviour.get(self.path, lambda n: (200, 0.0))
            status, delay = rule(count)
            if delay:
                time.sleep(delay)
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, dict(self.headers), body, status, time.monotonic(), count)
                )
            try:
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server)
    holder["r"] = receiver
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
