"""Migrations go up, down and up again, and the models agree with them."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, pool, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from alembic import command
from capital_app.db.engine import sqlalchemy_url
from capital_app.db.tables import metadata
from capital_app.settings import PROJECT_ROOT
from tests.support.database import create_test_database, drop_test_database


def _config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = sqlalchemy_url(url)
    return config


def _tables(url: str) -> set[str]:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        names = set(
            conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
        )
    engine.dispose()
    return names


def test_upgrade_downgrade_upgrade(database_url):
    url = create_test_database("capital_migrations")
    try:
        config = _config(url)
        command.upgrade(config, "head")
        assert "capital_history" in _tables(url)
        command.downgrade(config, "base")
        assert _tables(url) == {"alembic_version"}
        command.upgrade(config, "head")
        assert set(metadata.tables) <= _tables(url)
    finally:
        drop_test_database(url)


def test_models_match_the_migrated_schema(database_url):
    engine = create_engine(sqlalchemy_url(os.environ["DATABASE_URL"]), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                # Indexes, constraints and defaults live in the hand-written migration only.
                "include_object": lambda obj, name, type_, reflected, compare_to: (
                    type_ in ("table", "column")
                ),
            },
        )
        differences = compare_metadata(context, metadata)
    engine.dispose()
    relevant = [
        d
        for d in differences
        # alembic's own table, and procrastinate's job queue (its schema, applied by 0009)
        if not (
            isinstance(d, tuple)
            and d[0] == "remove_table"
            and (d[1].name == "alembic_version" or d[1].name.startswith("procrastinate_"))
        )
    ]
    assert relevant == []


def test_0003_moves_an_imported_files_claims_to_original_columns(database_url):
    """Rows imported before 0003 carried the file's createdAt/createdBy as the recording:
    after it they are the import's time and the importer, the claims kept apart."""
    url = create_test_database("capital_migration_0003")
    try:
        config = _config(url)
        command.upgrade(config, "0002")
        engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
        with engine.begin() as conn:
            conn.execute(
                text(
                    """
                    INSERT INTO organization (id, name) VALUES
                        ('00000000-0000-4000-8000-000000000001', 'Old import');
                    INSERT INTO organization_revision (organization_id)
                        VALUES ('00000000-0000-4000-8000-000000000001');
                    INSERT INTO app_user (organization_id, id, email, name, role, password_hash)
                        VALUES ('00000000-0000-4000-8000-000000000001',
                                '00000000-0000-4000-8000-0000000000e1', 'e@old.test', 'E',
                                'EDITOR', 'x');
                    INSERT INTO import_log (organization_id, id, imported_by, imported_at,
                        content_sha256, entries_in_file, imported_count, skipped_count)
                        VALUES ('00000000-0000-4000-8000-000000000001',
                                '00000000-0000-4000-8000-0000000000a1',
                                '00000000-0000-4000-8000-0000000000e1', '2026-11-30T10:00Z',
                                repeat('0', 64), 1, 1, 0);
                    INSERT INTO capital_history (organization_id, id, source_id, sequence,
                        action, effective_date, name, annual_rate, available_cents,
                        created_at, created_by, recorded_by, import_id, revision)
                        VALUES ('00000000-0000-4000-8000-000000000001', 'h1', 's1', 1,
                                'ADDED', '2025-01-01Z', 'Loan', 0.1, 100, '2025-01-02Z',
                                'cfo@example.test', '00000000-0000-4000-8000-0000000000e1',
                                '00000000-0000-4000-8000-0000000000a1', 0);
                    """
                )
            )
        command.upgrade(config, "head")
        query = text(
            "SELECT created_at, created_by, original_created_at, original_created_by"
            " FROM capital_history WHERE id = 'h1'"
        )
        with engine.connect() as conn:
            row = conn.execute(query).one()
        assert row.created_at.isoformat() == "2026-11-30T10:00:00+00:00"
        assert row.created_by == "00000000-0000-4000-8000-0000000000e1"
        assert row.original_created_at.isoformat() == "2025-01-02T00:00:00+00:00"
        assert row.original_created_by == "cfo@example.test"
        command.downgrade(config, "0002")
        with engine.connect() as conn:
            back = conn.execute(text("SELECT created_at, created_by FROM capital_history")).one()
        assert back.created_at.isoformat() == "2025-01-02T00:00:00+00:00"
        assert back.created_by == "cfo@example.test"
        engine.dispose()
    finally:
        drop_test_database(url)


