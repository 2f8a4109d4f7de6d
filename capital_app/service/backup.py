"""Backups: the whole database, or one organization's rows, and restoring them.

A backup is one tar file (gzip) holding `manifest.json` and the data:

* `kind: "database"` — `database.dump`, pg_dump's custom format of the whole
  database (made with the pg_dump matching the server, see db/pg_tools.py).
  Restored with pg_restore into an EMPTY database, in one transaction.
* `kind: "organization"` — `tables/<table>.copy`, each the organization's rows of one
  table in COPY text format, read in one snapshot; the manifest names every
  table's columns and row count. Restored into a database at the same migration
  head, rows written exactly as they were, refusing an organization that is
  already there unless `replace` is given.

The manifest records every file's SHA-256 and size; a restore checks them all
before it touches the database, and checks the restored projection against its
history (the fold of `verify`) before it commits an organization.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from capital_app.db import org_copy, pg_tools
from capital_app.db.engine import owner_database_url, owner_engine
from capital_app.db.migrations import known_revisions, upgrade_to_head
from capital_app.db.roles import ensure_runtime_roles, runtime_role_name
from capital_app.domain.errors import ErrorKind, LedgerError
from capital_app.service.errors import NotFound
from capital_app.service.projections import SourceDifference, projection_differences

FORMAT = "capital-ledger-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_FILE = "database.dump"
_TABLE_FILE = re.compile(r"^tables/[a-z_][a-z0-9_]{0,62}\.copy$")


class BackupRefused(LedgerError):
    """A backup or restore that cannot go ahead: the reason says what to do."""

    kind = ErrorKind.CONFLICT
    title = "Backup or restore refused"


class BadBackupFile(LedgerError):
    kind = ErrorKind.INVALID
    title = "Not a usable backup file"


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    kind: str
    organization_id: UUID | None
    organization_name: str | None
    bytes: int
    rows: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "kind": self.kind,
            "organizationId": str(self.organization_id) if self.organization_id else None,
            "organizationName": self.organization_name,
            "bytes": self.bytes,
            "rows": self.rows,
        }


@dataclass(frozen=True, slots=True)
class RestoreReport:
    kind: str
    organization_id: UUID | None
    organization_name: str | None
    migration_head: str
    rows: dict[str, int] = field(default_factory=dict)
    renumbered: tuple[str, ...] = ()
    replaced: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "organizationId": str(self.organization_id) if self.organization_id else None,
            "organizationName": self.organization_name,
            "migrationHead": self.migration_head,
            "rows": self.rows,
            "renumbered": list(self.renumbered),
            "replaced": self.replaced,
        }


# --- helpers ------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@contextmanager
def _owner() -> Iterator[Connection]:
    engine = owner_engine()
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _file_entry(path: Path, name: str) -> dict[str, Any]:
    return {"file": name, "sha256": _sha256(path), "bytes": path.stat().st_size}


def _write_archive(target: Path, manifest: dict[str, Any], files: dict[str, Path]) -> int:
    """Tar the files and the manifest beside the target, then rename: never half a file."""
    target = target.resolve()
    if target.is_dir():
        raise BadBackupFile(f"{target} is a directory; name the backup file to write.")
    if not target.parent.is_dir():
        raise BadBackupFile(f"The folder {target.parent} does not exist.")
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=".backup-", suffix=".part")
    os.close(handle)
    try:
        with tarfile.open(partial, "w:gz") as tar:
            body = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(body), int(datetime.now(UTC).timestamp()), 0o600
            tar.addfile(info, io.BytesIO(body))
            for name, path in files.items():
                tar.add(str(path), arcname=name, recursive=False)
        os.chmod(partial, 0o600)  # a backup holds password hashes: the owner's eyes only
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return target.stat().st_size


def _base_manifest(conn: Connection, kind: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "formatVersion": FORMAT_VERSION,
        "kind": kind,
        "createdAt": _now(),
        "migrationHead": org_copy.migration_head(conn),
        "serverMajor": pg_tools.server_major(conn),
        "runtimeRole": runtime_role_name(),
    }


# --- backup -------------------------------------------------------------------------


def backup_database(target: Path) -> BackupReport:
    """pg_dump of the whole database, with the pg_dump matching the server."""
    with _owner() as conn:
        manifest = _base_manifest(conn, "database")
        if manifest["migrationHead"] is None:
            raise BackupRefused("This database has no Capital Ledger schema; nothing to back up.")
        tool = pg_tools.find_tool("pg_dump", manifest["serverMajor"])
    manifest["dumpMajor"] = tool.major
    with tempfile.TemporaryDirectory(prefix="capital-backup-") as work:
        dump = Path(work) / DATABASE_FILE
        pg_tools.dump_database(tool, owner_database_url(), dump)
        manifest["files"] = [_file_entry(dump, DATABASE_FILE)]
        size = _write_archive(target, manifest, {DATABASE_FILE: dump})
    return BackupReport(target, "database", None, None, size)


def _find_organization(conn: Connection, reference: str) -> tuple[UUID, str]:
    try:
        org_id = UUID(reference.strip())
    except ValueError:
        found = org_copy.organization_named(conn, reference)
    else:
        found = org_copy.organization_by_id(conn, org_id)
    if found is None:
        raise NotFound(f"No organization has the id or name “{reference.strip()}”.")
    return found


def backup_organization(reference: str, target: Path) -> BackupReport:
    """One organization's rows of every tenant table, from one snapshot."""
    engine = owner_engine()
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(
                postgresql_readonly=True, isolation_level="REPEATABLE READ"
            )
            with conn.begin(), tempfile.TemporaryDirectory(prefix="capital-backup-") as work:
                org_id, name = _find_organization(conn, reference)
                # The owner is bound by FORCEd RLS unless it is a superuser: be the tenant.
                conn.exec_driver_sql(f"SELECT set_config('app.org_id', '{org_id}', true)")
                manifest = _base_manifest(conn, "organization")
                manifest["organization"] = {"id": str(org_id), "name": name}
                tables, files, rows = [], {}, {}
                for table in org_copy.tenant_tables(conn):
                    arcname = f"tables/{table.name}.copy"
                    path = Path(work) / f"{table.name}.copy"
                    with path.open("wb") as out:
                        count = org_copy.copy_out(conn, table, org_id, out)
                    rows[table.name] = count
                    files[arcname] = path
                    tables.append(
                        {
                            **_file_entry(path, arcname),
                            "table": table.name,
                            "columns": list(table.columns),
                            "rows": count,
                            "identity": table.identity_column,
                        }
                    )
                manifest["files"] = tables
                size = _write_archive(target, manifest, files)
    finally:
        engine.dispose()
    return BackupReport(target, "organization", org_id, name, size, rows)


