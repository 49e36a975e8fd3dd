"""The vehicle register's pages in a real browser (Debian's Chromium) against a
real uvicorn server: search, add a trailer with its tractors, edit it; a role
that may not edit is refused."""

import pytest
from people import PASSWORD, add_user
from platform_server import live_server
from vehicle_samples import GOOD_ROWS

from browser_support import SCREENSHOTS, persistent_context
from zhichao.platform.app import create_app
from zhichao.platform.importer import import_vehicles, write_vehicles_xlsx
from zhichao.platform.migrations import run_migrations
from zhichao.platform.settings import PlatformSettings

pytestmark = pytest.mark.browser


@pytest.fixture
def vehicle_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    run_migrations(url)
    app = create_app(PlatformSettings(database_url=url, evidence_dir=tmp_path / "ev"))
    path = write_vehicles_xlsx(tmp_path / "vehicles.xlsx", GOOD_ROWS)
    with app.state.sessions() as session:
        assert import_vehicles(session, path).errors == []
    add_user(app.state.sessions, "zz_officer", "officer", "140525")
    add_user(app.state.sessions, "zz_enforcement", "enforcement", "140525")
    return app


@pytest.fixture
def browser(chromium_path, tmp_path):
    with persistent_context(chromium_path, tmp_path / "chromium-profile") as context:
        yield context


def sign_in(page, url, username):
    page.goto(url)
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-button")
    page.wait_for_selector("#signed-in")


def plates(page) -> list[str]:
    return page.eval_on_selector_all(
        "tr.vehicle", "rows => rows.map(r => r.dataset.plate)"
    )


def test_search_add_and_edit_a_trailer(vehicle_app, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    with live_server(vehicle_app) as base:
        sign_in(page, base + "/", "zz_officer")
        page.click("#nav-vehicles")
        page.wait_for_url("**/vehicles")
        # 高平市's vehicle is outside the officer's county
        assert set(plates(page)) == {"晋E11111", "晋E22222", "晋E33333", "晋E0001挂"}
        trailer = page.locator('tr[data-plate="晋E0001挂"]')
        assert "晋E22222" in trailer.inner_text() and "晋E33333" in trailer.inner_text()

        page.fill("#vehicle-q", "e222")
        page.click("#vehicle-search-button")
        page.wait_for_url("**q=e222**")
        assert plates(page) == ["晋E22222"]
        assert "晋E0001挂" in page.locator('tr[data-plate="晋E22222"]').inner_text()

        page.click("#vehicle-add")
        page.wait_for_url("**/vehicles/new")
        page.fill("#vehicle-plate", "晋E0002挂")
        page.select_option("#vehicle-color", "yellow")
        page.fill("#vehicle-axles", "3")
        page.fill("#vehicle-axle-config", "3")
        page.fill("#vehicle-mass", "40")  # tonnes by mistake
        page.fill("#vehicle-owner", "钱八")
        page.fill("#vehicle-company", "晋城乙物流有限公司")
        page.select_option("#vehicle-region", "140525")
        page.fill("#vehicle-tractors", "晋E11111、晋E33333")
        page.click("#vehicle-save")
        error = page.locator("#vehicle-error")
        assert "in kg, not tonnes" in error.inner_text()
        assert page.input_value("#vehicle-owner") == "钱八"  # kept as typed
        page.screenshot(path=str(SCREENSHOTS / "platform-vehicle-error.png"))

        page.fill("#vehicle-mass", "40000")
        page.click("#vehicle-save")
        page.wait_for_selector("#vehicle-saved")
        assert "晋E0002挂" in page.locator("#vehicle-saved").inner_text()
        row = page.locator('tr[data-plate="晋E0002挂"]')
        assert "40,000" in row.inner_text() and "钱八" in row.inner_text()
        assert "晋E11111" in row.inner_text() and "晋E33333" in row.inner_text()

        row.locator("a.vehicle-edit").click()
        page.wait_for_url("**/edit")
        assert page.locator("#vehicle-plate").inner_text() == "晋E0002挂"
        page.fill("#vehicle-mass", "39500")
        page.fill("#vehicle-tractors", "晋E22222")
        page.click("#vehicle-save")
        page.wait_for_selector("#vehicle-saved")
        row = page.locator('tr[data-plate="晋E0002挂"]')
        assert "39,500" in row.inner_text()
        assert "晋E22222" in row.inner_text() and "晋E11111" not in row.inner_text()

        page.goto(base + "/vehicles")
        page.screenshot(path=str(SCREENSHOTS / "platform-vehicles.png"), full_page=True)
        page.goto(base + "/vehicles?lang=en")
        assert "Vehicle register" in page.inner_text("h1")
        page.goto(base + "/vehicles?lang=zh")


def test_a_role_that_may_not_edit_is_refused(vehicle_app, browser):
    page = browser.new_page()
    with live_server(vehicle_app) as base:
        sign_in(page, base + "/vehicles", "zz_enforcement")
        assert len(plates(page)) == 4
        assert page.locator("#vehicle-add").count() == 0
        assert page.locator("a.vehicle-edit").count() == 0

        answer = page.goto(base + "/vehicles/new")
        assert answer.status == 403
        assert "无权限" in page.content()
        answer = page.goto(base + "/vehicles/1/edit")
        assert answer.status == 403
