"""Fixtures: a migrated database and the app under test, on SQLite and PostgreSQL."""

import socket
import threading
import time
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi.testclient import TestClient

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
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def sessions(app):
    return app.state.sessions


@contextmanager
def live_server(app):
    """Serve ``app`` with a real uvicorn server on a free port, in a thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def server_url(app):
    with live_server(app) as url:
        yield url
