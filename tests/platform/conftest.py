"""Fixtures: a migrated database and the app under test, on SQLite and PostgreSQL."""

import pytest
from fastapi.testclient import TestClient
from people import add_user, sign_in
from platform_server import live_server

from zhichao.platform.app import create_app
from zhichao.platform.migrations import run_migrations
from zhichao.platform.settings import PlatformSettings


@pytest.fixture
def settings(db_url, tmp_path):
    run_migrations(db_url)
    return PlatformSettings(database_url=db_url, evidence_dir=tmp_path / "evidence")


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
def client(app):
    """A test client signed in as an administrator of every region."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        sign_in(test_client, add_user(app.state.sessions, "root"))
        yield test_client


@pytest.fixture
def anonymous(app):
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def sessions(app):
    return app.state.sessions


@pytest.fixture
def server_url(app):
    with live_server(app) as url:
        yield url
