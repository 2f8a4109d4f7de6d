"""`capital-app`: operator commands. Each exits non-zero with a one-line reason on error.

Commands connect the way the app does (DATABASE_URL, else the embedded server)
and print ids alone on stdout, so scripts can capture them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence

import psycopg
from sqlalchemy.exc import OperationalError, ProgrammingError

from capital_app.domain.errors import LedgerError

Handler = Callable[[argparse.Namespace], int]


def _migrate(_: argparse.Namespace) -> int:
    from capital_app.db.migrations import migrate_database

    migrate_database()
    print("database is at the latest migration")
    return 0


def _create_org(args: argparse.Namespace) -> int:
    from capital_app.service.organizations import create_organization

    org = create_organization(args.name, args.currency)
    print(org.id)
    return 0


def _create_user(args: argparse.Namespace) -> int:
    from capital_app.service.organizations import find_organization
    from capital_app.service.users import provision_user

    if not args.password_stdin:
        raise LedgerError("Pass --password-stdin and the password on standard input.")
    password = sys.stdin.readline().rstrip("\r\n")
    org = find_organization(args.org)
    user = provision_user(
        org.id, email=args.email, name=args.name, role=args.role, password=password
    )
    print(user.id)
    return 0


def _seed_demo(_: argparse.Namespace) -> int:
    from capital_app.service.demo import seed_demo

    seed = seed_demo()
    state = "created" if seed.created else "already present"
    print(f"demo organization “{seed.organization.name}” {state} ({seed.organization.id})")
    for email, name, role, password in seed.users:
        print(f"  {role:<6}  {email}  password: {password}  ({name})")
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    from capital_app.db.operator import list_organization_ids
    from capital_app.service.organizations import find_organization
    from capital_app.service.projections import rebuild_projections

    if args.org:
        targets = [find_organization(args.org).id]
    else:
        targets = [org_id for org_id, _ in list_organization_ids()]
    for org_id in targets:
        report = rebuild_projections(org_id)
        print(
            json.dumps(
                {
                    "organizationId": str(report.organization_id),
                    "sources": report.sources,
                    "corrected": report.corrected,
                }
            )
        )
    return 0


def _verify(args: argparse.Namespace) -> int:
    """Exit 0 when every projection row is what its history folds to, 1 otherwise."""
    from capital_app.db.operator import list_organization_ids
    from capital_app.service.organizations import find_organization
    from capital_app.service.projections import verify_projections

    if args.org:
        found = find_organization(args.org)
        targets = [(found.id, found.name)]
    else:
        targets = list_organization_ids()
    differing: list[str] = []
    for org_id, name in targets:
        report = verify_projections(org_id)
        print(
            json.dumps(
                {
                    "organizationId": str(org_id),
                    "name": name,
                    "sources": report.sources,
                    "clean": report.clean,
                    "differences": [
                        {"sourceId": d.source_id, "problem": d.problem, "fields": list(d.fields)}
                        for d in report.differences
                    ],
                    # Only when there are any: a clean report reads as before 0010.
                    **(
                        {"snapshotDays": [day.isoformat() for day in report.snapshot_days]}
                        if report.snapshot_days
                        else {}
                    ),
                },
                ensure_ascii=False,
            )
        )
        if not report.clean:
            sources = ", ".join(
                [d.source_id for d in report.differences]
                + (["the WACC snapshot"] if report.snapshot_days else [])
            )
            differing.append(f"“{name}” ({org_id}): {sources}")
    if differing:
        print(
            "capital-app: the projection differs from history in "
            f"{len(differing)} organization{'s' if len(differing) != 1 else ''}: "
            + "; ".join(differing)
            + " (capital-app rebuild-projections corrects it)",
            file=sys.stderr,
        )
        return 1
    return 0


def _backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from capital_app.service.backup import backup_database, backup_organization

    target = Path(args.output)
    if args.organization:
        report = backup_organization(args.organization, target)
    else:
        report = backup_database(target)
    print(json.dumps(report.as_json(), ensure_ascii=False))
    return 0


def _restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from capital_app.service.backup import restore_backup

    report = restore_backup(Path(args.file), replace=args.replace)
    print(json.dumps(report.as_json(), ensure_ascii=False))
    return 0


def _run(args: argparse.Namespace) -> int:
    from capital_app.launcher import run_app

    return run_app(args.port, host=args.host, seed=args.seed_demo)


def _worker(_: argparse.Namespace) -> int:
    from capital_app.db.migrations import migrate_database
    from capital_app.worker import run_worker

    migrate_database()
    return run_worker()


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (a number from 1 to 65535)")
    return int(text)


def _import(args: argparse.Namespace) -> int:
    from capital_app.cli_import_export import ProgressBar, summary_lines
    from capital_app.domain.export_format import exact_json
    from capital_app.service.history_import import ImportRefused, import_history
    from capital_app.service.operators import member_actor
    from capital_app.service.organizations import find_organization

    org = find_organization(args.org)
    actor = member_actor(org.id, args.as_email)
    progress = ProgressBar()
    try:
        with open(args.file, "rb") as content:
            report = import_history(
                actor,
                content,
                file_name=os.path.basename(args.file),
                dry_run=args.dry_run,
                progress=progress,
            )
        refused = None
    except ImportRefused as error:
        report, refused = error.report, error
    finally:
        progress.finish()
    if args.json:
        print(exact_json(report.as_json()))
    else:
        print("\n".join(summary_lines(report, org.currency)))
    if refused is not None:
        raise refused
    if not report.ok:
        count = len(report.errors)
        raise LedgerError(
            f"The file has {count} problem{'s' if count != 1 else ''}; an import would be refused."
        )
    return 0


def _export(args: argparse.Namespace) -> int:
    from capital_app.service.history_export import export_organization, parse_export_format
    from capital_app.service.organizations import find_organization

    fmt = parse_export_format(args.format)
    org = find_organization(args.org)
    chunks = export_organization(org.id, fmt)
    if args.output in (None, "-"):
        for chunk in chunks:
            sys.stdout.write(chunk)
        sys.stdout.flush()
        return 0
    # Written beside the target and renamed: a failed export never leaves half a file.
    target = os.path.abspath(args.output)
    handle, partial = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".export-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            for chunk in chunks:
                out.write(chunk)
        os.replace(partial, target)
    except BaseException:
        os.unlink(partial)
        raise
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="capital-app", description="Capital Ledger operator commands."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("migrate", help="apply database migrations (idempotent)").set_defaults(
        handler=_migrate
    )

    p = sub.add_parser("create-org", help="create an organization; prints its id")
    p.add_argument("name")
    p.add_argument("--currency", default="KES")
    p.set_defaults(handler=_create_org)

    p = sub.add_parser("create-user", help="create a user; prints its id")
    p.add_argument("--org", required=True, help="organization name")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--role", required=True, choices=["ADMIN", "EDITOR", "VIEWER"])
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(handler=_create_user)

    sub.add_parser("seed-demo", help="create the demo organization").set_defaults(
        handler=_seed_demo
    )

    p = sub.add_parser("rebuild-projections", help="recompute capital_source from history")
    p.add_argument("--org", help="organization name (default: all)")
    p.set_defaults(handler=_rebuild)

    p = sub.add_parser(
        "backup",
        help="back up the whole database (pg_dump) or one organization's rows into FILE",
    )
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the backup file")
    p.add_argument(
        "--organization",
        metavar="ID_OR_NAME",
        help="only this organization's rows (default: the whole database)",
    )
    p.set_defaults(handler=_backup)

    p = sub.add_parser(
        "restore",
        help="restore a backup: a whole database into an empty one, or one organization",
    )
    p.add_argument("file", metavar="FILE", help="a file written by capital-app backup")
    p.add_argument(
        "--replace",
        action="store_true",
        help="one organization's backup: overwrite that organization if it exists",
    )
    p.set_defaults(handler=_restore)

    p = sub.add_parser(
        "verify",
        help="re-fold every organization's history and compare with the projection "
        "(read-only; exit 1 if anything differs)",
    )
    p.add_argument("--org", help="organization name (default: all)")
    p.set_defaults(handler=_verify)

    p = sub.add_parser(
        "run", help="migrate, seed the demo and serve the web app (Reflex, production, one port)"
    )
    p.add_argument("--port", type=_port, default=3000, help="port to serve on (default: 3000)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1; 0.0.0.0 for every interface)",
    )
    p.add_argument(
        "--seed-demo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="create the demo organization (published passwords); default: only on the "
        "embedded database, or with CAPITAL_SEED_DEMO=1",
    )
    p.set_defaults(handler=_run)

    sub.add_parser(
        "worker", help="deliver webhooks (procrastinate worker; for hosts beside `run`)"
    ).set_defaults(handler=_worker)

    p = sub.add_parser("import", help="import a browser-prototype export (all or nothing)")
    p.add_argument("file", metavar="FILE", help="the exported JSON file")
    p.add_argument("--org", required=True, help="organization name")
    p.add_argument(
        "--as", dest="as_email", required=True, metavar="EMAIL", help="an EDITOR or ADMIN user"
    )
    p.add_argument("--dry-run", action="store_true", help="report what would happen; write nothing")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=_import)

    p = sub.add_parser("export", help="export the whole history as JSON or CSV")
    p.add_argument("--org", required=True, help="organization name")
    p.add_argument("--format", default="json", choices=["json", "csv"])
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    p.set_defaults(handler=_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except LedgerError as error:
        print(f"capital-app: {error.message}", file=sys.stderr)
        return 1
    except ProgrammingError as error:
        if isinstance(getattr(error, "orig", None), psycopg.errors.UndefinedTable):
            print(
                "capital-app: the database has no Capital Ledger schema"
                " (is it the right database? `capital-app migrate` creates it)",
                file=sys.stderr,
            )
            return 1
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        print(f"capital-app: {type(error).__name__}: {reason}", file=sys.stderr)
        return 1
    except OperationalError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        print(f"capital-app: cannot reach the database: {reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("capital-app: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # one line, no stack trace, for operators and scripts
        print(f"capital-app: {type(error).__name__}: {error}".splitlines()[0], file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
