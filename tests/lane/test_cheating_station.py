"""The exit camera's 逃检 finding through a real station to the platform: pty
indicator, Hikvision HTTP cameras (front, rear, exit), SQLite station store and
the HTTP platform."""

import asyncio
import json
import random

import pytest
import sqlalchemy as sa

from zhichao.platform.db import make_engine
from zhichao.protocols.readings import PlateColor
from zhichao.sim.demo import UNITS, PlatformThread, free_port
from zhichao.sim.devices.camera import SimulatedCamera
from zhichao.sim.devices.scale import SimulatedIndicator, WeightModel, open_pty_pair
from zhichao.station.config import parse_settings
from zhichao.station.keys import init_keys
from zhichao.station.runtime import Station, _lane_config

UNIT = UNITS[0]
WEIGHED, UNWEIGHED = "晋E10001", "晋E99999"


def _settings(tmp_path, platform_url: str, pty_path: str, checks=None):
    lane = {
        "lane_no": "01",
        "scale": {"port": pty_path, "protocol": UNIT.scale_protocol},
        "cameras": {"front": "front", "rear": "rear", "exit": "exit"},
    }
    if checks is not None:
        lane["checks"] = checks
    return parse_settings(
        {
            "station_code": UNIT.station_code,
            "platform_url": platform_url,
            "data_dir": str(tmp_path / "station"),
            "camera_listen": {"host": "127.0.0.1", "port": free_port("127.0.0.1", 0)},
            "upload": {"backoff_initial_s": 0.05, "backoff_max_s": 0.3},
            "lanes": [lane],
        }
    )


async def _until(predicate, timeout_s=30.0, what="condition"):
    for _ in range(int(timeout_s / 0.1)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _platform_events(url: str) -> list[dict]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT raw FROM lane_events ORDER BY seq"))
            return [r[0] if isinstance(r[0], dict) else _json(r[0]) for r in rows]
    finally:
        engine.dispose()


def _platform_photos(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {r[0] for r in conn.execute(sa.text("SELECT sha256 FROM photos"))}
    finally:
        engine.dispose()


def _json(text):
    return json.loads(text)


@pytest.fixture
async def platform(tmp_path):
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    thread = PlatformThread(
        url, tmp_path / "evidence", "127.0.0.1", free_port("127.0.0.1", 0)
    )
    await thread.start()
    yield thread, url
    await thread.stop()


async def test_a_plate_at_the_exit_with_no_weighing_reaches_the_platform(
    tmp_path, platform
):
    thread, db_url = platform
    master, pty_path = open_pty_pair()
    indicator = SimulatedIndicator(
        master,
        rate=10.0,
        model=WeightModel(rng=random.Random(4)),
        protocol=UNIT.scale_protocol,
    )
    indicator.start()
    settings = _settings(tmp_path, thread.url, pty_path, {"merge_window_s": 0.5})
    init_keys(settings)
    station = Station(settings)
    await station.start()
    runtime = station.lanes[0]
    base = f"http://127.0.0.1:{station.cameras.port}/cameras"
    front = SimulatedCamera(f"{base}/front", name="front")
    rear = SimulatedCamera(f"{base}/rear", name="rear")
    exit_camera = SimulatedCamera(f"{base}/exit", name="exit")
    try:
        await front.post(WEIGHED, color=PlateColor.YELLOW)
        await rear.post(WEIGHED, color=PlateColor.YELLOW)
        indicator.drive_on(15000, ramp_s=0.5)
        await _until(lambda: runtime.last_record is not None, what="the pass")
        assert runtime.last_record["verdict"] == "released"
        indicator.drive_off(ramp_s=0.3)
        await _until(lambda: runtime.lane.state.value == "idle", what="idle")

        assert (await exit_camera.post(WEIGHED)).status_code == 200
        await asyncio.sleep(1.0)  # past the merge window: another truck
        assert (await exit_camera.post(UNWEIGHED)).status_code == 200

        def found():
            return [
                e
                for e in _platform_events(db_url)
                if e["event_type"] == "left_without_weighing"
            ]

        await _until(lambda: found(), what="the event on the platform")
        [event] = found()
        assert event["detail"]["plate"] == UNWEIGHED
        assert event["left_without_weighing"] is True
        assert event["signature"]
        photos = {p["sha256"] for p in event["detail"]["photos"]}
        assert len(photos) == 2  # plate and scene picture of the exit camera
        await _until(lambda: photos <= _platform_photos(db_url), what="the photos")
        # the weighed plate left through the exit without any finding
        kinds = [e["event_type"] for e in _platform_events(db_url)]
        assert kinds.count("left_without_weighing") == 1
        assert "overloaded_left" not in kinds
    finally:
        await station.stop()
        await indicator.stop()
        indicator.close()


def test_check_settings_reach_the_lane(tmp_path):
    settings = _settings(
        tmp_path,
        "http://127.0.0.1:9",
        "/dev/null",
        {"weight_jump_kg": 0, "quick_reweigh_s": 900, "zero_check": False},
    )
    config = _lane_config(settings, settings.lanes[0])
    assert config.weight_jump_kg is None
    assert config.quick_reweigh_s == 900
    assert config.exit_window_s == 1800
    assert config.zero_band_divisions is None
    default = _lane_config(settings, _settings(tmp_path, "http://x", "p").lanes[0])
    assert default.weight_jump_kg == 500
    assert default.zero_band_divisions == 1.0
