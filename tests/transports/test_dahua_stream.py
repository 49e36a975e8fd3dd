"""DahuaStream against the simulated Dahua camera over real HTTP with Digest."""

import asyncio
import logging
from datetime import datetime, timedelta, timezone

import pytest

from zhichao.errors import DeviceError
from zhichao.protocols.dahua_traffic import build_event_text, build_part
from zhichao.protocols.readings import PlateColor
from zhichao.sim.devices.camera import SimulatedDahuaCamera
from zhichao.transports.dahua_stream import DahuaStream, WrongPasswordError

BEIJING = timezone(timedelta(hours=8))
WHEN = datetime(2026, 6, 18, 6, 6, 30, 499000, tzinfo=BEIJING)
LOGGER = "zhichao.transports.dahua_stream"


class Plates:
    def __init__(self):
        self.seen = []
        self.changed = asyncio.Condition()

    async def __call__(self, camera_id, read):
        async with self.changed:
            self.seen.append((camera_id, read))
            self.changed.notify_all()

    async def wait_for(self, count, timeout=10):
        async with self.changed:
            await asyncio.wait_for(
                self.changed.wait_for(lambda: len(self.seen) >= count), timeout
            )

    @property
    def plates(self):
        return [read.plate for _, read in self.seen]


@pytest.fixture
async def camera():
    sim = SimulatedDahuaCamera(heartbeat_s=0.2)
    await sim.start()
    yield sim
    await sim.stop()


def stream_for(camera, plates, password=None, **options):
    options.setdefault("reconnect_min_s", 0.05)
    options.setdefault("reconnect_max_s", 0.2)
    return DahuaStream(
        "front",
        camera.url,
        camera.username,
        password or camera.password,
        plates,
        **options,
    )


async def connected(stream, timeout=10):
    await asyncio.wait_for(stream.connected.wait(), timeout)


async def test_events_arrive_with_their_picture_and_time(camera):
    plates = Plates()
    stream = stream_for(camera, plates)
    await stream.start()
    try:
        await connected(stream)
        for plate in ("粤B12345D", "京AD12345", "鲁A1234挂"):
            camera.snap(plate, color=PlateColor.YELLOW, when=WHEN)
        await plates.wait_for(3)
    finally:
        await stream.stop()

    assert plates.plates == ["粤B12345D", "京AD12345", "鲁A1234挂"]
    camera_id, read = plates.seen[2]
    assert (camera_id, read.camera, read.color) == ("front", "front", "yellow")
    assert read.camera_time == WHEN
    assert read.camera_time.utcoffset() == timedelta(hours=8)
    assert [p.role for p in read.pictures] == ["scene"]
    assert read.pictures[0].data.startswith(b"\xff\xd8")
    assert stream.stats["events"] == 3 and stream.stats["rejected"] == 0


@pytest.mark.parametrize("cut", [5, 60, 200, 400, 2000])
async def test_connection_dropped_mid_part_reconnects_and_continues(
    camera, cut, caplog
):
    caplog.set_level(logging.INFO, logger=LOGGER)
    # a text part that arrived whole is an event, given out without its picture
    text = build_event_text("晋E99999", PlateColor.YELLOW, WHEN, confidence=95)
    cut_off = ["晋E99999"] if cut >= len(build_part(text, "text/plain")) else []
    plates = Plates()
    stream = stream_for(camera, plates)
    await stream.start()
    try:
        await connected(stream)
        camera.snap("晋E12345", when=WHEN)
        await plates.wait_for(1)
        camera.client_joined.clear()
        assert camera.cut_next("晋E99999", at=cut, when=WHEN) == 1
        await asyncio.wait_for(camera.client_joined.wait(), 10)
        await connected(stream)
        camera.snap("鲁A1234挂", when=WHEN)
        await plates.wait_for(2 + len(cut_off))
    finally:
        await stream.stop()

    assert plates.plates == ["晋E12345", *cut_off, "鲁A1234挂"]
    assert all(len(read.pictures) == 0 for _, read in plates.seen[1:-1])
    assert camera.sessions == 2 and stream.stats["connects"] == 2
    messages = [r.getMessage() for r in caplog.records]
    assert sum("retrying" in m for m in messages) == 1
    assert sum("is back" in m for m in messages) == 1


