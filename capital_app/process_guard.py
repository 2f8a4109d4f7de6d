"""Stops Reflex's whole process group when `capital-app run` goes away, however it goes.

`capital-app run` starts Reflex in a process group of its own (one Ctrl-C stops it
once, with its Granian workers and Node build tools). If the launcher itself is
killed with SIGKILL, nothing of it runs to stop that group, so this small watcher
runs beside it: it reads the group id from a pipe whose write end only the launcher
holds, then blocks on that pipe. When the launcher exits, for any reason, the kernel
closes the pipe, the read ends, and the watcher stops the group (SIGTERM, then
SIGKILL after a grace period). A normal Ctrl-C path also ends here, harmlessly.

Run as `python -m capital_app.process_guard` with the pipe as standard input.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

GRACE_SECONDS = 8.0


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(pgid: int, grace_seconds: float = GRACE_SECONDS) -> None:
    """SIGTERM the group, wait for it to go, SIGKILL what is left."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def main() -> int:
    # Our own terminal signals must not stop the watch: the launcher handles Ctrl-C.
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    line = sys.stdin.buffer.readline()
    if not line.strip():
        return 0  # the launcher died before Reflex started: nothing to stop
    pgid = int(line)
    sys.stdin.buffer.read()  # blocks until the launcher's end of the pipe closes
    stop_group(pgid)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
