"""Shared fixtures: real PostgreSQL and Chromium started by `make test`.

Without them (a plain `pytest` on a developer's machine) the tests that need them
skip; under `make test` (ZHICHAO_REQUIRE_SERVICES=1) a missing service fails.
"""

import os
import uuid

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long", max_examples=20000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

REQUIRE = os.environ.get("ZHICHAO_REQUIRE_SERVICES") == "1"


def _missing(what: str) -> None:
    if REQUIRE:
        pytest.fail(f"{what} is required under `make test` but is not available")
    pytest.skip(f"{what} not available (run `make test` to start it)")


def pytest_collection_modifyitems(items):
    """A test that takes ``pg_url`` belongs to the PostgreSQL job (``-m postgres``)."""
    for item in items:
        if "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def pg_url(request):
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    if request.node.get_closest_marker("postgres") is None:
        pytest.fail(
            "a test that uses PostgreSQL must be marked `postgres` "
            "(make test runs those in the PostgreSQL job)"
        )
    base = os.environ.get("ZHICHAO_TEST_PG_URL")
    if not base:
        _missing("PostgreSQL")
    import sqlalchemy as sa

    name = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A fresh database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'platform.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def chromium_path():
    path = os.environ.get("ZHICHAO_TEST_CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(path):
        _missing("Chromium")
    return path
