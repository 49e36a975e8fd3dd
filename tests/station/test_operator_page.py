"""The operator page on a running Station: sign-in, CSRF, status, and actions that
are records in the lane's chain (release of a held truck, re-weigh, manual entry).
A real station, a real aiohttp server, an indicator over TCP, a barrier over ISAPI."""

import asyncio
import contextlib
import re

import httpx
import pytest
from chain_check import assert_chain_intact
from test_uploader import ScriptedPlatform

from zhichao.lane.events import AxleEvent
from zhichao.protocols.readings import AxleReading, PlateColor, PlateRead
from zhichao.protocols.xk3190 import encode_tf0
from zhichao.sim.demo import free_port
from zhichao.sim.devices.barrier import SimulatedHikvisionBarrier
from zhichao.station.config import parse_settings
from zhichao.station.keys import init_keys
from zhichao.station.operator import hash_password
from zhichao.station.runtime import Station
from zhichao.station.store import StationStore
from zhichao.timeutil import utcnow

PASSWORD = "磅房-2026-secret"
_HASH = hash_password(PASSWORD)


class Indicator:
    """An XK3190 indicator over TCP showing whatever ``weight`` is set to."""

    def __init__(self) -> None:
        self.weight = 0
        self.port = None
        self._server = None
        self._tasks = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _serve(self, reader, writer) -> None:
        self._tasks.add(asyncio.current_task())
        try:
            while True:
                writer.write(encode_tf0(self.weight))
                await writer.drain()
                await asyncio.sleep(0.05)
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


class Site:
    def __init__(self, station, indicator, barrier, url) -> None:
        self.station, self.indicator, self.barrier, self.url = (
            station,
            indicator,
            barrier,
            url,
        )

    @property
    def runtime(self):
        return self.station.lanes[0]

    async def held_truck(self, plate="晋E12345", kg=25000) -> dict:
        """A 2-axle truck over its limit on the deck, held by the lane."""
        read = PlateRead(plate, PlateColor.YELLOW, utcnow(), camera="cam-front")
        await self.runtime.on_plate(read, "front")
        await self.runtime.dispatch(AxleEvent(AxleReading(2)))
        self.indicator.weight = kg
        await _until(lambda: self.runtime.lane.state.value == "held")
        return self.runtime.last_record

    def records(self) -> list[dict]:
        store = StationStore(self.station.store.path)
        try:
            return [r.record for r in store.lane_records("01")]
        finally:
            store.close()


