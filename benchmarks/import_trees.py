"""The CLI import step of one file, served from several source trees, one after the other.

A before/after of the import in one run and one database (issue 12's million entries):

    git archive <base> | tar -x -C /tmp/before
    .venv/bin/python benchmarks/import_trees.py FILE /tmp/before . [--out results/x.json]

Each tree imports FILE into a fresh organization with `python -m capital_app import`
(run from that tree); wall time and the CLI process's own peak memory (getrusage of a
go-between, as benchmarks/import.py measures it) and the load average are recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CAPITAL_BCRYPT_ROUNDS", "4")
os.environ.setdefault("CAPITAL_DATA_DIR", tempfile.mkdtemp(prefix="capital-bench-"))


# Peak memory is read by a small go-between (as in benchmarks/import.py): a child forked
# straight from this process would report this process's high-water mark as its own.
_RUNNER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(f"{code} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
"""


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


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _import_from(tree: Path, path: Path) -> dict[str, object]:
    name, email = _organization(tree.name)
    with tempfile.TemporaryDirectory() as folder:
        usage, err = Path(folder) / "usage", Path(folder) / "stderr"
        load_at_start, started = _load(), time.perf_counter()
        runner = [sys.executable, "-c", _RUNNER, str(usage), sys.executable, "-m", "capital_app"]
        command = ["import", str(path), "--org", name, "--as", email]
        with err.open("wb") as stderr:
            subprocess.run(
                [*runner, *command],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                cwd=tree,
                env=dict(os.environ, PYTHONPATH=str(tree)),
                check=False,
            )
        seconds = time.perf_counter() - started
        code, peak_kb = (int(v) for v in usage.read_text().split())
        tail = err.read_text(errors="replace").strip().splitlines()[-2:]
    return {
        "tree": str(tree),
        "seconds": round(seconds, 1),
        "peakRssMb": round(peak_kb / 1024, 1),
        "exitCode": code,
        "loadAtStart": load_at_start,
        "loadAtEnd": _load(),
        "stderrTail": tail,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("trees", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/import-trees.json")
    args = parser.parse_args()
    if os.environ.get("BENCH_DATABASE_URL"):
        os.environ["TEST_DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]

    from capital_app.db.engine import reset_engines
    from capital_app.db.migrations import migrate_database
    from capital_app.settings import get_settings
    from tests.support.database import create_test_database, drop_test_database

    url = create_test_database("capital_bench")
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engines()
    path = args.file.resolve()
    result: dict[str, object] = {"file": str(path), "fileBytes": path.stat().st_size, "runs": []}
    try:
        migrate_database()
        for tree in args.trees:
            run = _import_from(tree.resolve(), path)
            print(json.dumps(run), flush=True)
            result["runs"].append(run)  # type: ignore[attr-defined]
    finally:
        reset_engines()
        drop_test_database(url)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
