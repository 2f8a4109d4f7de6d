"""Test-suite wiring: one fresh, migrated PostgreSQL database for the whole run.

Everything runs against real PostgreSQL (never SQLite, never a mock). Each test
makes its own organization, so tests never see each other's data.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

# Fast bcrypt and a private data folder for every process the tests start.
os.environ.setdefault("CAPITAL_BCRYPT_ROUNDS", "4")
os.environ.setdefault("CAPITAL_DATA_DIR", tempfile.mkdtemp(prefix="capital-test-data-"))

from capital_app.db.engine import reset_engines
from capital_app.settings import get_settings
from tests.support.database import create_test_database, drop_test_database
from tests.support.factories import Tenant, make_tenant

# Properties are about results, not speed: on a shared 2-core machine an example can
# take longer than Hypothesis's 200 ms default, which would fail a correct test.
settings.register_profile("capital", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("capital")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A migrated database for this run; DATABASE_URL points at it for subprocesses too."""
    from capital_app.db.migrations import migrate_database

    url = create_test_database()
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engines()
    migrate_database()
    yield url
    reset_engines()
    if previous is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = previous
    get_settings.cache_clear()
    drop_test_database(url)


@pytest.fixture
def tenant(database_url: str) -> Tenant:
    return make_tenant("Tenant")


@pytest.fixture
def other_tenant(database_url: str) -> Tenant:
    return make_tenant("Other")
