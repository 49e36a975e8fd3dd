"""Accounts for tests: add a user, sign a test client in, read its CSRF token."""

import re

from zhichao.platform.auth import create_user

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_user(sessions, username, role="admin", region="000000", unit=None):
    with sessions() as session, session.begin():
        create_user(session, username, PASSWORD, role, region, unit)
    return username


def sign_in(client, username, password=PASSWORD):
    """Sign ``client`` in (it keeps the cookie); its CSRF token is set on it."""
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    client.csrf = csrf_of(client)
    return client


def csrf_of(client) -> str:
    found = CSRF_RE.search(client.get("/", follow_redirects=False).text)
    assert found, "no CSRF token on the page"
    return found.group(1)