async def _until(predicate, timeout_s=10.0):
    for _ in range(int(timeout_s / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


@pytest.fixture
async def site(tmp_path):
    platform = ScriptedPlatform()
    platform_url = await platform.start()
    indicator = Indicator()
    await indicator.start()
    barrier = SimulatedHikvisionBarrier()
    await barrier.start()
    settings = parse_settings(
        {
            "station_code": "1405250001",
            "name": "测试磅站",
            "platform_url": platform_url,
            "data_dir": str(tmp_path / "data"),
            "camera_listen": {"port": free_port()},
            "upload": {"backoff_initial_s": 0.05, "backoff_max_s": 0.2},
            "operator": {"port": free_port(), "password_hash": _HASH},
            "lanes": [
                {
                    "lane_no": "01",
                    "scale": {"port": f"socket://127.0.0.1:{indicator.port}"},
                    "stability": {"window_s": 0.2},
                    "barrier": {
                        "kind": "hikvision-isapi",
                        "url": barrier.url,
                        "username": "admin",
                        "password": "sim12345",
                    },
                }
            ],
        }
    )
    init_keys(settings)
    station = Station(settings)
    await station.start()
    url = f"http://127.0.0.1:{station.operator_page.port}"
    try:
        yield Site(station, indicator, barrier, url)
    finally:
        await station.stop()
        await barrier.stop()
        await indicator.stop()
        await platform.stop()


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def _signed_in(url: str, name="王师傅") -> tuple[httpx.AsyncClient, str]:
    client = httpx.AsyncClient(base_url=url)
    token = _csrf((await client.get("/login")).text)
    reply = await client.post(
        "/login", data={"csrf": token, "operator": name, "password": PASSWORD}
    )
    assert reply.status_code == 303
    page = await client.get("/")
    assert page.status_code == 200
    return client, _csrf(page.text)


async def test_the_page_binds_to_localhost_and_asks_for_sign_in(site):
    assert site.station.settings.operator.host == "127.0.0.1"
    async with httpx.AsyncClient(base_url=site.url) as client:
        reply = await client.get("/")
        assert reply.status_code == 303 and reply.headers["location"] == "/login"
        token = _csrf((await client.get("/login")).text)
        wrong = await client.post(
            "/login", data={"csrf": token, "operator": "王", "password": "nope"}
        )
        assert wrong.status_code == 403 and "姓名或密码错误" in wrong.text
        reused = await client.post(
            "/login", data={"csrf": token, "operator": "王", "password": PASSWORD}
        )
        assert reused.status_code == 400  # a sign-in token is good once


async def test_status_shows_lane_devices_queue_and_recent_records(site):
    client, _ = await _signed_in(site.url)
    async with contextlib.aclosing(client):
        await _until(lambda: site.runtime.devices["scale"].state.value == "ok")
        page = (await client.get("/")).text
        assert 'data-state="idle"' in page
        assert "请上磅" in page  # the lane's screen text
        assert "scale" in page and "正常" in page
        assert 'data-event="station_started"' in page  # recent records
        assert 'id="queue"' in page
        english = await client.get("/", params={"lang": "en"})
        assert "Station operator page" in english.text
        assert "Station operator page" in (await client.get("/")).text  # cookie


async def test_release_without_csrf_or_reason_is_refused_and_nothing_recorded(site):
    held = await site.held_truck()
    client, csrf = await _signed_in(site.url)
    async with contextlib.aclosing(client):
        forged = await client.post(
            "/lanes/01/actions",
            data={"action": "release", "reason": "x", "csrf": "forged"},
        )
        assert forged.status_code == 403
        blank = await client.post(
            "/lanes/01/actions",
            data={"action": "release", "reason": "  ", "csrf": csrf},
        )
        assert blank.status_code == 303 and "err_reason" in blank.headers["location"]
    assert site.runtime.lane.state.value == "held"
    assert site.records()[-1]["record_id"] == held["record_id"]
    assert site.barrier.commands == []


async def test_release_of_a_held_truck_is_an_operator_release_record(site):
    held = await site.held_truck()
    client, csrf = await _signed_in(site.url)
    async with contextlib.aclosing(client):
        reply = await client.post(
            "/lanes/01/actions",
            data={"action": "release", "reason": "车辆故障无法卸载", "csrf": csrf},
        )
        assert reply.status_code == 303
        page = (await client.get(reply.headers["location"])).text
    event = site.records()[-1]
    assert event["event_type"] == "operator_release"
    assert event["detail"]["record_id"] == held["record_id"]
    assert event["detail"]["operator"] == "王师傅"
    assert event["detail"]["reason"] == "车辆故障无法卸载"
    assert event["detail"]["overloaded"] is True
    assert event["record_id"] in page and "已人工放行" in page
    await site.barrier.wait_for_commands(1)
    assert site.barrier.is_open
    assert site.runtime.screen_lines[1] == "人工放行"
    assert_chain_intact(site.records(), site.station.keys["01"].public_key)


async def test_reweigh_and_manual_entry_through_the_page(site):
    held = await site.held_truck()
    client, csrf = await _signed_in(site.url, "李")
    async with contextlib.aclosing(client):
        bad = await client.post(
            "/lanes/01/actions",
            data={
                "action": "manual_plate",
                "plate": "ABC",
                "reason": "r",
                "csrf": csrf,
            },
        )
        assert "err_plate" in bad.headers["location"]
        reply = await client.post(
            "/lanes/01/actions",
            data={
                "action": "manual_axles",
                "axles": "6",
                "reason": "识别器漏轴",
                "csrf": csrf,
            },
        )
        assert "done=manual_axles" in reply.headers["location"]
    await _until(lambda: site.records()[-1]["kind"] == "pass")
    event, again = site.records()[-2:]
    assert event["event_type"] == "operator_manual_axles"
    assert event["detail"]["cancels"] == held["record_id"]
    assert again["reweigh_of"] == held["record_id"]
    assert again["axles"] == 6 and "manual_axles" in again["flags"]
    assert again["verdict"] == "released"


def test_operator_password_command_prints_an_argon2id_hash_that_verifies():
    from argon2 import PasswordHasher
    from click.testing import CliRunner

    from zhichao.station.cli import station

    result = CliRunner().invoke(
        station, ["operator-password"], input="开门-123\n开门-123\n"
    )
    assert result.exit_code == 0, result.output
    digest = result.output.strip().splitlines()[-1]
    assert digest.startswith("$argon2id$")
    assert PasswordHasher().verify(digest, "开门-123")


def test_operator_table_needs_an_argon2id_hash():
    from zhichao.errors import ConfigError

    base = {
        "station_code": "1405250001",
        "platform_url": "http://127.0.0.1:1",
        "lanes": [{"lane_no": "01", "scale": {"port": "socket://127.0.0.1:1"}}],
    }
    with pytest.raises(ConfigError, match="operator.password_hash"):
        parse_settings(base | {"operator": {"password_hash": "plain"}})
    settings = parse_settings(base | {"operator": {"password_hash": _HASH}})
    assert (settings.operator.host, settings.operator.port) == ("127.0.0.1", 8090)
    assert parse_settings(base).operator is None