async def test_wrong_password_is_a_device_error_that_says_so(camera):
    stream = stream_for(camera, Plates(), password="wrong")

    with pytest.raises(WrongPasswordError, match="user name or password") as caught:
        await stream.read_session()

    assert isinstance(caught.value, DeviceError)
    assert camera.refused >= 1


async def test_wrong_password_is_logged_once_and_retried(camera, caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    stream = stream_for(camera, Plates(), password="wrong")
    await stream.start()
    try:
        while stream.stats["failures"] < 3:
            await asyncio.sleep(0.05)
    finally:
        await stream.stop()

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "user name or password" in errors[0].getMessage()
    assert isinstance(stream.last_error, WrongPasswordError)
    assert camera.refused >= 3


async def test_camera_away_then_back_is_logged_once_each(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    camera = SimulatedDahuaCamera(heartbeat_s=0.2)
    await camera.start()
    port = camera.port
    await camera.stop()  # nothing listens on the port now
    plates = Plates()
    stream = DahuaStream(
        "rear",
        camera.url,
        camera.username,
        camera.password,
        plates,
        reconnect_min_s=0.05,
        reconnect_max_s=0.1,
    )
    await stream.start()
    back = SimulatedDahuaCamera(heartbeat_s=0.2, port=port)
    try:
        while stream.stats["failures"] < 3:
            await asyncio.sleep(0.05)
        await back.start()
        await connected(stream)
        back.snap("晋E12345", when=WHEN)
        await plates.wait_for(1)
    finally:
        await stream.stop()
        await back.stop()

    messages = [r.getMessage() for r in caplog.records]
    assert sum("cannot connect" in m for m in messages) == 1
    assert sum("is back" in m for m in messages) == 1
    assert plates.plates == ["晋E12345"]


async def test_bad_parts_are_counted_logged_once_and_the_stream_goes_on(camera, caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    plates = Plates()
    stream = stream_for(camera, plates)
    await stream.start()
    try:
        await connected(stream)
        camera.send_raw(b"\x00\x01garbage between parts")
        camera.snap("晋E1234", when=WHEN)  # not a valid plate
        camera.snap(None, when=WHEN)  # no plate
        camera.snap("鲁A1234挂", when=WHEN)
        await plates.wait_for(1)
    finally:
        await stream.stop()

    assert plates.plates == ["鲁A1234挂"]
    assert stream.stats["rejected"] == 3
    warnings = [r.getMessage() for r in caplog.records]
    refused = [w for w in warnings if "part refused" in w]
    assert len(refused) == 1 and "00 01 67 61" in refused[0]
    assert sum("event carries no plate" in w for w in warnings) == 1
    assert sum("1 more refused parts" in w for w in warnings) == 1  # the bad plate


async def test_silent_camera_is_a_loss_after_the_read_timeout(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    camera = SimulatedDahuaCamera(heartbeat_s=30)
    await camera.start()
    stream = stream_for(camera, Plates(), read_timeout_s=0.3)
    try:
        with pytest.raises(DeviceError, match="read timeout"):
            await asyncio.wait_for(stream.read_session(), 10)
    finally:
        await camera.stop()
    assert stream.stats["connects"] == 1


async def test_a_url_that_is_not_a_stream_is_a_device_error(camera):
    stream = DahuaStream(
        "front",
        camera.url.replace("attachFileProc", "getConfig"),
        camera.username,
        camera.password,
        Plates(),
    )
    with pytest.raises(DeviceError, match="HTTP 400"):
        await stream.read_session()
