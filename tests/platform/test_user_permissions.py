"""The account pages' permissions: every route of /users and /account × every
role × an account of the caller's own county and one of another county, with
no name of the other county's people in any answer; without an account; with
an API token.

The routes come from the app: a route under /users or /account with no case
here fails ``test_every_account_route_has_a_case``.
"""

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from people import PASSWORD, add_user, sign_in

from zhichao.platform import auth
from zhichao.platform.auth import PERMISSIONS, ROUTE_RULES, Action, Role
from zhichao.platform.models import User
from zhichao.platform.services import register_station

OWN_STATION, OTHER_STATION = "1405250001", "1405810001"
HOME = {
    Role.ADMIN: ("140525", None),
    Role.OFFICER: ("140525", None),
    Role.ENFORCEMENT: ("140525", None),
    Role.SUPERVISOR: ("140525", None),
    Role.OPERATOR: ("140525", OWN_STATION),
}
# people of the other county: no answer to a 泽州县 caller names them
HIDDEN = ("gp_target", "gp_admin")
NEW_PASSWORD = "changed password 01"


@pytest.fixture
def world(app):
    with app.state.sessions() as session, session.begin():
        register_station(
            session, OWN_STATION, "一号站", "泽州甲煤矿", "coal_mine", "140525"
        )
        register_station(
            session, OTHER_STATION, "二号站", "高平乙洗煤厂", "washery", "140581"
        )
    sessions = app.state.sessions
    for role, (region, unit) in HOME.items():
        add_user(sessions, f"u_{role.value}", role, region, unit)
    add_user(sessions, "zz_target", Role.OFFICER, "140525")
    add_user(sessions, "gp_target", Role.OFFICER, "140581")
    add_user(sessions, "gp_admin", Role.ADMIN, "140581")
    with sessions() as session:
        ids = dict(session.execute(sa.select(User.username, User.id)).all())
    return {"own": ids["zz_target"], "other": ids["gp_target"]}


def _post(path, **data):
    def call(client, target, side):
        return client.post(
            path.format(id=target),
            data={"csrf_token": client.csrf, **data},
            follow_redirects=False,
        )

    return call


def _create(client, target, side):
    region, unit = ("140525", "") if side == "own" else ("140581", "")
    return client.post(
        "/users",
        data={
            "csrf_token": client.csrf,
            "username": f"new_{side}_{client.username}",
            "role": "officer",
            "region": region,
            "unit": unit,
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
        follow_redirects=False,
    )


def _own_password(client, target, side):
    return client.post(
        "/account/password",
        data={
            "csrf_token": client.csrf,
            "current": PASSWORD,
            "new": NEW_PASSWORD,
            "new_again": NEW_PASSWORD,
        },
        follow_redirects=False,
    )


def _get(path):
    return lambda client, target, side: client.get(
        path.format(id=target), follow_redirects=False
    )


OWN_PASSWORD = ("POST", "/account/password")
CASES = {
    ("GET", "/users"): _get("/users"),
    ("POST", "/users"): _create,
    ("GET", "/users/{user_id}"): _get("/users/{id}"),
    ("POST", "/users/{user_id}"): _post(
        "/users/{id}", role="enforcement", region="140525"
    ),
    ("POST", "/users/{user_id}/active"): _post("/users/{id}/active", active="0"),
    ("POST", "/users/{user_id}/password"): _post(
        "/users/{id}/password", password=NEW_PASSWORD, password_again=NEW_PASSWORD
    ),
    ("GET", "/account"): _get("/account"),
    ("POST", "/account/password"): _own_password,
}


def _routes(routes, prefix=""):
    """(method, path) of every route, through included routers at any depth."""
    for route in routes:
        if isinstance(route, APIRoute):
            for method in route.methods:
                yield method, prefix + route.path
        elif hasattr(route, "original_router"):
            inner = prefix + route.include_context.prefix
            yield from _routes(route.original_router.routes, inner)


def _account_routes(app):
    return {
        (method, path)
        for method, path in _routes(app.routes)
        if path.startswith(("/users", "/account"))
    }


def test_every_account_route_has_a_case(app):
    routes = _account_routes(app)

    assert routes == set(CASES)
    assert routes <= set(ROUTE_RULES)
    assert {ROUTE_RULES[key] for key in routes} == {
        Action.MANAGE_USERS,
        Action.OWN_ACCOUNT,
    }


def _expected(role, key, side):
    """The status an answer must have."""
    action = ROUTE_RULES[key]
    if action not in PERMISSIONS[role]:
        return {403}
    if key[1].startswith("/account"):
        return {200} if key[0] == "GET" else {303}
    if key == ("GET", "/users"):
        return {200}
    if key == ("POST", "/users"):
        return {303} if side == "own" else {400}  # a region outside theirs
    return {200, 303} if side == "own" else {404}


def _assert_no_leak(answer, where):
    body = answer.content.decode("utf-8", "replace")
    for name in HIDDEN:
        assert name not in body, f"{where}: names {name}"


def _reset(app, username):
    """Undo what a case did to an account, for the next case."""
    with app.state.sessions() as session, session.begin():
        user = session.scalar(sa.select(User).where(User.username == username))
        user.role, user.active = Role.OFFICER.value, True


@pytest.mark.parametrize("role", list(Role))
def test_account_routes_by_role_and_jurisdiction(app, world, role):
    username = f"u_{role.value}"
    ordered = sorted(CASES.items(), key=lambda case: case[0] == OWN_PASSWORD)
    with TestClient(app, raise_server_exceptions=False) as client:
        sign_in(client, username)
        client.username = username
        for key, call in ordered:
            for side in ("own", "other"):
                if key == OWN_PASSWORD and side == "other":
                    continue  # one's own account has no other side
                answer = call(client, world[side], side)
                where = f"{role.value} {key} {side}"
                assert answer.status_code in _expected(role, key, side), (
                    f"{where}: {answer.status_code} {answer.text[:200]}"
                )
                _assert_no_leak(answer, where)
                _reset(app, "zz_target")
                _reset(app, "gp_target")

    with app.state.sessions() as session:
        users = dict(session.execute(sa.select(User.username, User.role)).all())
    # nothing in the other county was changed, whoever asked
    assert users["gp_target"] == "officer"
    assert "new_other_" + username not in users
    assert ("new_own_" + username in users) == (role == Role.ADMIN)


def test_the_other_countys_administrator_sees_only_its_own(app, world):
    with TestClient(app) as client:
        sign_in(client, "gp_admin")
        page = client.get("/users").text
        assert "gp_target" in page
        assert "zz_target" not in page and "u_admin" not in page
        assert client.get(f"/users/{world['own']}").status_code == 404


@pytest.mark.parametrize("key", sorted(CASES))
def test_without_an_account_the_pages_ask_for_a_sign_in(app, world, key, anonymous):
    anonymous.csrf, anonymous.username = "", "nobody"

    answer = CASES[key](anonymous, world["own"], "own")

    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


@pytest.mark.parametrize("key", sorted(CASES))
def test_a_token_reaches_no_account_route(app, world, key):
    with app.state.sessions() as session, session.begin():
        admin = session.scalar(sa.select(User).where(User.username == "u_admin"))
        secret, _ = auth.issue_token(
            session, admin.id, "all", sorted(auth.TOKEN_SCOPES), 1
        )
    with TestClient(app, raise_server_exceptions=False) as remote:
        remote.headers["authorization"] = f"Bearer {secret}"
        remote.csrf, remote.username = "", "token"

        answer = CASES[key](remote, world["own"], "own")

    assert answer.status_code == 403
    _assert_no_leak(answer, key)
