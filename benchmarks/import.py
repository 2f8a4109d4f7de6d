"""Import benchmark: prototype exports through the CLI and the REST API, timed and measured.

Cases: the 12,000-entry sample (tests/fixtures/large-export.json) and generated
100,000-entry exports (benchmarks/prototype_export.py) over 333 sources (the
sample's shape, scaled) and over 40 sources (2,500 entries each: the hardest
shape for the projection). Each case runs, in a fresh organization per round,
a dry run, the import, the same import again (everything skipped), and an
export of the result:

- CLI path: each step its own `python -m capital_app` process; peak memory is
  that process's maximum resident set (getrusage of that child alone).
- API path: each step one HTTP request (`POST /api/capital-history/import`, the
  file as the body; `GET /api/capital-history/export` read to the end) to the
  API app served as `reflex run --env prod` serves its backend (Granian, one
  worker), started fresh for each round; peak memory is the server processes'
  high-water mark over that request (VmHWM, reset before each step).

    .venv/bin/python benchmarks/import.py                 # every case, both paths, 3 rounds
    .venv/bin/python benchmarks/import.py --case sample-12k --path api
    .venv/bin/python benchmarks/import.py --row-mode-baseline   # also: without bulk mode

Database: a fresh database on BENCH_DATABASE_URL or TEST_DATABASE_URL's server
(dropped afterwards), else the embedded server. Results go to
benchmarks/results/import-<case>.json (CLI) and import-<case>-api.json (API);
a summary is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
GENERATED = RESULTS / "tmp"
TARGET_SECONDS = 20.0  # 100,000 entries, from the issue
sys.path.insert(0, str(ROOT))

if os.environ.get("BENCH_DATABASE_URL"):
    os.environ["TEST_DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
os.environ.setdefault("CAPITAL_BCRYPT_ROUNDS", "4")
os.environ.setdefault("CAPITAL_DATA_DIR", tempfile.mkdtemp(prefix="capital-bench-"))


@dataclass(frozen=True)
class Case:
    name: str
    entries: int
    sources: int
    file: Path | None = None  # None: generated
    target_seconds: float | None = None  # the import's wall time target, if there is one
    target_peak_mb: float | None = None  # the CLI import's peak memory target


CASES = {
    "sample-12k": Case("sample-12k", 12_000, 40, ROOT / "tests" / "fixtures" / "large-export.json"),
    "generated-100k": Case("generated-100k", 100_000, 333, target_seconds=TARGET_SECONDS),
    "generated-100k-40-sources": Case(
        "generated-100k-40-sources", 100_000, 40, target_seconds=TARGET_SECONDS
    ),
    # Issue 12's size: the CLI import of a million entries (target < 120 s, < 500 MB).
    "generated-1m": Case(
        "generated-1m", 1_000_000, 1_000, target_seconds=120.0, target_peak_mb=500.0
    ),
}


def _file_of(case: Case) -> Path:
    if case.file is not None:
        return case.file
    from benchmarks.prototype_export import write

    path = GENERATED / f"{case.name}.json"
    if not path.exists():
        write(path, case.entries, case.sources)
    return path


# Peak memory is read by a small go-between: a child forked straight from this
# (large) process would report this process's high-water mark as its own.
_RUNNER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(f"{code} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
"""


def _cli(*args: str) -> dict[str, object]:
    """Run `python -m capital_app ARGS` alone; wall time and its own peak memory."""
    with tempfile.TemporaryDirectory() as folder:
        usage, err = Path(folder) / "usage", Path(folder) / "stderr"
        started = time.perf_counter()
        with err.open("wb") as stderr:
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _RUNNER,
                    str(usage),
                    sys.executable,
                    "-m",
                    "capital_app",
                    *args,
                ],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                cwd=ROOT,
                check=False,
            )
        seconds = time.perf_counter() - started
        code, peak_kb = (int(v) for v in usage.read_text().split())
        reason = err.read_text(errors="replace").strip().splitlines()[-1:] or [""]
    return {
        "seconds": round(seconds, 3),
        "peakRssMb": round(peak_kb / 1024, 1),
        "exitCode": code,
        "lastStderrLine": reason[0],
    }


