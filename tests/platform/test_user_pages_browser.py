"""The account pages in a real browser (Debian's Chromium) against a real
uvicorn server: a county administrator creates a source-unit operator, who
signs in and sees only their unit; disabling the operator ends their session
and refuses their token; the administrator changes their own password."""

import httpx
import pytest
import sqlalchemy as sa
from people import PASSWORD, add_user
from platform_factories import make_record
from platform_server import live_server

from browser_support import CHROMIUM_ARGS, SCREENSHOTS
from zhichao.platform import auth, services
from zhichao.platform.app import create_app
from zhichao.platform.migrations import run_migrations
from zhichao.platform.models import User
from zhichao.platform.settings import PlatformSettings

pytestmark = pytest.mark.browser

OWN, NEIGHBOUR = "1405250001", "1405250002"
OPERATOR_PASSWORD = "operator password 1"
NEW_ADMIN_PASSWORD = "the admin's new one"


@pytest.fixture
def county_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    run_migrations(url)
    app = create_app(PlatformSettings(database_url=url, evidence_dir=tmp_path / "ev"))
    with app.state.sessions() as session, session.begin():
        services.register_station(
            session, OWN, "一号磅站", "泽州甲煤业有限公司", "coal_mine", "140525"
        )
        services.register_station(
            session, NEIGHBOUR, "二号磅站", "泽州乙砂石厂", "sand_gravel", "140525"
        )
    add_user(app.state.sessions, "zz_admin", "admin", "140525")
    return app


@pytest.fixture
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def _person(browser):
    """A page in a browser context of its own (its own cookies)."""
    context = browser.new_context(
        viewport={"width": 1360, "height": 860}, locale="zh-CN"
    )
    return context.new_page()


def _sign_in(page, url, username, password):
    page.goto(url)
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-button")
    page.wait_for_selector("#signed-in")


def _operator_token(app, username):
    with app.state.sessions() as session, session.begin():
        user_id = session.scalar(sa.select(User.id).where(User.username == username))
        secret, _ = auth.issue_token(session, user_id, "站内大屏", ["records:read"], 30)
    return {"authorization": f"Bearer {secret}"}


def test_operator_created_signs_in_sees_own_unit_then_is_disabled(county_app, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with live_server(county_app) as base, httpx.Client(base_url=base) as http:
        records = [
            make_record(seq=1, station=OWN, front_plate="晋E11111"),
            make_record(seq=1, station=NEIGHBOUR, front_plate="晋E22222"),
        ]
        assert http.post("/api/v1/records", json={"records": records}).is_success

        admin = _person(browser)
        _sign_in(admin, base + "/users", "zz_admin", PASSWORD)
        admin.click("#nav-users")
        admin.wait_for_url("**/users")
        assert "zz_admin" in admin.locator("#users").inner_text()

        # a unit outside the region is refused with the reason, nothing made
        admin.fill("#new-username", "op1")
        admin.select_option("#new-role", "operator")
        admin.fill("#new-region", "140525")
        admin.fill("#new-unit", "1405810001")
        admin.fill("#new-password", OPERATOR_PASSWORD)
        admin.fill("#new-password-again", OPERATOR_PASSWORD)
        admin.click("#user-create")
        assert "不在行政区划 140525 内" in admin.locator("#user-error").inner_text()
        assert admin.locator("#new-username").input_value() == "op1"

        admin.fill("#new-unit", OWN)
        admin.fill("#new-password", OPERATOR_PASSWORD)
        admin.fill("#new-password-again", OPERATOR_PASSWORD)
        admin.click("#user-create")
        assert "op1" in admin.locator("#user-notice").inner_text()
        row = admin.locator('tr.user-row[data-username="op1"]')
        assert "源头单位操作员" in row.inner_text()
        assert "泽州甲煤业有限公司" in row.inner_text()
        assert "启用" in row.inner_text()
        admin.screenshot(path=str(SCREENSHOTS / "platform-users.png"), full_page=True)

        operator = _person(browser)
        _sign_in(operator, base + "/", "op1", OPERATOR_PASSWORD)
        live = operator.locator("#live-rows").inner_text()
        assert "晋E11111" in live and "晋E22222" not in live
        assert operator.locator("#nav-users").count() == 0
        bearer = _operator_token(county_app, "op1")
        seen = http.get("/api/v1/records", headers=bearer).json()["records"]
        assert {record["station_code"] for record in seen} == {OWN}

        row.locator("a").click()
        admin.wait_for_url("**/users/*")
        assert admin.locator("#account-username").inner_text() == "op1"
        admin.screenshot(path=str(SCREENSHOTS / "platform-user.png"), full_page=True)
        admin.click("#user-disable")
        assert "已停用" in admin.locator("#user-notice").inner_text()
        assert admin.locator("#account-state").inner_text() == "已停用"
        assert admin.locator("#user-enable").count() == 1

        operator.reload()
        operator.wait_for_selector("#login-form")
        assert "/login" in operator.url
        refused = http.get("/api/v1/records", headers=bearer)
        assert refused.status_code == 401
        operator.fill("#login-username", "op1")
        operator.fill("#login-password", OPERATOR_PASSWORD)
        operator.click("#login-button")
        assert "用户名或密码错误" in operator.locator("#login-error").inner_text()


def test_own_password_change_ends_the_other_sign_ins(county_app, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with live_server(county_app) as base:
        here = _person(browser)
        elsewhere = _person(browser)
        _sign_in(elsewhere, base + "/", "zz_admin", PASSWORD)
        _sign_in(here, base + "/", "zz_admin", PASSWORD)

        here.click("#nav-account")
        here.wait_for_url("**/account")
        here.fill("#current-password", "not the password")
        here.fill("#new-password", NEW_ADMIN_PASSWORD)
        here.fill("#new-password-again", NEW_ADMIN_PASSWORD)
        here.click("#account-password-change")
        assert "当前密码不正确" in here.locator("#account-error").inner_text()

        here.fill("#current-password", PASSWORD)
        here.fill("#new-password", NEW_ADMIN_PASSWORD)
        here.fill("#new-password-again", NEW_ADMIN_PASSWORD)
        here.click("#account-password-change")
        assert "密码已修改" in here.locator("#account-notice").inner_text()
        assert here.locator("#account-ended").inner_text() == "1"
        here.screenshot(path=str(SCREENSHOTS / "platform-account.png"), full_page=True)
        here.goto(base + "/account?lang=en")
        assert "Change password" in here.inner_text("h2")

        elsewhere.reload()
        elsewhere.wait_for_selector("#login-form")
        _sign_in(elsewhere, base + "/", "zz_admin", NEW_ADMIN_PASSWORD)
