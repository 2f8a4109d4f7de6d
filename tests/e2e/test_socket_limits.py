"""Anonymous WebSocket clients cannot send large events (issue 17): a 2 MiB message on a
socket that carries no session is refused (closed 1009) before it is parsed, and the
server's memory does not grow; a signed-in session keeps the large limit (the import
page's localStorage copy, covered by tests/e2e/test_import.py)."""

from __future__ import annotations

import asyncio
import json
import threading
from urllib.parse import urlparse

import aiohttp
import psutil

from tests.e2e.support import token_for
from tests.support.factories import make_tenant

MIB = 1 << 20


def _server_rss(app_url: str) -> int:
    port = urlparse(app_url).port
    pids = {
        c.pid
        for c in psutil.net_connections(kind="tcp")
        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid
    }
    total = 0
    for pid in pids:
        process = psutil.Process(pid)
        total += sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])
    return total


def _run(coroutine) -> object:
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(coroutine)))
    thread.start()
    thread.join(120)
    return result[0]


async def _send_big(app_url: str, connect_payload: dict, size: int) -> str:
    """Open a Socket.IO session, send one `size`-byte event; what became of the socket."""
    url = app_url.replace("http://", "ws://") + "/_event/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, headers={"Origin": app_url}, max_msg_size=0) as ws:
            opened = await ws.receive(timeout=10)
            assert opened.type == aiohttp.WSMsgType.TEXT and opened.data.startswith("0")
            await ws.send_str("40/_event," + json.dumps(connect_payload))
            filler = "x" * size
            await ws.send_str(
                '42/_event,["event",{"name":"reflex___state____state.noop","payload":{"x":"'
                + filler
                + '"}}]'
            )
            while True:
                try:
                    message = await ws.receive(timeout=8)
                except TimeoutError:
                    return "open"  # neither closed nor refused: the server kept it
                if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    return f"closed {ws.close_code or message.data}"
                if message.type == aiohttp.WSMsgType.TEXT and message.data == "2":
                    await ws.send_str("3")  # Engine.IO ping → pong
                if message.type == aiohttp.WSMsgType.ERROR:
                    return "error"


def test_an_anonymous_socket_sending_2_mib_is_closed_and_memory_stays(app_url: str) -> None:
    before = _server_rss(app_url)
    outcomes = [_run(_send_big(app_url, {}, 2 * MIB)) for _ in range(5)]
    growth = _server_rss(app_url) - before
    assert outcomes == ["closed 1009"] * 5
    assert growth < 100 * MIB, f"the server grew by {growth / MIB:.0f} MiB"


def test_a_signed_in_socket_keeps_the_large_limit(app_url: str) -> None:
    tenant = make_tenant("Socket")
    token = token_for(tenant.viewer)
    connect = {"event": {"name": "reflex___state____state.hydrate", "payload": {"t": token}}}
    outcome = _run(_send_big(app_url, connect, 2 * MIB))
    assert not str(outcome).startswith("closed 1009")
