"""The pages in a real browser (Debian's Chromium) against a real uvicorn server."""

import httpx
import pytest
from people import PASSWORD, add_user
from platform_factories import make_record, photo_ref, sha256
from platform_server import live_server

from browser_support import SCREENSHOTS, persistent_context
from zhichao.platform import services
from zhichao.platform.app import create_app
from zhichao.platform.migrations import run_migrations
from zhichao.platform.settings import PlatformSettings

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    run_migrations(url)
    app = create_app(PlatformSettings(database_url=url, evidence_dir=tmp_path / "ev"))
    with app.state.sessions() as session, session.begin():
        services.register_station(
            session,
            "1405250001",
            "一号磅站",
            "晋城市某煤业有限公司",
            "coal_mine",
            "140525",
        )
    add_user(app.state.sessions, "root")
    return app


def goto_signed_in(page, url):
    """Open ``url``; the platform asks for a sign-in first, as for a person."""
    page.goto(url)
    page.fill("#login-username", "root")
    page.fill("#login-password", PASSWORD)
    page.click("#login-button")
    page.wait_for_selector("#signed-in")


@pytest.fixture
def page(chromium_path, tmp_path):
    with persistent_context(chromium_path, tmp_path / "chromium-profile") as context:
        yield context.new_page()


def test_live_row_appears_without_reload_then_record_page(browser_app, page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with live_server(browser_app) as base, httpx.Client(base_url=base) as http:
        http.post(
            "/api/v1/records", json={"records": [make_record(seq=1, gross_kg=41_000)]}
        )
        goto_signed_in(page, base + "/")
        page.evaluate("window.notReloaded = true")
        photo = page.screenshot(type="jpeg", quality=70)  # a real JPEG to upload
        pending = photo + b"\x00"  # another photo, never uploaded
        record = make_record(
            seq=2,
            gross_kg=58_460,
            rear_plate="鲁A1234挂",
            flags=["unknown_configuration"],
            axle_groups=[1, 2, 3],
            axle_tyres="SDDDSS",
            photos=[
                photo_ref(photo, "plate", "front"),
                photo_ref(pending, "scene", "rear"),
            ],
        )
        unregistered = make_record(seq=3, station="1405259999", gross_kg=30_000)

        answer = http.post("/api/v1/records", json={"records": [record, unregistered]})
        assert [r["status"] for r in answer.json()["results"]] == ["stored", "stored"]
        assert (
            http.put(f"/api/v1/photos/{sha256(photo)}", content=photo).status_code
            == 201
        )

        row = page.locator(f'tr[data-record-id="{record["record_id"]}"]')
        row.wait_for(timeout=10_000)
        assert page.evaluate("window.notReloaded") is True
        assert "over" in row.get_attribute("class")
        assert "超限" in row.inner_text()
        assert "鲁A1234挂" in row.inner_text()
        assert "9,460" in row.inner_text()
        assert page.locator("#count-overloaded").inner_text() in ("0", "1")
        assert "未登记" in page.locator("#live-rows").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "platform-live.png"), full_page=True)

        row.locator("td.time a").click()
        page.wait_for_url(f"**/records/{record['record_id']}")
        photos = page.locator("#photos")
        image = photos.locator("img")
        image.wait_for()
        page.wait_for_function("document.querySelector('#photos img').naturalWidth > 0")
        assert "待上传" in photos.inner_text()
        assert "第三条" in page.locator("#basis").inner_text()
        assert "车型配置未知" in page.locator("#flags").inner_text()
        assert "劝返卸载" in page.locator("#verdict").inner_text()
        assert page.locator("#axle-groups").inner_text() == "1-2-3"
        tyres = page.locator("#axle-tyres").inner_text()
        assert tyres.startswith("S 单胎 | D 双胎, D 双胎 | D 双胎, S 单胎, S 单胎")
        page.screenshot(path=str(SCREENSHOTS / "platform-record.png"), full_page=True)

        page.goto(base + f"/records/{record['record_id']}?lang=en")
        assert "pending upload" in page.locator("#photos").inner_text()
        assert "S single | D twin" in page.locator("#axle-tyres").inner_text()
        page.goto(base + "/")
        assert "Live passes" in page.inner_text("h1")


def test_enrol_page_then_alarm_page(browser_app, page):
    from zhichao.chain import Enrolment, StationKey

    key = StationKey.generate()
    code = Enrolment("1405250001", "01", key.public_key).code
    with live_server(browser_app) as base, httpx.Client(base_url=base) as http:
        goto_signed_in(page, base + "/enrol")
        page.fill("#enrol-code", "ZC1.1405250001.01.abc.123456")
        page.click("#enrol-preview-button")
        assert "备案码无效" in page.locator("#enrol-error").inner_text()
        assert "check digits" in page.locator("#enrol-error").inner_text()

        page.fill("#enrol-code", code)
        page.click("#enrol-preview-button")
        assert page.locator("#preview-station").inner_text() == "1405250001"
        assert page.locator("#preview-lane").inner_text() == "01"
        fingerprint = page.locator("#preview-fingerprint").inner_text()
        page.click("#enrol-confirm")
        assert fingerprint in page.locator("#enrol-done").inner_text()
        assert fingerprint in page.locator("#lane-keys").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "platform-enrol.png"), full_page=True)

        unsigned = make_record(seq=1)  # the lane is enrolled: no signature is bad
        http.post("/api/v1/records", json={"records": [unsigned]})
        page.goto(base + "/")
        assert page.locator("#count-alarms").inner_text() == "1"
        page.click("text=告警 >> nth=0")
        page.wait_for_url("**/alarms")
        row = page.locator("tr.alarm").first
        assert "签名无效" in row.inner_text()
        row.locator("a").click()
        page.wait_for_url(f"**/records/{unsigned['record_id']}")
        assert "签名无效" in page.locator("#verification").inner_text()
