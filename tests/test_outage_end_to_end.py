"""Store-and-forward through real faults: a lost answer, an outage with a station
restart, a camera with a wrong clock. Real pty indicator, HTTP cameras, TCP axle
counter and screen, Modbus relay, SQLite station store and an HTTP platform.
"""

import asyncio
import random
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from zhichao.chain import StationKey
from zhichao.protocols.readings import PlateColor
from zhichao.sim.demo import UNITS, PlatformThread, free_port, start_lane, stop_lane
from zhichao.station.keys import key_path
from zhichao.timeutil import SHANGHAI, utcnow

sys.path.insert(0, str(Path(__file__).parent / "station"))
from chain_check import assert_chain_intact  # noqa: E402

UNIT = UNITS[0]
FAST_UPLOAD = {
    "upload": {
        "backoff_initial_s": 0.05,
        "backoff_max_s": 0.3,
        "idle_poll_s": 0.2,
        "timeout_s": 5.0,
    },
    "heartbeat_s": 1.0,
}
PLATES = ["晋E10001", "晋E10002", "晋E10003", "晋E10004", "晋E10005"]


class DroppingProxy:
    """A TCP proxy that can forward requests yet never forward the answers.

    While ``dropping`` is set, it passes each request to the platform, waits for
    the first bytes of the answer (the platform has committed by then) and closes
    the station's connection without them: the station never learns the
    records were stored.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.dropping = False
        self.dropped = 0
        self._server: asyncio.AbstractServer | None = None

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader, writer) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(
                "127.0.0.1", self.upstream_port
            )
        except OSError:
            writer.close()
            return
        to_platform = asyncio.create_task(_pipe(reader, up_writer))
        try:
            while True:
                data = await up_reader.read(65536)
                if not data:
                    break
                if self.dropping:
                    self.dropped += 1
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            to_platform.cancel()
            writer.close()
            up_writer.close()


async def _pipe(reader, writer) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError, asyncio.CancelledError):
        pass


async def quick_weigh(lane, plate: str, gross_kg: int, camera_offset_s: float = 0):
    """One truck over the real devices; the stored record."""
    before = lane.runtime.last_record
    when = (utcnow() + timedelta(seconds=camera_offset_s)).astimezone(SHANGHAI)
    await lane.front.post(plate, color=PlateColor.YELLOW, when=when)
    await lane.rear.post(plate, color=PlateColor.YELLOW, when=when)
    await lane.axles.vehicle_passed(2, (1, 1))
    lane.indicator.drive_on(gross_kg, ramp_s=0.5)
    for _ in range(200):
        if lane.runtime.last_record is not before:
            break
        await asyncio.sleep(0.1)
    record = lane.runtime.last_record
    assert record is not before, f"no decision for {plate}"
    lane.indicator.drive_off(ramp_s=0.3)
    for _ in range(100):
        if lane.runtime.lane.state.value == "idle":
            break
        await asyncio.sleep(0.1)
    return record


async def _platform_rows(platform: PlatformThread) -> list[dict]:
    async with httpx.AsyncClient(headers=platform.auth_headers) as client:
        url = platform.url
        body = (await client.get(f"{url}/api/v1/records?limit=500")).json()
    return body["records"]


async def _wait_for(predicate, timeout_s: float = 30.0, what: str = "condition"):
    for _ in range(int(timeout_s / 0.2)):
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _drained(lane) -> bool:
    depth = lane.station.store.queue_depth()
    return depth["records"] == 0 and depth["photos"] == 0


@pytest.fixture
async def platform(tmp_path):
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    thread = PlatformThread(
        url, tmp_path / "evidence", "127.0.0.1", free_port("127.0.0.1", 0)
    )
    await thread.start()
    yield thread
    await thread.stop()


async def test_a_lost_answer_is_retried_and_stored_once(platform, tmp_path):
    proxy = DroppingProxy(platform.port)
    await proxy.start()
    lane = await start_lane(
        UNIT,
        f"http://127.0.0.1:{proxy.port}",
        tmp_path / "stations",
        random.Random(1),
        FAST_UPLOAD,
    )
    try:
        proxy.dropping = True
        first = await quick_weigh(lane, PLATES[0], 15_000)
        second = await quick_weigh(lane, PLATES[1], 16_000)
        ids = {first["record_id"], second["record_id"]}

        async def stored_but_unacknowledged():
            on_platform = {r["record_id"] for r in await _platform_rows(platform)}
            return ids <= on_platform and lane.station.store.queue_depth()["records"]

        await _wait_for(stored_but_unacknowledged, what="records stored unanswered")
        assert proxy.dropped >= 1
        assert lane.station.uploader.stats["failures"] >= 1
        proxy.dropping = False
        await _wait_for(lambda: _drained(lane), what="the queue to drain")
    finally:
        await stop_lane(lane)
        await proxy.stop()

    rows = await _platform_rows(platform)
    copies = [r["record_id"] for r in rows if r["record_id"] in ids]
    assert sorted(copies) == sorted(ids), "each record exactly once on the platform"


async def test_five_passes_in_an_outage_and_a_restart_all_arrive_in_order(tmp_path):
    port = free_port("127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    stations = tmp_path / "stations"

    lane = await start_lane(UNIT, url, stations, random.Random(2), FAST_UPLOAD)
    made = []
    try:
        for n, plate in enumerate(PLATES):
            made.append(await quick_weigh(lane, plate, 14_000 + 1_000 * n))
        await _wait_for(
            lambda: lane.station.uploader.stats["failures"] >= 25,
            what="many failed retries",
        )
        assert lane.station.store.queue_depth()["records"] >= 5
    finally:
        await stop_lane(lane)

    # a new station on the same data folder, while the platform is still down
    lane = await start_lane(UNIT, url, stations, random.Random(3), FAST_UPLOAD)
    platform = PlatformThread(
        f"sqlite:///{tmp_path / 'platform.db'}",
        tmp_path / "evidence",
        "127.0.0.1",
        port,
    )
    try:
        await asyncio.sleep(1.0)
        assert lane.station.uploader.stats["failures"] >= 1
        await platform.start()
        await _wait_for(lambda: _drained(lane), what="the queue to drain")
        chain = [r.record for r in lane.station.store.lane_records("01")]
        rows = await _platform_rows(platform)
        heads = await _photo_heads(platform.url, made)
    finally:
        await stop_lane(lane)
        await platform.stop()

    made_ids = [m["record_id"] for m in made]
    passes = [r for r in reversed(rows) if r["record_id"] in set(made_ids)]
    assert [r["record_id"] for r in passes] == made_ids
    assert [r["front_plate"] for r in passes] == PLATES
    key = StationKey.load(key_path(stations / UNIT.station_code, "01"))
    assert_chain_intact(chain, key.public_key)
    events = [r["event_type"] for r in chain if r["kind"] == "event"]
    assert events.count("station_started") == 2
    assert all(len(m["photos"]) >= 2 for m in made)
    assert heads and all(code == 200 for code in heads.values()), heads


async def _photo_heads(url: str, records: list[dict]) -> dict[str, int]:
    async with httpx.AsyncClient() as client:
        return {
            photo["sha256"]: (
                await client.head(f"{url}/api/v1/photos/{photo['sha256']}")
            ).status_code
            for record in records
            for photo in record["photos"]
        }


async def test_a_camera_clock_five_minutes_off_is_flagged(platform, tmp_path):
    lane = await start_lane(
        UNIT, platform.url, tmp_path / "stations", random.Random(4), FAST_UPLOAD
    )
    try:
        skewed = await quick_weigh(lane, PLATES[0], 15_000, camera_offset_s=300)
        fine = await quick_weigh(lane, PLATES[1], 15_000, camera_offset_s=1)
        await _wait_for(lambda: _drained(lane), what="the queue to drain")
    finally:
        await stop_lane(lane)

    assert "camera_clock_skew" in skewed["flags"]
    assert "camera_clock_skew" not in fine["flags"]
    rows = {r["record_id"]: r for r in await _platform_rows(platform)}
    assert skewed["record_id"] in rows