# --- reading a backup ---------------------------------------------------------------


def _read_manifest(source: Path, work: Path) -> dict[str, Any]:
    """Extract the archive's files into `work` (names checked), check every checksum."""
    if not source.exists():
        raise BadBackupFile(f"There is no file {source}.")
    if not source.is_file():
        raise BadBackupFile(f"{source} is not a file.")
    try:
        tar = tarfile.open(source, "r:*")  # noqa: SIM115 (closed below)
    except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile) as error:
        raise BadBackupFile(
            f"{source} is not a Capital Ledger backup (not a tar archive)."
        ) from error
    with tar:
        try:
            members = {m.name: m for m in tar.getmembers()}
        except (tarfile.TarError, OSError, EOFError) as error:
            raise BadBackupFile(f"{source} is damaged or incomplete: {error}.") from error
        if MANIFEST not in members:
            raise BadBackupFile(f"{source} is not a Capital Ledger backup (no {MANIFEST}).")
        try:
            manifest = json.load(tar.extractfile(members[MANIFEST]))  # type: ignore[arg-type]
        except (ValueError, TypeError) as error:
            raise BadBackupFile(f"{source}: {MANIFEST} is not valid JSON.") from error
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BadBackupFile(f"{source} is not a Capital Ledger backup (unknown manifest).")
        if manifest.get("formatVersion") != FORMAT_VERSION:
            raise BadBackupFile(
                f"{source} is a backup of format version {manifest.get('formatVersion')}; "
                f"this version of Capital Ledger reads version {FORMAT_VERSION}."
            )
        if manifest.get("kind") not in ("database", "organization"):
            raise BadBackupFile(f"{source}: unknown backup kind {manifest.get('kind')!r}.")
        for entry in manifest.get("files", []):
            name = entry.get("file", "")
            allowed = name == DATABASE_FILE if manifest["kind"] == "database" else None
            if allowed is None:
                allowed = bool(_TABLE_FILE.match(name))
            member = members.get(name)
            if not allowed or member is None or not member.isfile():
                raise BadBackupFile(f"{source} is incomplete: {name or 'a file'} is missing.")
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as data, target.open("wb") as out:  # type: ignore[union-attr]
                while chunk := data.read(1 << 20):
                    out.write(chunk)
            if target.stat().st_size != entry.get("bytes") or _sha256(target) != entry.get(
                "sha256"
            ):
                raise BadBackupFile(
                    f"{source} is damaged: {name} does not match its checksum; nothing was restored."
                )
        if not manifest.get("files"):
            raise BadBackupFile(f"{source} lists no data files.")
    return manifest


