"""The operator page in a real browser (Debian's Chromium): an operator signs in,
sees the held truck, and releases it with a reason; the lane's chain records
exactly that and the barrier opens."""

import pytest
from chain_check import assert_chain_intact
from test_operator_page import PASSWORD, _until, site  # noqa: F401 (fixture)

from browser_support import CHROMIUM_ARGS, SCREENSHOTS

pytestmark = pytest.mark.browser


async def test_release_with_a_reason_in_the_browser(site, chromium_path, tmp_path):  # noqa: F811
    from playwright.async_api import async_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    held = await site.held_truck(plate="晋E66666", kg=31000)
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=chromium_path,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1360, "height": 1100},
            locale="zh-CN",
        )
        try:
            page = await context.new_page()
            await page.goto(site.url + "/")
            assert page.url.endswith("/login")
            await page.fill("input[name=operator]", "王师傅")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("#login-button")
            await page.wait_for_selector("#lane-01-state")
            assert await page.get_attribute("#lane-01-state", "data-state") == "held"
            assert "请退回卸载" in await page.inner_text("#lane-01-screen")
            await page.screenshot(path=str(SCREENSHOTS / "operator-held.png"))

            # the browser itself refuses an empty reason (required field)
            await page.click("#release-button-01")
            assert site.runtime.lane.state.value == "held"

            await page.fill("#release-reason-01", "车辆故障无法卸载，交执法人员处理")
            await page.click("#release-button-01")
            await page.wait_for_selector("#message")
            message = await page.inner_text("#message")
            assert "已人工放行" in message
            record_id = await page.inner_text("#message-record")
            row = page.locator(f'tr[data-record="{record_id}"]')
            assert "人工放行超限车辆" in await row.inner_text()
            assert "车辆故障无法卸载" in await row.inner_text()
            await page.screenshot(
                path=str(SCREENSHOTS / "operator-released.png"), full_page=True
            )
        finally:
            await context.close()

    event = site.records()[-1]
    assert event["record_id"] == record_id
    assert event["event_type"] == "operator_release"
    assert event["detail"]["record_id"] == held["record_id"]
    assert event["detail"]["operator"] == "王师傅"
    await site.barrier.wait_for_commands(1)
    assert site.barrier.is_open
    await _until(lambda: site.runtime.lane.state.value == "released")
    assert_chain_intact(site.records(), site.station.keys["01"].public_key)