def _organization(label: str) -> tuple[str, str]:
    from capital_app.service.organizations import create_organization
    from capital_app.service.users import provision_user

    suffix = secrets.token_hex(3)
    org = create_organization(f"Bench {label} {suffix}")
    email = f"editor-{suffix}@bench.test"
    provision_user(
        org.id, email=email, name="Bench editor", role="EDITOR", password="bench-pass-123"
    )
    return org.name, email


def _in_process_seconds(path: Path, bulk: bool) -> float:
    """The import in this process, with or without bulk mode (what migration 0002 saves)."""
    from unittest import mock

    from capital_app.db import import_export_repository
    from capital_app.service.history_import import import_history
    from capital_app.service.operators import member_actor
    from capital_app.service.organizations import find_organization

    name, email = _organization("bulk" if bulk else "row-mode")
    actor = member_actor(find_organization(name).id, email)
    switch = import_export_repository.enable_bulk_insert if bulk else (lambda conn: None)
    with mock.patch.object(import_export_repository, "enable_bulk_insert", switch):
        started = time.perf_counter()
        with path.open("rb") as content:
            import_history(actor, content)
        return round(time.perf_counter() - started, 3)


def _once(path: Path, label: str) -> dict[str, dict[str, object]]:
    """Dry run, import, re-import and export in a fresh organization."""
    name, email = _organization(label)
    base = ["import", str(path), "--org", name, "--as", email]
    runs = {
        "dryRun": _cli(*base, "--dry-run"),
        "import": _cli(*base),
        "reimport": _cli(*base),
    }
    with tempfile.TemporaryDirectory() as folder:
        runs["export"] = _cli("export", "--org", name, "-o", str(Path(folder) / "out.json"))
    return runs


# --- the API path ---------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    """The server process and its children (Granian runs the app in a worker process)."""
    import psutil

    process = psutil.Process(pid)
    return [process.pid, *(child.pid for child in process.children(recursive=True))]


def _reset_peaks(pids: list[int]) -> None:
    for pid in pids:  # "5": reset the peak resident set (Linux, proc(5) clear_refs)
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def _status_mb(pids: list[int], key: str) -> float:
    """The largest `key` (VmHWM: peak, VmRSS: now) among the server's processes, in MB."""
    values = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                values.append(int(line.split()[1]))
    return round(max(values) / 1024, 1)


def _http_step(pids: list[int], send: object) -> dict[str, object]:
    """One request: wall time (client side, upload and answer included) and server peak."""
    import httpx

    before = _status_mb(pids, "VmRSS")
    _reset_peaks(pids)
    started = time.perf_counter()
    answer: httpx.Response = send()  # type: ignore[operator]
    seconds = time.perf_counter() - started
    summary = ""
    if answer.headers.get("content-type", "").startswith(("application/json", "application/p")):
        body = answer.json() if answer.request.method == "POST" else None
        if isinstance(body, dict):
            summary = f"imported {body.get('imported')}, skipped {body.get('skipped')}"
            summary += f", {len(body.get('errors') or [])} errors"
    return {
        "seconds": round(seconds, 3),
        "peakRssMb": _status_mb(pids, "VmHWM"),
        "rssBeforeMb": before,  # what the server held already (Python keeps freed memory)
        "status": answer.status_code,
        "responseBytes": answer.num_bytes_downloaded,
        "summary": summary,
    }


