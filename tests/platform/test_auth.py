"""Sign-in, throttling, CSRF, sessions and API tokens, over real HTTP requests."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from people import PASSWORD, add_user, sign_in

from zhichao.platform import auth
from zhichao.platform.models import ApiToken, User, WebSession


def _login(client, username, password):
    return client.post(
        "/login",
        data={"username": username, "password": password},
        follow_redirects=False,
    )


def test_password_is_stored_as_argon2id(app):
    add_user(app.state.sessions, "li")
    with app.state.sessions() as session:
        stored = session.scalar(sa.select(User.password_hash))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_session_cookie_is_httponly_and_lax_and_logout_ends_it(app, anonymous):
    add_user(app.state.sessions, "li")
    answer = _login(anonymous, "li", PASSWORD)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    with app.state.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(WebSession)) == 1
    anonymous.csrf = None
    sign_in(anonymous, "li")
    assert anonymous.get("/", follow_redirects=False).status_code == 200

    anonymous.post("/logout", data={"csrf_token": anonymous.csrf})
    assert anonymous.get("/", follow_redirects=False).status_code == 303


def test_wrong_password_then_throttled_per_account(app, anonymous):
    add_user(app.state.sessions, "li")
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
        answer = _login(anonymous, "li", "wrong password!")
        assert answer.status_code == 401
        assert "用户名或密码错误" in answer.text

    # now even the right password is refused for a while, with a clear message
    throttled = _login(anonymous, "li", PASSWORD)
    assert throttled.status_code == 429
    assert "登录失败次数过多" in throttled.text
    assert "15" in throttled.text


def test_throttled_per_address_across_accounts(app, anonymous):
    add_user(app.state.sessions, "li")
    for n in range(auth.MAX_FAILURES_PER_ADDRESS):
        assert _login(anonymous, f"guess{n}", "x").status_code == 401
    answer = _login(anonymous, "li", PASSWORD)
    assert answer.status_code == 429
    assert "此地址" in answer.text


def test_throttle_window_passes(app):
    add_user(app.state.sessions, "li")
    long_ago = auth.utcnow() - auth.THROTTLE_WINDOW - timedelta(seconds=1)
    with app.state.sessions() as session:
        for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
            with pytest.raises(auth.AuthError):
                auth.authenticate(session, "li", "bad", "10.0.0.9", now=long_ago)
        session.commit()
        assert auth.authenticate(session, "li", PASSWORD, "10.0.0.9").username == "li"


def test_form_without_or_with_a_wrong_csrf_token_is_refused(client):
    for data in ({}, {"csrf_token": "forged"}):
        answer = client.post("/enrol", data={"code": "ZC1.x", **data})
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "csrf_failed"
    good = client.post("/enrol", data={"code": "ZC1.x", "csrf_token": client.csrf})
    assert good.status_code == 400  # past the check: the code itself is bad


def _new_token(client, scopes, days="30"):
    answer = client.post(
        "/tokens",
        data={
            "name": "monitor",
            "scopes": scopes,
            "days": days,
            "csrf_token": client.csrf,
        },
    )
    assert answer.status_code == 200, answer.text
    return answer.text.split('id="token-secret">')[1].split("<")[0]


def test_token_scope_expiry_and_revocation(app, client):
    records_only = _new_token(client, ["records:read"])
    with app.state.sessions() as session:
        assert session.scalar(sa.select(ApiToken.token_hash)) != records_only
    with TestClient(app) as remote:
        bearer = {"authorization": f"Bearer {records_only}"}
        assert remote.get("/api/v1/records", headers=bearer).status_code == 200
        # outside its scope, and no writing at all
        assert remote.get("/alarms", headers=bearer).status_code == 403
        assert remote.post("/tokens", headers=bearer).status_code == 403
        bad = remote.get("/api/v1/records", headers={"authorization": "Bearer zct_x"})
        assert bad.status_code == 401

        with app.state.sessions() as session, session.begin():
            token = session.scalar(sa.select(ApiToken))
            token.expires_at = auth.utcnow() - timedelta(seconds=1)
        expired = remote.get("/api/v1/records", headers=bearer)
        assert expired.status_code == 401
        assert "expired" in expired.json()["error"]["message"]

        other = _new_token(client, ["alarms:read"])
        with app.state.sessions() as session:
            token_id = session.scalar(sa.select(sa.func.max(ApiToken.id)))
        bearer = {"authorization": f"Bearer {other}"}
        assert remote.get("/alarms", headers=bearer).status_code == 200
        client.post(f"/tokens/{token_id}/revoke", data={"csrf_token": client.csrf})
        revoked = remote.get("/alarms", headers=bearer)
        assert revoked.status_code == 401
        assert "revoked" in revoked.json()["error"]["message"]


def test_a_token_never_does_more_than_its_owner(app):
    add_user(app.state.sessions, "op", "operator", "140525", "1405250001")
    with app.state.sessions() as session, session.begin():
        user = session.scalar(sa.select(User).where(User.username == "op"))
        secret, _ = auth.issue_token(session, user.id, "t", ["alarms:read"], 1)
    with TestClient(app) as remote:
        answer = remote.get("/alarms", headers={"authorization": f"Bearer {secret}"})
    assert answer.status_code == 403


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("x y", PASSWORD, "admin", "140525"), "username"),
        (("li", PASSWORD, "king", "140525"), "role"),
        (("li", PASSWORD, "admin", "1405"), "6 digits"),
        (("li", "short", "admin", "140525"), "10 characters"),
        (("li", PASSWORD, "operator", "140525"), "--unit"),
        (("li", PASSWORD, "operator", "140525", "1405810001"), "outside"),
    ],
)
def test_create_user_refuses_bad_requests(app, args, message):
    with app.state.sessions() as session, pytest.raises(auth.AuthError, match=message):
        auth.create_user(session, *args)


def test_region_prefixes():
    assert auth.region_prefix("140525") == "140525"
    assert auth.region_prefix("140500") == "1405"
    assert auth.region_prefix("140000") == "14"
    assert auth.region_prefix("000000") == ""
