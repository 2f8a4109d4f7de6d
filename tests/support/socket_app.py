"""A Socket.IO server built as Reflex 0.10 builds its event socket (reflex/app.py: an
`AsyncServer` in asgi mode, websocket transport only, no upgrades, the heartbeat and
message bound read from the same REFLEX_SOCKET_* variables; mounted at `/_event`),
wrapped in the app's socket guard: served by Granian for tests/api/test_socket_bounds_api.py
without building the frontend."""

from __future__ import annotations

import socketio
from reflex_base.environment import environment

from capital_app.api.socket_guard import socket_guard


def create_socket_app():
    sio = socketio.AsyncServer(
        async_mode="asgi",
        max_http_buffer_size=environment.REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE.get(),
        ping_interval=environment.REFLEX_SOCKET_INTERVAL.get().total_seconds(),
        ping_timeout=environment.REFLEX_SOCKET_TIMEOUT.get().total_seconds(),
        allow_upgrades=False,
        transports=["websocket"],
        async_handlers=False,
    )

    @sio.on("echo")
    async def echo(sid, data):
        await sio.emit("echo", data, to=sid)

    return socket_guard(socketio.ASGIApp(sio, socketio_path="_event"))
