"""Where a request's time goes: py-spy samples the API server under load.

    .venv/bin/python -m benchmarks.profile_api [--entries 100000] [--sources 200]
        [--path /api/capital-history?limit=100] [--seconds 10] [--concurrency 16]

Seeds one organization (as benchmarks/api.py does), runs Granian under
`py-spy record` while the load generator hits one path, then prints the functions
with the most samples (self and total). Needs py-spy (pip install py-spy).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks import api as bench
from benchmarks.loadgen import json_request, load
from tests.support.api_server import granian_command


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--path", default="/api/capital-history?limit=100")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--no-profile", action="store_true", help="only measure throughput")
    args = parser.parse_args()

    url = bench.create_database()
    data_dir = Path(tempfile.mkdtemp(prefix="capital-profile-"))
    os.environ.update(DATABASE_URL=url, CAPITAL_DATA_DIR=str(data_dir))
    from capital_app.db.engine import reset_engines
    from capital_app.db.migrations import migrate_database
    from capital_app.settings import get_settings

    get_settings.cache_clear()
    reset_engines()
    migrate_database()
    server = None
    try:
        org = bench.seed_org(url, "profile", args.entries, args.sources)
        path = args.path.replace("{source}", org.active_ids[len(org.active_ids) // 2])
        port = bench._free_port()
        raw = data_dir / "profile.txt"
        spy = [
            str(Path(sys.executable).with_name("py-spy")), "record", "--format", "raw",
            "-o", str(raw), "--rate", "200", "--subprocesses", "--gil", "--",
        ]  # fmt: skip
        server = subprocess.Popen(
            [
                *([] if args.no_profile else spy),
                *granian_command("capital_app.api.app:create_api_app", port),
            ],
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # py-spy leaves Granian running: stop the whole group
        )
        base = f"http://127.0.0.1:{port}"
        bench.wait_until_up(f"{base}/api/health", server, raw)
        token = httpx.post(
            f"{base}/api/auth/token",
            json={"email": org.editor_email, "password": bench.PASSWORD},
            timeout=30,
        ).json()["accessToken"]
        request = json_request("GET", path, token=token)
        import psutil

        procs = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
        cpu_before = sum(sum(p.cpu_times()[:2]) for p in procs)
        result = load(
            base, lambda i: request, concurrency=args.concurrency, max_requests=10**6,
            max_seconds=args.seconds, warmup=20,
        ).summary()  # fmt: skip
        cpu = sum(sum(p.cpu_times()[:2]) for p in procs) - cpu_before
        print(result)
        print(f"server CPU per request: {1000 * cpu / max(1, result['requests']):.2f} ms")
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
        _stop_group(server)
        server = None
        time.sleep(1)
        if not args.no_profile:
            report(raw)
    finally:
        if server is not None:
            _stop_group(server)
        reset_engines()
        bench.drop_database(url)
    return 0


def _stop_group(process: subprocess.Popen) -> None:
    """Stop the server's own process group (py-spy, Granian and its worker), nothing else."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def report(raw: Path, top: int = 35) -> None:
    self_counts: collections.Counter[str] = collections.Counter()
    total_counts: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        samples += count
        self_counts[frames[-1]] += count
        for frame in set(frames):
            total_counts[frame] += count
    print(f"\n{samples} samples; top self time:")
    for frame, count in self_counts.most_common(top):
        print(f"{100 * count / samples:5.1f}%  {frame[:150]}")
    print(
        "\ntop total time (frames containing capital_app, sqlalchemy, psycopg, fastapi, starlette):"
    )
    keep = ("capital_app", "sqlalchemy", "psycopg", "fastapi", "starlette", "pydantic", "jwt")
    shown = 0
    for frame, count in total_counts.most_common():
        if any(k in frame for k in keep):
            print(f"{100 * count / samples:5.1f}%  {frame[:150]}")
            shown += 1
            if shown >= top:
                break


if __name__ == "__main__":
    raise SystemExit(main())
