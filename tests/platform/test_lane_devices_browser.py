"""The device register in a real browser (Debian's Chromium) against a real
uvicorn server: from the stations page to a station's devices, a fault shown,
a register entry refused for a bad date and then saved, the certificate marked."""

from datetime import timedelta

import httpx
import pytest
from people import PASSWORD, add_user
from platform_server import live_server

from browser_support import SCREENSHOTS, persistent_context
from zhichao.platform import devices, services
from zhichao.platform.app import create_app
from zhichao.platform.migrations import run_migrations
from zhichao.platform.settings import PlatformSettings
from zhichao.timeutil import iso_utc, utcnow

pytestmark = pytest.mark.browser

STATION = "1405250001"


@pytest.fixture
def devices_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    run_migrations(url)
    app = create_app(PlatformSettings(database_url=url, evidence_dir=tmp_path / "ev"))
    with app.state.sessions() as session, session.begin():
        services.register_station(
            session, STATION, "一号磅站", "晋城市某煤业有限公司", "coal_mine", "140525"
        )
    add_user(app.state.sessions, "zz_officer", "officer", "140525")
    return app


@pytest.fixture
def page(chromium_path, tmp_path):
    profile = tmp_path / "chromium-profile"
    with persistent_context(chromium_path, profile, 1500, 760) as context:
        yield context.new_page()


def heartbeat():
    now = utcnow()
    return {
        "station_code": STATION,
        "sent_at": iso_utc(now),
        "software_version": "0.4.0",
        "clock": iso_utc(now),
        "queue": {"records": 0, "photos": 0},
        "disk_free_bytes": 50 * 1024**3,
        "lanes": [
            {
                "lane_no": "01",
                "devices": [
                    {"name": "scale", "kind": "xk3190", "state": "ok"},
                    {
                        "name": "front_camera",
                        "kind": "hikvision",
                        "state": "fault",
                        "since": iso_utc(now - timedelta(minutes=7)),
                        "detail": "无应答",
                    },
                    {"name": "barrier", "kind": "modbus_relay", "state": "unknown"},
                ],
            }
        ],
    }


def test_device_register_in_a_browser(devices_app, page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    soon = (devices.beijing_today() + timedelta(days=12)).isoformat()
    with live_server(devices_app) as base, httpx.Client(base_url=base) as http:
        assert http.post("/api/v1/heartbeats", json=heartbeat()).status_code == 200

        page.goto(base + "/stations")
        page.fill("#login-username", "zz_officer")
        page.fill("#login-password", PASSWORD)
        page.click("#login-button")
        page.wait_for_selector("#signed-in")
        page.click(f'tr[data-station="{STATION}"] a.device-register')
        page.wait_for_url(f"**/stations/{STATION}/devices")

        camera = page.locator('tr[data-device="front_camera"]')
        assert "over" in camera.get_attribute("class")
        assert "故障" in camera.inner_text() and "无应答" in camera.inner_text()
        assert "未知" in page.locator('tr[data-device="barrier"]').inner_text()

        page.locator('tr[data-device="scale"] a.edit').click()
        page.wait_for_selector("#device-form")
        page.fill("#f-make", "耀华")
        page.fill("#f-model", "XK3190-A9")
        page.fill("#f-serial_no", "YH-2024-0117")
        page.fill("#f-certificate_no", "晋计检 2026-0383")
        page.fill("#f-certificate_expires", soon)
        page.fill("#f-installed_on", "0202-03-01")  # a slip of the year
        page.click("#device-save")

        error = page.locator("#device-error")
        error.wait_for()
        assert "安装日期" in error.inner_text() and "1980" in error.inner_text()
        assert page.input_value("#f-make") == "耀华"
        page.screenshot(path=str(SCREENSHOTS / "platform-device-error.png"))

        page.fill("#f-installed_on", "2024-03-01")
        page.click("#device-save")
        page.wait_for_selector("#device-saved")

        scale = page.locator('tr[data-device="scale"]')
        text = scale.inner_text()
        assert "耀华" in text and "YH-2024-0117" in text and soon in text
        assert "检定证书即将到期" in scale.locator(".cert-expiring").inner_text()
        assert "over" not in scale.get_attribute("class")
        page.screenshot(path=str(SCREENSHOTS / "platform-devices.png"), full_page=True)

        page.goto(base + f"/stations/{STATION}/devices?lang=en")
        assert "certificate expiring" in page.locator("#devices").inner_text()
