"""SimulatedCamera -> CameraListener over real HTTP."""

import asyncio
import logging
from datetime import datetime, timedelta, timezone

import pytest

from zhichao.protocols.hikvision_anpr import parse_anpr_post
from zhichao.protocols.readings import PlateColor
from zhichao.sim.devices.camera import SimulatedCamera
from zhichao.transports.badinput import hex_preview
from zhichao.transports.camera_listener import CameraListener

BEIJING = timezone(timedelta(hours=8))
WHEN = datetime(2026, 6, 18, 6, 6, 30, 499000, tzinfo=BEIJING)

BROKEN_XML = (
    b'--b\r\nContent-Disposition: form-data; name="anpr.xml"\r\n'
    b"Content-Type: application/xml\r\n\r\n<EventNotificationAlert><ANPR>\r\n--b--\r\n",
    "multipart/form-data; boundary=b",
)


class Plates:
    def __init__(self):
        self.seen = []
        self.arrived = asyncio.Event()

    async def __call__(self, camera_id, plate_read):
        self.seen.append((camera_id, plate_read))
        self.arrived.set()


@pytest.fixture
async def listener():
    plates = Plates()
    server = CameraListener(parse_anpr_post, plates, max_body=1024 * 1024)
    await server.start()
    yield server, plates
    await server.stop()


async def test_plate_event_with_pictures_arrives(listener):
    server, plates = listener
    camera = SimulatedCamera(server.url("front"), name="front")

    response = await camera.post("鲁A1234挂", color=PlateColor.YELLOW, when=WHEN)
    await asyncio.wait_for(plates.arrived.wait(), 5)

    assert response.status_code == 200
    camera_id, read = plates.seen[0]
    assert camera_id == "front"
    assert (read.plate, read.color, read.camera) == (
        "鲁A1234挂",
        PlateColor.YELLOW,
        "front",
    )
    assert read.camera_time == WHEN
    assert read.camera_time.utcoffset() == timedelta(hours=8)
    assert sorted(p.role for p in read.pictures) == ["plate", "scene"]
    assert all(p.data.startswith(b"\xff\xd8") for p in read.pictures)
    assert server.stats["events"] == 1


@pytest.mark.parametrize(
    ("post", "message"),
    [
        (lambda cam: cam.post_raw(*BROKEN_XML), ""),
        (lambda cam: cam.post(None, when=WHEN), "no plate"),
        (lambda cam: cam.post("鲁A12", when=WHEN), ""),
        (lambda cam: cam.post_raw(b"{}", "application/json"), ""),
    ],
    ids=["broken-xml", "no-plate", "bad-plate", "wrong-type"],
)
async def test_bad_posts_get_400_and_the_listener_keeps_running(
    listener, post, message, caplog
):
    server, plates = listener
    camera = SimulatedCamera(server.url("entry"))
    caplog.set_level(logging.WARNING, logger="zhichao.transports.camera_listener")

    refused = await post(camera)
    accepted = await camera.post("京A12345", color=PlateColor.BLUE, when=WHEN)
    await asyncio.wait_for(plates.arrived.wait(), 5)

    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("text/plain")
    assert message in refused.text
    assert "Traceback" not in refused.text and len(refused.text) < 300
    assert accepted.status_code == 200
    assert [read.plate for _, read in plates.seen] == ["京A12345"]
    assert server.stats["rejected"] == 1
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 1 and "camera entry post refused" in logged[0]
    assert logged[0].endswith(hex_preview(refused.request.content))


async def test_broken_xml_and_no_plate_are_each_logged_with_their_bytes(
    listener, caplog
):
    server, _ = listener
    camera = SimulatedCamera(server.url("front"))
    caplog.set_level(logging.WARNING, logger="zhichao.transports.camera_listener")

    broken = await camera.post_raw(*BROKEN_XML)
    no_plate = await camera.post(None, when=WHEN)
    again = await camera.post(None, when=WHEN)  # same kind, same window
    await server.stop()  # the held-back post is summarised

    assert [r.status_code for r in (broken, no_plate, again)] == [400, 400, 400]
    assert server.stats["rejected"] == 3
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 3, logged
    assert "broken XML" in logged[0]
    assert logged[0].endswith(hex_preview(BROKEN_XML[0]))
    assert "no plate" in logged[1]
    assert logged[1].endswith(hex_preview(no_plate.request.content))
    assert "1 more posts without a plate from camera front" in logged[2]


async def test_oversized_body_is_413(listener):
    server, _ = listener
    camera = SimulatedCamera(server.url("front"))

    response = await camera.post_raw(b"x" * (2 * 1024 * 1024), "application/xml")

    assert response.status_code == 413
    assert server.stats["too_large"] == 1


async def test_unknown_camera_is_404():
    server = CameraListener(parse_anpr_post, lambda cam, read: None, cameras={"front"})
    await server.start()
    try:
        response = await SimulatedCamera(server.url("side")).post("京A12345")
    finally:
        await server.stop()

    assert response.status_code == 404


async def test_slow_callback_does_not_hold_the_answer():
    release = asyncio.Event()
    delivered = []

    async def slow(camera_id, read):
        await release.wait()
        delivered.append(read.plate)

    server = CameraListener(parse_anpr_post, slow)
    await server.start()
    camera = SimulatedCamera(server.url("front"))
    try:
        response = await asyncio.wait_for(camera.post("京A12345", when=WHEN), 3)
        release.set()
    finally:
        await server.stop()  # waits for the pending callback

    assert response.status_code == 200
    assert delivered == ["京A12345"]