def _once_api(path: Path, label: str) -> dict[str, dict[str, object]]:
    """Dry run, import, re-import and export over HTTP, against a freshly started server."""
    import httpx

    from tests.support.api_server import start_api_server

    _, email = _organization(f"{label} api")
    server = start_api_server()
    try:
        pids = _tree(server.process.pid)
        with httpx.Client(base_url=server.base_url, timeout=600) as client:
            signed_in = client.post(
                "/api/auth/token", json={"email": email, "password": "bench-pass-123"}
            )
            signed_in.raise_for_status()
            client.headers["Authorization"] = f"Bearer {signed_in.json()['accessToken']}"
            content = path.read_bytes()

            def post(dry_run: bool) -> object:
                return lambda: client.post(
                    "/api/capital-history/import",
                    params={"dryRun": str(dry_run).lower(), "fileName": path.name},
                    content=content,
                    headers={"Content-Type": "application/json"},
                )

            def export() -> httpx.Response:
                with client.stream("GET", "/api/capital-history/export") as answer:
                    for _ in answer.iter_bytes():
                        pass
                return answer

            runs = {
                "dryRun": _http_step(pids, post(True)),
                "import": _http_step(pids, post(False)),
                "reimport": _http_step(pids, post(False)),
                "export": _http_step(pids, export),
            }
    finally:
        server.stop()
    return runs