# --- restore ------------------------------------------------------------------------


def restore_backup(source: Path, *, replace: bool = False) -> RestoreReport:
    """Restore into the database the app connects to (DATABASE_URL, else embedded)."""
    with tempfile.TemporaryDirectory(prefix="capital-restore-") as work:
        manifest = _read_manifest(source, Path(work))
        if manifest["kind"] == "database":
            if replace:
                raise BackupRefused(
                    "--replace applies to one organization's backup; a whole database is "
                    "restored only into an empty database."
                )
            return _restore_database(manifest, Path(work))
        return _restore_organization(manifest, Path(work), replace)


def _check_head_known(manifest: dict[str, Any]) -> str:
    head = manifest.get("migrationHead")
    if head not in known_revisions():
        raise BackupRefused(
            f"The backup is at migration {head}, which this version of Capital Ledger does "
            "not have; restore it with the version that made it (or a newer one)."
        )
    return str(head)


def _restore_database(manifest: dict[str, Any], work: Path) -> RestoreReport:
    _check_head_known(manifest)
    if manifest.get("runtimeRole") != runtime_role_name():
        raise BackupRefused(
            f"The backup grants its tables to the runtime role {manifest.get('runtimeRole')}, "
            f"not {runtime_role_name()}: set CAPITAL_RUNTIME_ROLE={manifest.get('runtimeRole')} "
            "to restore it."
        )
    with _owner() as conn, conn.begin():
        if org_copy.has_any_table(conn):
            raise BackupRefused(
                f"The target database “{conn.engine.url.database}” is not empty; a whole-database "
                "backup is restored only into an empty database (create one and point "
                "DATABASE_URL at it)."
            )
        major = pg_tools.server_major(conn)
        tool = pg_tools.find_tool("pg_restore", max(major, int(manifest.get("dumpMajor", major))))
        ensure_runtime_roles(conn)
    pg_tools.restore_database(tool, owner_database_url(), work / DATABASE_FILE)
    upgrade_to_head()  # same head: only the login role's password; older: brought up
    with _owner() as conn:
        head = org_copy.migration_head(conn) or ""
    return RestoreReport("database", None, None, head)


def _restore_organization(manifest: dict[str, Any], work: Path, replace: bool) -> RestoreReport:
    head = _check_head_known(manifest)
    org = manifest.get("organization") or {}
    try:
        org_id, name = UUID(org["id"]), str(org["name"])
    except (KeyError, ValueError, TypeError) as error:
        raise BadBackupFile("The backup's manifest names no organization.") from error
    with _owner() as conn:
        if not org_copy.is_superuser(conn):
            raise BackupRefused(
                "Restoring one organization needs a superuser connection (DATABASE_URL's "
                "user): its rows are written exactly as they were, with triggers off."
            )
        target_head = org_copy.migration_head(conn)
        empty = target_head is None and not org_copy.has_any_table(conn)
    if empty:
        upgrade_to_head(head)  # a fresh database: the backup's schema first
        target_head = head
    if target_head != head:
        raise BackupRefused(
            f"The backup is at migration {head} but the target database is at "
            f"{target_head or 'none (not a Capital Ledger database)'}; restore one "
            "organization only into a database at the same migration (capital-app migrate)."
        )
    engine = owner_engine()
    try:
        with engine.connect() as conn, conn.begin():
            return _load_organization(conn, manifest, work, org_id, name, head, replace)
    except IntegrityError as error:
        diag = getattr(error.orig, "diag", None)
        detail = getattr(diag, "message_detail", None) or str(error.orig).splitlines()[0]
        constraint = getattr(diag, "constraint_name", None) or "a constraint"
        raise BackupRefused(
            f"The backup's rows clash with the target database ({constraint}: {detail}); "
            "nothing was restored."
        ) from error
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0]
        raise BackupRefused(f"The restore failed ({reason}); nothing was restored.") from error
    finally:
        engine.dispose()


