"""Managing accounts through the real app: who sees whom, creating, changing,
disabling and enabling, password resets and one's own password; the audit
entries of each; sign-in limits taken from the settings."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from people import PASSWORD, add_user, sign_in

from zhichao.platform import auth
from zhichao.platform.app import create_app
from zhichao.platform.models import ApiToken, AuditEntry, LoginFailure, User, WebSession
from zhichao.platform.services import register_station
from zhichao.platform.settings import PlatformSettings
from zhichao.timeutil import show_local, utcnow

NEW_PASSWORD = "a new password of ten"
MINE, OTHER_MINE = "1405250001", "1405810001"


@pytest.fixture
def county(app):
    """Stations in 泽州县 and 高平市; administrators of the county, the city and
    the other county; an officer in each county."""
    with app.state.sessions() as session, session.begin():
        register_station(session, MINE, "一号站", "泽州甲煤矿", "coal_mine", "140525")
        register_station(
            session, OTHER_MINE, "二号站", "高平乙洗煤厂", "washery", "140581"
        )
    sessions = app.state.sessions
    add_user(sessions, "zz_admin", "admin", "140525")
    add_user(sessions, "jc_admin", "admin", "140500")
    add_user(sessions, "gp_admin", "admin", "140581")
    add_user(sessions, "zz_officer", "officer", "140525")
    add_user(sessions, "gp_officer", "officer", "140581")
    return app


def _client(app, username, password=PASSWORD):
    client = TestClient(app, raise_server_exceptions=False)
    client.__enter__()
    return sign_in(client, username, password)


@pytest.fixture
def clients(county):
    opened = []

    def make(username, password=PASSWORD):
        client = _client(county, username, password)
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def _id(app, username):
    with app.state.sessions() as session:
        return session.scalar(sa.select(User.id).where(User.username == username))


def _user(app, username):
    with app.state.sessions() as session:
        return session.scalar(sa.select(User).where(User.username == username))


def _audit(app, action):
    with app.state.sessions() as session:
        return list(
            session.scalars(
                sa.select(AuditEntry)
                .where(AuditEntry.action == action)
                .order_by(AuditEntry.seq)
            )
        )


def _create(client, **fields):
    data = {
        "csrf_token": client.csrf,
        "username": "op1",
        "role": "operator",
        "region": "140525",
        "unit": MINE,
        "password": PASSWORD,
        "password_again": PASSWORD,
    } | fields
    return client.post("/users", data=data, follow_redirects=False)


def _listed(page_text):
    return set(part.split('"', 1)[0] for part in page_text.split('data-username="')[1:])


# -- who sees whom --------------------------------------------------------


def test_a_county_sees_its_people_a_city_its_own_and_its_counties(clients):
    county_list = clients("zz_admin").get("/users")
    city_list = clients("jc_admin").get("/users")

    assert county_list.status_code == 200
    assert _listed(county_list.text) == {"zz_admin", "zz_officer"}
    assert _listed(city_list.text) == {
        "zz_admin",
        "zz_officer",
        "jc_admin",
        "gp_admin",
        "gp_officer",
    }


def test_the_list_shows_role_region_state_created_and_last_sign_in(county, clients):
    admin = clients("zz_admin")
    clients("zz_officer")  # signs in: the list shows when

    row = admin.get("/users").text.split('data-username="zz_officer"')[1]
    row = row.split("</tr>")[0]
    assert "治超工作人员" in row and "140525" in row and "启用" in row
    assert show_local(_user(county, "zz_officer").created_at) in row
    assert show_local(_audit(county, "login")[-1].at) in row
    english = admin.get("/users?lang=en").text
    assert "Last sign-in" in english and "officer" in english


def test_another_jurisdictions_account_is_not_found(county, clients):
    admin = clients("zz_admin")
    for username in ("gp_officer", "jc_admin"):
        user_id = _id(county, username)
        assert admin.get(f"/users/{user_id}").status_code == 404
        for path, data in (
            ("", {"role": "officer", "region": "140525"}),
            ("/active", {"active": "0"}),
            ("/password", {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}),
        ):
            answer = admin.post(
                f"/users/{user_id}{path}", data=data | {"csrf_token": admin.csrf}
            )
            assert answer.status_code == 404, (username, path)
            assert username not in answer.text
    assert admin.get("/users/99999").status_code == 404
    assert _user(county, "gp_officer").active
    assert _user(county, "jc_admin").role == "admin"


# -- creating -------------------------------------------------------------


def test_an_administrator_creates_an_operator_who_sees_only_their_unit(county, clients):
    admin = clients("zz_admin")

    answer = _create(admin)

    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/users?done=created")
    user = _user(county, "op1")
    assert (user.role, user.region_code, user.unit_station_code) == (
        "operator",
        "140525",
        MINE,
    )
    assert user.password_hash.startswith("$argon2id$")
    entry = _audit(county, "user_create")[-1]
    assert (entry.username, entry.target, entry.region) == ("zz_admin", "op1", "140525")
    assert entry.detail == {"role": "operator", "region": "140525", "unit": MINE}
    assert entry.address
    operator = clients("op1")
    assert operator.get("/").status_code == 200
    assert operator.get("/users").status_code == 403


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"region": "140581", "unit": OTHER_MINE}, "不在您的管辖范围内"),
        ({"role": "admin", "region": "140500", "unit": ""}, "outside your"),
        ({"role": "officer", "region": "000000", "unit": ""}, "outside your"),
        ({"unit": "1405259999"}, "no station 1405259999"),
        ({"unit": OTHER_MINE}, "outside region 140525"),
        ({"unit": ""}, "station code"),
        ({"role": "officer"}, "operator role only"),
        ({"role": "king"}, "role"),
        ({"region": "1405"}, "6 digits"),
        ({"username": "x y"}, "username"),
        ({"password": "short", "password_again": "short"}, "10 characters"),
        ({"password_again": PASSWORD + "!"}, "differ"),
        ({"username": "gp_officer"}, "exists already"),
    ],
)
def test_a_bad_new_account_is_refused_with_a_reason(county, clients, fields, message):
    admin = clients("zz_admin")
    with county.state.sessions() as session:
        before = session.scalar(sa.select(sa.func.count()).select_from(User))

    answer = _create(admin, **fields)

    assert answer.status_code == 400
    assert message in answer.text
    assert 'id="user-error"' in answer.text
    with county.state.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(User)) == before
    assert _audit(county, "user_create") == []


def test_a_city_administrator_makes_a_county_administrator(county, clients):
    city = clients("jc_admin")

    answer = _create(city, username="zz_admin2", role="admin", unit="")
    assert answer.status_code == 303
    wider = _create(city, username="sx_admin", role="admin", region="140000", unit="")
    assert wider.status_code == 400
    assert _user(county, "sx_admin") is None


# -- changing -------------------------------------------------------------


def test_role_region_and_unit_change_with_an_audit_entry(county, clients):
    city = clients("jc_admin")
    officer = clients("zz_officer")
    user_id = _id(county, "zz_officer")

    answer = city.post(
        f"/users/{user_id}",
        data={
            "csrf_token": city.csrf,
            "role": "operator",
            "region": "140581",
            "unit": OTHER_MINE,
        },
        follow_redirects=False,
    )

    assert answer.status_code == 303
    user = _user(county, "zz_officer")
    assert (user.role, user.region_code, user.unit_station_code) == (
        "operator",
        "140581",
        OTHER_MINE,
    )
    entry = _audit(county, "user_change")[-1]
    assert entry.detail == {
        "before": {"role": "officer", "region": "140525", "unit": None},
        "after": {"role": "operator", "region": "140581", "unit": OTHER_MINE},
    }
    # the change holds from the person's next request: an operator has no alarms
    assert officer.get("/alarms").status_code == 403
    # and the county no longer sees the account
    county_admin = clients("zz_admin")
    assert county_admin.get(f"/users/{user_id}").status_code == 404


def test_a_bad_change_is_refused_and_changes_nothing(county, clients):
    admin = clients("zz_admin")
    user_id = _id(county, "zz_officer")

    answer = admin.post(
        f"/users/{user_id}",
        data={"csrf_token": admin.csrf, "role": "officer", "region": "140500"},
    )

    assert answer.status_code == 400
    assert "outside your jurisdiction" in answer.text
    assert _user(county, "zz_officer").region_code == "140525"
    assert _audit(county, "user_change") == []


def test_an_administrator_cannot_demote_move_or_disable_themself(county, clients):
    admin = clients("zz_admin")
    own = _id(county, "zz_admin")

    page = admin.get(f"/users/{own}").text
    assert 'id="user-self"' in page and 'id="user-disable"' not in page
    demote = admin.post(
        f"/users/{own}",
        data={"csrf_token": admin.csrf, "role": "officer", "region": "140525"},
    )
    disable = admin.post(
        f"/users/{own}/active", data={"csrf_token": admin.csrf, "active": "0"}
    )
    reset = admin.post(
        f"/users/{own}/password",
        data={
            "csrf_token": admin.csrf,
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD,
        },
    )

    assert (demote.status_code, disable.status_code, reset.status_code) == (
        400,
        400,
        400,
    )
    assert "your own" in demote.text and "your own account" in disable.text
    assert "My account" in reset.text
    user = _user(county, "zz_admin")
    assert (user.role, user.active) == ("admin", True)
    assert admin.get("/users").status_code == 200


# -- disabling, enabling, resetting ---------------------------------------


def _token_for(app, username):
    with app.state.sessions() as session, session.begin():
        user_id = session.scalar(sa.select(User.id).where(User.username == username))
        secret, _ = auth.issue_token(session, user_id, "t", ["records:read"], 30)
    return {"authorization": f"Bearer {secret}"}


def test_disabling_ends_sessions_and_stops_tokens(county, clients):
    admin = clients("zz_admin")
    officer = clients("zz_officer")
    bearer = _token_for(county, "zz_officer")
    with TestClient(county) as remote:
        assert remote.get("/api/v1/records", headers=bearer).status_code == 200
    user_id = _id(county, "zz_officer")

    answer = admin.post(
        f"/users/{user_id}/active",
        data={"csrf_token": admin.csrf, "active": "0"},
        follow_redirects=False,
    )

    assert answer.status_code == 303
    assert officer.get("/", follow_redirects=False).status_code == 303
    with TestClient(county) as remote:
        refused = remote.get("/api/v1/records", headers=bearer)
        assert refused.status_code == 401
        login = remote.post(
            "/login", data={"username": "zz_officer", "password": PASSWORD}
        )
        assert login.status_code == 401
    with county.state.sessions() as session:
        assert (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(WebSession)
                .where(WebSession.user_id == user_id)
            )
            == 0
        )
        assert session.scalar(sa.select(ApiToken.revoked_at)) is not None
    entry = _audit(county, "user_disable")[-1]
    assert entry.detail == {"sessions_ended": 1, "tokens_revoked": 1}
    assert "已停用" in admin.get(f"/users/{user_id}").text

    enable = admin.post(
        f"/users/{user_id}/active",
        data={"csrf_token": admin.csrf, "active": "1"},
        follow_redirects=False,
    )
    assert enable.status_code == 303
    assert _audit(county, "user_enable")
    clients("zz_officer")  # signs in again
    with TestClient(county) as remote:
        # a token revoked by disabling stays revoked
        assert remote.get("/api/v1/records", headers=bearer).status_code == 401


def test_a_token_of_a_disabled_account_is_refused_even_unrevoked(county):
    """The token check itself looks at the account, not only at revocation."""
    bearer = _token_for(county, "zz_officer")
    with county.state.sessions() as session, session.begin():
        session.execute(
            sa.update(User).where(User.username == "zz_officer").values(active=False)
        )
    with TestClient(county) as remote:
        answer = remote.get("/api/v1/records", headers=bearer)
    assert answer.status_code == 401
    assert "disabled" in answer.json()["error"]["message"]


def test_a_password_reset_ends_sessions_and_forgets_failures(county, clients):
    admin = clients("zz_admin")
    officer = clients("zz_officer")
    with county.state.sessions() as session, session.begin():
        for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
            session.add(LoginFailure(username="zz_officer", address="x", at=utcnow()))
    user_id = _id(county, "zz_officer")

    mismatch = admin.post(
        f"/users/{user_id}/password",
        data={
            "csrf_token": admin.csrf,
            "password": NEW_PASSWORD,
            "password_again": "something else",
        },
    )
    assert mismatch.status_code == 400 and "differ" in mismatch.text
    short = admin.post(
        f"/users/{user_id}/password",
        data={"csrf_token": admin.csrf, "password": "short", "password_again": "short"},
    )
    assert short.status_code == 400 and "10 characters" in short.text
    answer = admin.post(
        f"/users/{user_id}/password",
        data={
            "csrf_token": admin.csrf,
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD,
        },
        follow_redirects=False,
    )

    assert answer.status_code == 303
    assert officer.get("/", follow_redirects=False).status_code == 303
    with TestClient(county) as fresh:
        old = fresh.post(
            "/login", data={"username": "zz_officer", "password": PASSWORD}
        )
        assert old.status_code == 401
    clients("zz_officer", NEW_PASSWORD)
    entry = _audit(county, "user_password_reset")[-1]
    assert entry.detail == {"sessions_ended": 1}


# -- one's own password ---------------------------------------------------


def test_own_password_change_keeps_this_session_and_ends_the_others(county, clients):
    here = clients("zz_officer")
    elsewhere = clients("zz_officer")
    assert here.get("/account").status_code == 200

    answer = here.post(
        "/account/password",
        data={
            "csrf_token": here.csrf,
            "current": PASSWORD,
            "new": NEW_PASSWORD,
            "new_again": NEW_PASSWORD,
        },
        follow_redirects=False,
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/account?done=password&ended=1"
    assert here.get("/", follow_redirects=False).status_code == 200
    assert elsewhere.get("/", follow_redirects=False).status_code == 303
    clients("zz_officer", NEW_PASSWORD)
    entry = _audit(county, "password_change")[-1]
    assert (entry.username, entry.target) == ("zz_officer", "zz_officer")
    assert entry.detail == {"other_sessions_ended": 1}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"current": "not my password"}, "current password is wrong"),
        ({"new_again": "something else!"}, "differ"),
        ({"new": "short", "new_again": "short"}, "10 characters"),
        ({"new": PASSWORD, "new_again": PASSWORD}, "is the current one"),
    ],
)
def test_a_bad_own_password_change_is_refused(county, clients, fields, message):
    me = clients("zz_officer")
    data = {
        "csrf_token": me.csrf,
        "current": PASSWORD,
        "new": NEW_PASSWORD,
        "new_again": NEW_PASSWORD,
    } | fields

    answer = me.post("/account/password", data=data)

    assert answer.status_code == 400
    assert message in answer.text
    assert _audit(county, "password_change") == []
    clients("zz_officer", PASSWORD)  # the password is unchanged


def test_wrong_current_passwords_count_as_failed_sign_ins(county, clients):
    me = clients("zz_officer")
    data = {
        "csrf_token": me.csrf,
        "current": "not my password",
        "new": NEW_PASSWORD,
        "new_again": NEW_PASSWORD,
    }
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
        assert me.post("/account/password", data=data).status_code == 400

    throttled = me.post("/account/password", data=data | {"current": PASSWORD})

    assert throttled.status_code == 429
    assert "登录失败次数过多" in throttled.text


def test_a_token_cannot_reach_the_account_pages(county, clients):
    bearer = _token_for(county, "zz_officer")
    with TestClient(county) as remote:
        assert remote.get("/account", headers=bearer).status_code == 403
        answer = remote.post(
            "/account/password", headers=bearer, data={"current": PASSWORD}
        )
        assert answer.status_code == 403


# -- the audit log never holds a password ---------------------------------


def test_no_password_is_ever_in_the_audit_log(county, clients):
    admin = clients("zz_admin")
    _create(admin)
    user_id = _id(county, "op1")
    admin.post(
        f"/users/{user_id}/password",
        data={
            "csrf_token": admin.csrf,
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD,
        },
    )
    me = clients("op1", NEW_PASSWORD)
    me.post(
        "/account/password",
        data={
            "csrf_token": me.csrf,
            "current": NEW_PASSWORD,
            "new": NEW_PASSWORD + "x",
            "new_again": NEW_PASSWORD + "x",
        },
    )

    entries = _audit(county, "user_create") + _audit(county, "password_change")
    assert len(entries) == 2
    with county.state.sessions() as session:
        every = session.scalars(sa.select(AuditEntry)).all()
        hashes = [u.password_hash for u in session.scalars(sa.select(User))]
    text = repr([(e.target, e.detail) for e in every])
    for secret in [PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", *hashes]:
        assert secret not in text


# -- sign-in limits are settings -----------------------------------------


def test_default_settings_give_the_former_limits(settings):
    former = auth.SignInRules(timedelta(hours=12), timedelta(minutes=15), 5, 20)
    assert auth.sign_in_rules(settings) == former
    assert auth.sign_in_rules(settings) == auth.DEFAULT_RULES


def test_session_lifetime_and_throttling_follow_the_settings(settings):
    tuned = settings.model_copy(
        update={
            "session_hours": 2,
            "login_throttle_minutes": 3,
            "login_failures_per_account": 2,
        }
    )
    app = create_app(PlatformSettings(**tuned.model_dump()))
    add_user(app.state.sessions, "li", "officer", "140525")
    with TestClient(app) as client:
        answer = client.post(
            "/login",
            data={"username": "li", "password": PASSWORD},
            follow_redirects=False,
        )
        assert "max-age=7200" in answer.headers["set-cookie"].lower()
        with app.state.sessions() as session:
            web = session.scalar(sa.select(WebSession))
            assert web.expires_at - web.created_at == timedelta(hours=2)

        for _ in range(2):
            bad = client.post("/login", data={"username": "li", "password": "bad"})
            assert bad.status_code == 401
        throttled = client.post("/login", data={"username": "li", "password": PASSWORD})
        assert throttled.status_code == 429
        assert "3 分钟" in throttled.text