def test_0006_scopes_email_uniqueness_to_the_organization(database_url):
    """After 0006 two organizations may each have a user with one address (one org
    may not have it twice); the downgrade refuses while any address is shared."""
    url = create_test_database("capital_migration_0006")
    users = """
        INSERT INTO app_user (organization_id, id, email, name, role, password_hash) VALUES
            ('00000000-0000-4000-8000-00000000000{org}', '{id}', 'same@example.test', 'S',
             'ADMIN', 'x')
    """
    try:
        config = _config(url)
        command.upgrade(config, "0005")
        engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
        with engine.begin() as conn:
            for org in (1, 2):
                conn.execute(
                    text(
                        f"""
                        INSERT INTO organization (id, name) VALUES
                            ('00000000-0000-4000-8000-00000000000{org}', 'Org {org}');
                        INSERT INTO organization_revision (organization_id)
                            VALUES ('00000000-0000-4000-8000-00000000000{org}');
                        """
                    )
                )
            conn.execute(text(users.format(org=1, id=uuid.uuid4())))
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(users.format(org=2, id=uuid.uuid4())))  # global before 0006
        command.upgrade(config, "0006")
        with engine.begin() as conn:
            conn.execute(text(users.format(org=2, id=uuid.uuid4())))
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(users.format(org=2, id=uuid.uuid4())))  # same org twice
        with pytest.raises(DBAPIError, match="more than one organization"):
            command.downgrade(config, "0005")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "DELETE FROM app_user"
                    " WHERE organization_id = '00000000-0000-4000-8000-000000000002'"
                )
            )
        command.downgrade(config, "0005")
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(users.format(org=2, id=uuid.uuid4())))
        command.upgrade(config, "head")
        engine.dispose()
    finally:
        drop_test_database(url)


def test_0014_copies_each_sources_terms_to_the_projection_and_back(database_url):
    """Sources stored before 0014 get their ADDED entry's currency and kind on the
    projection; sources added after it too; the downgrade drops them and adds still work."""
    url = create_test_database("capital_migration_0014")
    org = "00000000-0000-4000-8000-000000000014"
    added = """
        INSERT INTO capital_history (organization_id, id, source_id, sequence, action,
            effective_date, name, annual_rate, available_cents, revision, currency, kind)
        VALUES ('{org}', '{sid}-1', '{sid}', 1, 'ADDED', '2025-01-01Z', '{sid} loan', 0.1, 100, 0,
                {currency}, {kind})
    """
    terms = text(
        "SELECT s.source_id, s.currency, s.kind, h.currency, h.kind FROM capital_source s"
        " JOIN capital_history h ON h.organization_id = s.organization_id"
        " AND h.source_id = s.source_id AND h.action = 'ADDED' ORDER BY 1"
    )
    try:
        config = _config(url)
        command.upgrade(config, "0013")
        engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"""
                    INSERT INTO organization (id, name, currency) VALUES ('{org}', 'Terms', 'KES');
                    INSERT INTO organization_revision (organization_id) VALUES ('{org}');
                    """
                )
            )
            conn.execute(text(added.format(org=org, sid="s1", currency="NULL", kind="NULL")))
            conn.execute(text(added.format(org=org, sid="s2", currency="'USD'", kind="'equity'")))
            conn.execute(
                text(
                    "INSERT INTO capital_history (organization_id, id, source_id, sequence,"
                    " action, effective_date, name, annual_rate, available_cents,"
                    " previous_amount, revision) VALUES (:org, 's2-2', 's2', 2,"
                    " 'AMOUNT_CHANGED', '2025-02-01Z', 's2 loan', 0.1, 300, 100, 0)"
                ),
                {"org": org},
            )
        command.upgrade(config, "0014")
        with engine.begin() as conn:
            conn.execute(text(added.format(org=org, sid="s3", currency="'EUR'", kind="NULL")))
            rows = conn.execute(terms).all()
        assert [tuple(r) for r in rows] == [
            ("s1", "KES", "debt", "KES", "debt"),
            ("s2", "USD", "equity", "USD", "equity"),
            ("s3", "EUR", "debt", "EUR", "debt"),
        ]
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("UPDATE capital_source SET currency = NULL WHERE source_id = 's1'"))
        command.downgrade(config, "0013")
        with engine.begin() as conn:
            conn.execute(text(added.format(org=org, sid="s4", currency="'USD'", kind="NULL")))
            columns = set(
                conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns"
                        " WHERE table_name = 'capital_source'"
                    )
                ).scalars()
            )
        assert {"currency", "kind"}.isdisjoint(columns)
        command.upgrade(config, "head")
        with engine.connect() as conn:
            rows = conn.execute(terms).all()
        assert [(r[0], r[1], r[2]) for r in rows][-1] == ("s4", "USD", "debt")
        assert all((r[1], r[2]) == (r[3], r[4]) for r in rows)
        engine.dispose()
    finally:
        drop_test_database(url)