def _load_organization(
    conn: Connection,
    manifest: dict[str, Any],
    work: Path,
    org_id: UUID,
    name: str,
    head: str,
    replace: bool,
) -> RestoreReport:
    tables = {t.name: t for t in org_copy.tenant_tables(conn)}
    for entry in manifest["files"]:
        table = tables.get(entry.get("table", ""))
        if table is None or tuple(entry.get("columns", ())) != table.columns:
            raise BackupRefused(
                f"The target database's table {entry.get('table')} is not the backup's "
                "(other columns); both must be at the same migration."
            )
    existing = org_copy.organization_by_id(conn, org_id)
    if existing is not None and not replace:
        raise BackupRefused(
            f"The organization “{existing[1]}” ({org_id}) already exists in the target "
            "database; pass --replace to overwrite it with the backup (its current rows are "
            "deleted)."
        )
    same_name = org_copy.organization_named(conn, name)
    if same_name is not None and same_name[0] != org_id:
        raise BackupRefused(
            f"Another organization ({same_name[0]}) is called “{same_name[1]}” in the target "
            "database; rename it first (organization names are unique)."
        )
    org_copy.enter_replica_mode(conn)
    if existing is not None:
        org_copy.delete_organization_rows(conn, list(tables.values()), org_id)
    rows: dict[str, int] = {}
    renumbered: list[str] = []
    for entry in manifest["files"]:
        table = tables[entry["table"]]
        columns = tuple(entry["columns"])
        with (work / entry["file"]).open("rb") as data:
            if table.identity_column is not None:
                low_high = _archive_id_range(work / entry["file"], columns, table)
                if low_high and org_copy.ids_taken(conn, table, *low_high):
                    org_copy.advance_identity(conn, table)  # fresh ids past every stored one
                    rows[table.name] = org_copy.copy_in_renumbered(conn, table, columns, data)
                    renumbered.append(table.name)
                else:
                    rows[table.name] = org_copy.copy_in(conn, table, columns, data)
                org_copy.advance_identity(conn, table)
            else:
                rows[table.name] = org_copy.copy_in(conn, table, columns, data)
        if rows[table.name] != entry.get("rows"):
            raise BadBackupFile(
                f"{entry['file']} held {rows[table.name]} rows, the manifest says "
                f"{entry.get('rows')}; nothing was restored."
            )
    conn.exec_driver_sql("SET LOCAL session_replication_role = origin")
    conn.exec_driver_sql(f"SELECT set_config('app.org_id', '{org_id}', true)")
    differences = projection_differences(conn, org_id)
    if differences:
        raise BackupRefused(
            "The restored projection does not match its history ("
            + _describe(differences)
            + "); nothing was restored."
        )
    return RestoreReport(
        "organization", org_id, name, head, rows, tuple(renumbered), existing is not None
    )


def _archive_id_range(
    path: Path, columns: tuple[str, ...], table: org_copy.TenantTable
) -> tuple[int, int] | None:
    """(min, max) of the identity column in a COPY text file."""
    index = columns.index(table.identity_column or "")
    low = high = None
    with path.open("rb") as data:
        for line in data:
            value = int(line.split(b"\t")[index])
            low = value if low is None else min(low, value)
            high = value if high is None else max(high, value)
    return None if low is None or high is None else (low, high)


def _describe(differences: list[SourceDifference]) -> str:
    return ", ".join(f"{d.source_id}: {d.problem}" for d in differences[:5])
