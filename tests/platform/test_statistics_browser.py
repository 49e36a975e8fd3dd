"""The statistics page in Debian's Chromium against a real uvicorn server."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from people import PASSWORD, add_user
from platform_factories import make_record
from platform_server import live_server

from browser_support import SCREENSHOTS, persistent_context
from zhichao.platform import services
from zhichao.platform.app import create_app
from zhichao.platform.migrations import run_migrations
from zhichao.platform.settings import PlatformSettings

pytestmark = pytest.mark.browser

STATIONS = {
    "1405250001": ("一号磅站", "晋城市某煤业有限公司"),
    "1405250002": ("二号磅站", "某砂石料场"),
}
# 08:00 Beijing time on 2026-06-17 and the day before
MORNING = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)
LIMIT = 49_000


@pytest.fixture
def stats_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    run_migrations(url)
    app = create_app(PlatformSettings(database_url=url, evidence_dir=tmp_path / "ev"))
    with app.state.sessions() as session, session.begin():
        for code, (name, unit) in STATIONS.items():
            services.register_station(session, code, name, unit, "coal_mine", "140525")
    add_user(app.state.sessions, "county", "officer", "140525")
    return app


def _records():
    # first station: 4 passes on the 17th (one 10 %, one 60 % over); one on the 16th
    grosses = [40_000, 53_900, 78_400, 45_000]
    first = [
        make_record(
            seq=n + 1,
            station="1405250001",
            detected=MORNING + timedelta(minutes=n),
            gross_kg=gross,
            limit_kg=LIMIT,
        )
        for n, gross in enumerate(grosses)
    ]
    earlier = make_record(
        seq=5, station="1405250001", detected=MORNING - timedelta(days=1)
    )
    second = make_record(
        seq=1,
        station="1405250002",
        detected=MORNING + timedelta(hours=2),
        gross_kg=41_000,
        limit_kg=LIMIT,
    )
    return [*first, earlier, second]


def _cells(page, code):
    row = page.locator(f'tr.stats-row[data-station="{code}"]')
    return [text.strip() for text in row.locator("td.num").all_inner_texts()]


def test_statistics_page_counts_a_chosen_day(stats_app, chromium_path, tmp_path):
    with (
        live_server(stats_app) as base,
        httpx.Client(base_url=base) as http,
        persistent_context(chromium_path, tmp_path / "profile") as context,
    ):
        answer = http.post("/api/v1/records", json={"records": _records()})
        assert answer.status_code == 200, answer.text
        page = context.new_page()
        page.goto(base + "/statistics")
        page.fill("#login-username", "county")
        page.fill("#login-password", PASSWORD)
        page.click("#login-button")
        page.wait_for_selector("#stats-form")
        assert page.locator("#nav-statistics").inner_text() == "统计"

        page.fill("#stats-from", "2026-06-17")
        page.fill("#stats-to", "2026-06-17")
        page.click("#stats-submit")
        page.wait_for_url("**/statistics?from=2026-06-17&to=2026-06-17")

        assert _cells(page, "1405250001") == ["4", "2", "50.00%", "1", "0", "1", "0"]
        assert _cells(page, "1405250002") == ["1", "0", "0.00%", "0", "0", "0", "0"]
        totals = page.locator("#stats-totals td.num").all_inner_texts()
        assert [t.strip() for t in totals] == ["5", "2", "40.00%", "1", "0", "1", "0"]
        assert page.locator("#stats-total-passes").inner_text() == "5"
        assert "晋城市某煤业有限公司" in page.locator("#stats").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "statistics.png"), full_page=True)

        page.click("a.lang")
        page.wait_for_selector("text=Overloaded share")
        assert page.locator("h1").inner_text() == "Statistics"
        assert _cells(page, "1405250001")[0] == "4"
        page.screenshot(path=str(SCREENSHOTS / "statistics-en.png"), full_page=True)

        page.fill("#stats-from", "2026-06-18")
        page.fill("#stats-to", "2026-06-16")
        page.click("#stats-submit")
        error = page.locator("#stats-error")
        error.wait_for()
        assert "to=2026-06-16 is before from=2026-06-18" in error.inner_text()
