"""A small HTTP/1.1 keep-alive load generator on asyncio streams.

Lean on purpose: on a 2-core machine the client shares the CPU with the server
and PostgreSQL, so it must cost far less per request than the server does
(httpx costs several hundred microseconds a request; this, tens).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import orjson

Request = tuple[str, str, dict[str, str], bytes | None]  # method, path, headers, body
MakeRequest = Callable[[int], Request]


@dataclass
class Run:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    @classmethod
    def merged(cls, runs: list[Run]) -> Run:
        """Several short runs as one: all latencies; the median round's throughput."""
        merged = cls()
        for run in runs:
            merged.latencies_ms.extend(run.latencies_ms)
            for status, count in run.statuses.items():
                merged.statuses[status] = merged.statuses.get(status, 0) + count
        rates = sorted(len(r.latencies_ms) / r.seconds for r in runs if r.seconds)
        median_rate = rates[len(rates) // 2] if rates else 0.0
        merged.seconds = len(merged.latencies_ms) / median_rate if median_rate else 0.0
        return merged

    def summary(self) -> dict[str, float | int | dict[int, int]]:
        ordered = sorted(self.latencies_ms)
        n = len(ordered)

        def pct(p: float) -> float:
            return round(ordered[min(n - 1, int(p * n))], 2) if n else 0.0

        return {
            "requests": n,
            "p50_ms": pct(0.50),
            "p95_ms": pct(0.95),
            "p99_ms": pct(0.99),
            "throughput_rps": round(n / self.seconds, 1) if self.seconds else 0.0,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, req: Request) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        method, path, headers, body = req
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self.writer.write(head + (body or b""))
        assert self.reader is not None
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        close = False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and "close" in value.lower():
                close = True
        payload = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _load(
    base_url: str, make: MakeRequest, concurrency: int, max_requests: int, max_seconds: float
) -> Run:
    parts = urlsplit(base_url)
    run = Run()
    counter = iter(range(max_requests))
    started = time.perf_counter()
    deadline = started + max_seconds

    async def worker() -> None:
        conn = Connection(parts.hostname or "127.0.0.1", parts.port or 80)
        try:
            for i in counter:
                if time.perf_counter() > deadline:
                    break
                req = make(i)
                t0 = time.perf_counter()
                status, _ = await conn.request(req)
                run.latencies_ms.append((time.perf_counter() - t0) * 1000)
                run.statuses[status] = run.statuses.get(status, 0) + 1
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.seconds = time.perf_counter() - started
    return run


def load(
    base_url: str,
    make: MakeRequest,
    *,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    warmup: int = 0,
) -> Run:
    if warmup:
        asyncio.run(_load(base_url, make, min(concurrency, 4), warmup, 30))
    return asyncio.run(_load(base_url, make, concurrency, max_requests, max_seconds))


def json_request(
    method: str, path: str, body: object | None = None, token: str | None = None, **headers: str
) -> Request:
    all_headers = dict(headers)
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        all_headers["Content-Type"] = "application/json"
        data = body if isinstance(body, bytes) else orjson.dumps(body)
    return (method, path, all_headers, data)
