"""`capital-app import` and `capital-app export`: every path, including the failing ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from capital_app.cli import main
from capital_app.service import history_queries as queries
from tests.support.factories import Tenant
from tests.support.prototype import FIXTURES, dumps, independent_wacc, load

DEMO = str(FIXTURES / "demo-export.json")


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def import_args(tenant: Tenant, path: str, role: str = "EDITOR") -> list[str]:
    user = {"EDITOR": tenant.editor, "ADMIN": tenant.admin, "VIEWER": tenant.viewer}[role]
    return ["import", path, "--org", tenant.organization.name, "--as", user.email]


def one_line_reason(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("capital-app:")]
    assert len(lines) == 1, err
    return lines[0]


def test_import_prints_a_summary_and_progress(
    tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, *import_args(tenant, DEMO))
    assert code == 0, err
    assert "Imported:          30 (ADDED 7, AMOUNT_CHANGED 15, RATE_CHANGED 7, REMOVED 1)" in out
    assert "Entries in file:   30" in out and "Sources in file:   7 (7 new)" in out
    assert "Effective dates:   22 Jan 2024 – 24 Aug 2025" in out
    assert "After the import: KES 2,087,921,788.00 in 6 active sources, WACC 14.4465 %" in out
    assert "Import id:" in out
    assert (
        "reading: 0.0 MB" in err and "checking: 30 entries" in err and "writing: 30 entries" in err
    )
    assert queries.count_history(tenant.actor("VIEWER")) == 30


def test_a_dry_run_writes_nothing(tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, *import_args(tenant, DEMO), "--dry-run")
    assert code == 0
    assert out.startswith("Dry run: nothing was written.")
    assert "Would import:      30" in out and "Import id" not in out
    assert queries.count_history(tenant.actor("VIEWER")) == 0


def test_json_output_is_the_report_with_exact_numbers(
    tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, *import_args(tenant, DEMO), "--json")
    assert code == 0
    report = json.loads(out, parse_float=Decimal)
    total, wacc = independent_wacc(load("demo-export.json"))
    assert (report["imported"], report["skipped"], report["errors"]) == (30, 0, [])
    assert (report["totalCents"], report["wacc"]) == (total, wacc)
    assert report["importedByAction"] == {
        "ADDED": 7,
        "AMOUNT_CHANGED": 15,
        "RATE_CHANGED": 7,
        "REMOVED": 1,
    }
    code, out, _ = cli(capsys, *import_args(tenant, DEMO), "--json")
    assert json.loads(out)["skipped"] == 30


def test_a_refused_file_lists_every_problem_and_exits_non_zero(
    tenant: Tenant, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    raw = load("demo-export.json")
    raw[4]["annualRate"] = Decimal("0.12345678")
    raw[20]["bogus"] = 1
    bad = tmp_path / "bad.json"
    bad.write_text(dumps(raw), encoding="utf-8")
    for extra in ([], ["--dry-run"]):
        code, out, err = cli(capsys, *import_args(tenant, str(bad)), *extra)
        assert code == 1
        outcome = "an import would be refused" if extra else "nothing was imported"
        assert f"Problems (2) — {outcome}:" in out
        assert "Imported:          0 (" in out or "Would import:      0 (" in out
        assert f"entry 4 ({raw[4]['id']}) annualRate: Rate 0.12345678 has more" in out
        assert f"entry 20 ({raw[20]['id']}) bogus: Unknown field" in out
        assert "2 problems" in one_line_reason(err)
    assert queries.count_history(tenant.actor("VIEWER")) == 0


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (lambda t: import_args(t, "/no/such/file.json"), "No such file"),
        (
            lambda t: ["import", DEMO, "--org", "Nobody Ltd", "--as", t.editor.email],
            "No organization is called",
        ),
        (
            lambda t: ["import", DEMO, "--org", t.organization.name, "--as", "ghost@example.test"],
            "No user with the email",
        ),
        (
            lambda t: ["import", DEMO, "--org", t.organization.name, "--as", "not-an-email"],
            "valid email",
        ),
        (lambda t: import_args(t, DEMO, role="VIEWER"), "can view the ledger but not change it"),
        (lambda t: ["export", "--org", "Nobody Ltd"], "No organization is called"),
    ],
    ids=[
        "missing-file",
        "unknown-org",
        "unknown-user",
        "bad-email",
        "viewer",
        "export-unknown-org",
    ],
)
def test_errors_exit_non_zero_with_one_line(
    tenant: Tenant, capsys: pytest.CaptureFixture[str], args, reason: str
) -> None:
    code, _, err = cli(capsys, *args(tenant))
    assert code == 1
    assert reason in one_line_reason(err)
    assert queries.count_history(tenant.actor("VIEWER")) == 0


def test_a_file_that_is_not_json_is_a_problem_not_a_crash(
    tenant: Tenant, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("these are my notes", encoding="utf-8")
    code, out, err = cli(capsys, *import_args(tenant, str(junk)))
    assert code == 1
    assert "file This is not a prototype export" in out
    assert "1 problem;" in one_line_reason(err)


def test_export_json_to_stdout_and_csv_to_a_file(
    tenant: Tenant, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cli(capsys, *import_args(tenant, DEMO))
    code, out, _ = cli(capsys, "export", "--org", tenant.organization.name)
    assert code == 0
    entries = json.loads(out, parse_float=Decimal)
    assert [e["id"] for e in entries] == [e["id"] for e in load("demo-export.json")]
    target = tmp_path / "history.csv"
    code, out, _ = cli(
        capsys, "export", "--org", tenant.organization.name, "--format", "csv", "-o", str(target)
    )
    assert (code, out) == (0, "")
    data = target.read_bytes()
    assert data.startswith("\ufeffid,sourceId,sequence,".encode()) and data.count(b"\r\n") == 31
    assert [p.name for p in tmp_path.iterdir()] == ["history.csv"]  # no partial files left


def test_export_into_a_missing_folder_fails_cleanly(
    tenant: Tenant, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = cli(
        capsys, "export", "--org", tenant.organization.name, "-o", str(tmp_path / "no" / "x.json")
    )
    assert code == 1
    assert "No such file or directory" in one_line_reason(err)


def test_unknown_export_format_is_a_usage_error(tenant: Tenant) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--org", tenant.organization.name, "--format", "xml"])
    assert exit_.value.code == 2


def command(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m capital_app ARGS` in its own process (DATABASE_URL comes from the fixture)."""
    return subprocess.run(
        [sys.executable, "-m", "capital_app", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
        check=False,
    )


def test_the_installed_command_imports_and_exports(tenant: Tenant, tmp_path: Path) -> None:
    """The real entry point, in its own process, as an operator would run it."""
    done = command(*import_args(tenant, str(FIXTURES / "large-export.json")))
    assert done.returncode == 0, done.stderr
    assert "Imported:          12,000" in done.stdout
    exported = tmp_path / "out.json"
    done = command("export", "--org", tenant.organization.name, "-o", str(exported))
    assert done.returncode == 0, done.stderr
    assert len(json.loads(exported.read_text(encoding="utf-8"))) == 12000
    done = command(*import_args(tenant, str(exported)), "--dry-run")
    assert done.returncode == 0 and "Already here:      12,000 (skipped)" in done.stdout
    done = command(*import_args(tenant, str(tmp_path / "missing.json")))
    assert done.returncode == 1 and done.stderr.count("\n") == 1
