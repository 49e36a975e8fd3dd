"""A running Station records its events in the lanes' chains: started, config
changed, a scale lost and recovered (once each), photos pruned before upload,
store full; and sends heartbeats."""

import asyncio

import pytest
from chain_check import assert_chain_intact
from test_uploader import ScriptedPlatform

from zhichao.chain import StationKey
from zhichao.lane.events import PlateEvent, WeightEvent
from zhichao.protocols.readings import (
    Picture,
    PlateColor,
    PlateRead,
    WeightReading,
    WeightStatus,
)
from zhichao.protocols.xk3190 import encode_tf0
from zhichao.sim.demo import free_port
from zhichao.station.config import parse_settings
from zhichao.station.keys import init_keys, key_path
from zhichao.station.runtime import STORE_FULL_TEXT, Station
from zhichao.station.store import StationStore
from zhichao.timeutil import utcnow


def _settings(tmp_path, url, scale_port, **extra):
    data = {
        "station_code": "1405250001",
        "platform_url": url,
        "data_dir": str(tmp_path / "data"),
        "camera_listen": {"port": free_port()},
        "heartbeat_s": 0.3,
        "upload": {"backoff_initial_s": 0.05, "backoff_max_s": 0.2},
        "lanes": [
            {
                "lane_no": "01",
                "scale": {"port": f"socket://127.0.0.1:{scale_port}"},
                "scale_silence_s": 0.5,
                "stability": {"window_s": 0.2},
            }
        ],
    } | extra
    settings = parse_settings(data)
    init_keys(settings)
    return settings


class Indicator:
    """An XK3190 indicator behind a serial-to-Ethernet converter (TCP)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._server = None
        self._writers = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader, writer) -> None:
        self._writers.append(writer)
        try:
            while True:
                writer.write(encode_tf0(0))
                await writer.drain()
                await asyncio.sleep(0.1)
        except (ConnectionError, OSError):
            pass


@pytest.fixture
async def platform():
    scripted = ScriptedPlatform()
    url = await scripted.start()
    yield scripted, url
    await scripted.stop()


def _events(station, lane="01"):
    """The lane's event records, read through a store of their own."""
    store = StationStore(station.store.path)
    try:
        records = [r.record for r in store.lane_records(lane)]
    finally:
        store.close()
    return [r for r in records if r["kind"] == "event"]


async def _until(predicate, timeout_s=10.0):
    for _ in range(int(timeout_s / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_a_lost_scale_is_one_fault_and_one_recovery(tmp_path, platform):
    _, url = platform
    scale_port = free_port()
    station = Station(_settings(tmp_path, url, scale_port))
    await station.start()
    indicator = Indicator(scale_port)
    try:
        types = lambda: [e["event_type"] for e in _events(station)]  # noqa: E731
        await _until(lambda: "device_fault" in types())
        await asyncio.sleep(1.5)  # the reader keeps retrying meanwhile
        await indicator.start()
        await _until(lambda: "device_recovered" in types())
        await asyncio.sleep(1.2)
    finally:
        await indicator.stop()
        await station.stop()

    events = _events(station)
    kinds = [e["event_type"] for e in events]
    assert kinds == ["station_started", "device_fault", "device_recovered"]
    assert events[1]["detail"]["device"] == "scale"
    key = StationKey.load(key_path(tmp_path / "data", "01"))
    reopened = Station(_settings(tmp_path, url, scale_port))
    chain = [r.record for r in reopened.store.lane_records("01")]
    reopened.store.close()
    assert_chain_intact(chain, key.public_key)


async def test_a_changed_configuration_is_recorded_at_start(tmp_path, platform):
    _, url = platform
    port = free_port()
    for text in (b"first", b"first", b"second"):
        station = Station(_settings(tmp_path, url, port), config_bytes=text)
        await station.start()
        await station.stop()

    kinds = [e["event_type"] for e in _events(station)]
    assert kinds == ["station_started"] * 3 + ["config_changed"]
    changed = _events(station)[-1]["detail"]
    assert changed["previous_sha256"] != changed["config_sha256"]


async def test_heartbeats_carry_devices_queue_disk_and_version(tmp_path, platform):
    scripted, url = platform
    station = Station(_settings(tmp_path, url, free_port()))
    await station.start()
    try:
        await _until(lambda: len(scripted.heartbeats) >= 2)
    finally:
        await station.stop()

    beat = scripted.heartbeats[-1]
    assert beat["station_code"] == "1405250001"
    assert beat["software_version"]
    assert set(beat["queue"]) == {"records", "photos"}
    assert beat["disk_free_bytes"] > 0
    [lane] = beat["lanes"]
    assert lane["lane_no"] == "01"
    assert lane["devices"][0]["name"] == "scale"
    assert lane["devices"][0]["state"] in ("ok", "fault", "unknown")


async def test_photos_pruned_before_upload_are_recorded_exactly(tmp_path, platform):
    scripted, url = platform
    scripted.photo_status = 503  # the platform never confirms a photo
    station = Station(_settings(tmp_path, url, free_port(), photo_quota_bytes=2500))
    await station.start()
    try:
        shas = [station.store.add_photo(bytes([n]) * 1000, "01") for n in range(4)]
        pruned = await station.prune_photos()
    finally:
        await station.stop()

    assert [p.sha256 for p in pruned] == shas[:2]  # oldest first
    [event] = [e for e in _events(station) if e["event_type"] == "photo_pruned"]
    assert [p["sha256"] for p in event["detail"]["photos"]] == shas[:2]
    assert event["detail"]["quota_bytes"] == 2500


async def test_uploaded_photos_are_pruned_first(tmp_path):
    store = StationStore(tmp_path / "s.db")
    shas = [store.add_photo(bytes([n]) * 1000, "01") for n in range(4)]
    store.mark_photo(shas[2], "uploaded")
    pruned = store.prune_photos(3000)
    assert [p.sha256 for p in pruned] == [shas[2]]
    assert store.photo_status(shas[2]) == "pruned"
    assert not store.photo_path(shas[2]).exists()
    assert store.photo_path(shas[0]).exists()


async def test_a_full_store_refuses_passes_with_a_clear_screen(tmp_path, platform):
    _, url = platform
    settings = _settings(tmp_path, url, free_port(), min_free_bytes=1 << 62)
    station = Station(settings)
    await station.start()
    runtime = station.lanes[0]
    shown = []

    async def show(lines):
        shown.append(tuple(lines))

    runtime._show = show
    try:
        read = PlateRead(
            "晋E12345",
            PlateColor.YELLOW,
            utcnow(),
            pictures=(Picture("p.jpg", b"\xff\xd8p\xff\xd9", "plate"),),
        )
        await runtime.dispatch(PlateEvent(read, "front"))
        for _ in range(30):
            reading = WeightReading(15000, True, WeightStatus.OK, b"")
            await runtime.dispatch(WeightEvent(reading))
            await asyncio.sleep(0.02)
    finally:
        await station.stop()

    assert runtime.last_record is None, "no pass may be stored"
    assert runtime.store_full
    assert STORE_FULL_TEXT in shown
    assert shown[-1] == STORE_FULL_TEXT
    kinds = [e["event_type"] for e in _events(station)]
    assert kinds.count("store_full") == 1