def _medians(rounds: list[dict[str, dict[str, object]]], entries: int) -> dict[str, object]:
    runs: dict[str, dict[str, object]] = {}
    for label in rounds[0]:
        ordered = sorted(rounds, key=lambda r: float(r[label]["seconds"]))  # type: ignore[arg-type]
        median = dict(ordered[len(ordered) // 2][label])
        median["allSeconds"] = [r[label]["seconds"] for r in rounds]
        median["allPeakRssMb"] = [r[label]["peakRssMb"] for r in rounds]
        median["bestSeconds"] = ordered[0][label]["seconds"]
        median["entriesPerSecond"] = round(entries / float(median["seconds"]))  # type: ignore[arg-type]
        runs[label] = median
    return runs


def run_case_api(case: Case, repeat: int) -> dict[str, object]:
    """The API path: the median of `repeat` rounds, each against a fresh server."""
    path = _file_of(case)
    rounds = [_once_api(path, case.name) for _ in range(repeat)]
    return {
        "case": case.name,
        "path": "api",
        "entries": case.entries,
        "sources": case.sources,
        "fileBytes": path.stat().st_size,
        "server": "granian --interface asgi --workers 1, capital_app.api.app:create_api_app "
        "(as reflex run --env prod serves its backend without Redis)",
        "runs": _medians(rounds, case.entries),
    }


def run_case(case: Case, repeat: int, row_mode_baseline: bool) -> dict[str, object]:
    """The median of `repeat` rounds (the machine is shared; single runs wander)."""
    path = _file_of(case)
    rounds = [_once(path, case.name) for _ in range(repeat)]
    runs: dict[str, dict[str, object]] = {}
    for label in rounds[0]:
        ordered = sorted(rounds, key=lambda r: float(r[label]["seconds"]))  # type: ignore[arg-type]
        median = dict(ordered[len(ordered) // 2][label])
        median["allSeconds"] = [r[label]["seconds"] for r in rounds]
        median["bestSeconds"] = ordered[0][label]["seconds"]
        median["entriesPerSecond"] = round(case.entries / float(median["seconds"]))  # type: ignore[arg-type]
        runs[label] = median
    result: dict[str, object] = {
        "case": case.name,
        "entries": case.entries,
        "sources": case.sources,
        "fileBytes": path.stat().st_size,
        "runs": runs,
    }
    if row_mode_baseline:  # back to back, so both meet the same load on a shared machine
        result["inProcessImportSeconds"] = {
            "bulkMode": _in_process_seconds(path, bulk=True),
            "rowMode": _in_process_seconds(path, bulk=False),
        }
    return result


def _environment() -> dict[str, object]:
    from sqlalchemy import text

    from capital_app.db.engine import owner_engine
    from capital_app.service.history_import import BATCH_ROWS

    engine = owner_engine()
    with engine.connect() as conn:
        server = conn.execute(text("SHOW server_version")).scalar_one()
    engine.dispose()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": commit,
        "python": platform.python_version(),
        "postgres": server,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "batchRows": BATCH_ROWS,
        "loadAverageAtStart": [round(x, 2) for x in os.getloadavg()],  # a shared machine
    }


def main() -> None:
    # One benchmark user sends far more than an integrator may (issue 13 rate limits):
    # measure the app, not the limiter.
    os.environ.setdefault("CAPITAL_RATE_LIMIT_PER_MINUTE", "0")
    parser = argparse.ArgumentParser(description="Import benchmark through the CLI and the API.")
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    parser.add_argument("--path", choices=["cli", "api", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per case (median kept)")
    parser.add_argument("--row-mode-baseline", action="store_true")
    args = parser.parse_args()

    from capital_app.db.engine import reset_engines
    from capital_app.db.migrations import migrate_database
    from capital_app.settings import get_settings
    from tests.support.database import create_test_database, drop_test_database

    url = create_test_database("capital_bench")
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engines()
    RESULTS.mkdir(parents=True, exist_ok=True)
    try:
        migrate_database()
        environment = _environment()
        for name in args.case or list(CASES):
            if args.path in ("api", "both"):
                _report_api(run_case_api(CASES[name], args.repeat), environment, args.repeat)
            if args.path == "api":
                continue
            result = run_case(CASES[name], args.repeat, args.row_mode_baseline)
            result["environment"] = environment
            result["loadAverageAtEnd"] = [round(x, 2) for x in os.getloadavg()]
            (RESULTS / f"import-{name}.json").write_text(json.dumps(result, indent=2) + "\n")
            runs = result["runs"]
            print(
                f"{name}: {result['entries']:,} entries, {result['fileBytes'] / 1e6:.1f} MB"
                f" (median of {args.repeat})"
            )
            for label, run in runs.items():  # type: ignore[union-attr]
                print(
                    f"  {label:<9} {run['seconds']:>7.2f} s (best {run['bestSeconds']:.2f})"
                    f"  {run['entriesPerSecond']:>8,} entries/s"
                    f"  peak {run['peakRssMb']:>6.1f} MB  exit {run['exitCode']}"
                )
            if "inProcessImportSeconds" in result:
                both = result["inProcessImportSeconds"]
                print(
                    f"  in-process import: bulk mode {both['bulkMode']:.2f} s,"  # type: ignore[index]
                    f" row by row {both['rowMode']:.2f} s"  # type: ignore[index]
                )
            _verdict(CASES[name], runs["import"], peak=True)  # type: ignore[index]
    finally:
        reset_engines()
        drop_test_database(url)


def _report_api(result: dict[str, object], environment: dict[str, object], repeat: int) -> None:
    result["environment"] = environment
    result["loadAverageAtEnd"] = [round(x, 2) for x in os.getloadavg()]
    name = result["case"]
    (RESULTS / f"import-{name}-api.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{name} through the API: {result['entries']:,} entries,"
        f" {int(result['fileBytes']) / 1e6:.1f} MB (median of {repeat})"  # type: ignore[call-overload]
    )
    runs = result["runs"]
    for label, run in runs.items():  # type: ignore[union-attr]
        print(
            f"  {label:<9} {run['seconds']:>7.2f} s (best {run['bestSeconds']:.2f})"
            f"  {run['entriesPerSecond']:>8,} entries/s"
            f"  server peak {run['peakRssMb']:>6.1f} MB (before {run['rssBeforeMb']:.1f})"
            f"  HTTP {run['status']}  {run['summary']}"
        )
    _verdict(CASES[str(name)], runs["import"], peak=False)  # type: ignore[index]


def _verdict(case: Case, run: dict[str, object], peak: bool) -> None:
    """The import step against its case's targets (peak memory: the CLI process only)."""
    if case.target_seconds is not None:
        seconds = float(run["seconds"])  # type: ignore[arg-type]
        verdict = "within" if seconds < case.target_seconds else "OVER"
        print(f"  target: {case.entries:,} entries in < {case.target_seconds:.0f} s — {verdict}")
    if peak and case.target_peak_mb is not None:
        mb = float(run["peakRssMb"])  # type: ignore[arg-type]
        verdict = "within" if mb < case.target_peak_mb else "OVER"
        print(f"  target: peak memory < {case.target_peak_mb:.0f} MB — {verdict}")


if __name__ == "__main__":
    main()
