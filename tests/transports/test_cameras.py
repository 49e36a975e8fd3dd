"""open_camera: options checked by kind; every kind delivering over real HTTP."""

import asyncio
import logging
from datetime import datetime, timedelta, timezone

import pytest

from zhichao.errors import ConfigError
from zhichao.sim.devices.camera import (
    SimulatedCamera,
    SimulatedDahuaCamera,
    SimulatedVzenithCamera,
)
from zhichao.transports.camera_listener import CameraListener
from zhichao.transports.cameras import (
    CameraOptions,
    PushCamera,
    check_camera_options,
    open_camera,
)
from zhichao.transports.dahua_stream import DahuaStream

BEIJING = timezone(timedelta(hours=8))
WHEN = datetime(2026, 6, 18, 6, 6, 30, 499000, tzinfo=BEIJING)
DAHUA = {
    "kind": "dahua",
    "url": "http://192.0.2.10/cgi-bin/snapManager.cgi?action=attachFileProc",
    "username": "admin",
    "password": "secret",
}
PLATES = ["粤B12345D", "京AD12345", "鲁A1234挂"]


class Plates:
    def __init__(self):
        self.seen = []

    async def __call__(self, camera_id, read):
        self.seen.append((camera_id, read.plate, read.camera_time))

    async def wait_for(self, count, timeout=10):
        async def enough():
            while len(self.seen) < count:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(enough(), timeout)


@pytest.mark.parametrize(
    ("camera_id", "options", "message"),
    [
        ("front", {}, "cameras.front.kind: required"),
        ("front", {"kind": "axis"}, "cameras.front.kind: 'axis' is not one of"),
        ("front", {"kind": "dahua"}, 'cameras.front.url: required for kind "dahua"'),
        (
            "rear",
            {**DAHUA, "username": None},
            'cameras.rear.username: required for kind "dahua"',
        ),
        (
            "rear",
            {**DAHUA, "password": ""},
            "cameras.rear.password: must be a non-empty",
        ),
        ("rear", {**DAHUA, "url": "ftp://x/"}, "cameras.rear.url: 'ftp://x/' is not"),
        ("rear", {**DAHUA, "url": "http:///x"}, "cameras.rear.url:"),
        (
            "rear",
            {**DAHUA, "read_timeout_s": 0},
            "cameras.rear.read_timeout_s: must be a number",
        ),
        (
            "rear",
            {**DAHUA, "reconnect_min_s": True},
            "cameras.rear.reconnect_min_s: must be a number",
        ),
        (
            "rear",
            {**DAHUA, "reconnect_min_s": 10, "reconnect_max_s": 5},
            "cameras.rear.reconnect_max_s: below",
        ),
        (
            "gate",
            {"kind": "hikvision", "url": "http://x/"},
            "cameras.gate.url: unknown",
        ),
        ("gate", {"kind": "vzenith", "zone": "Mars/Olympus"}, "unknown zone"),
        ("gate", {"kind": "vzenith", "zone": 8}, "cameras.gate.zone: a zone name"),
    ],
)
def test_bad_options_name_the_key(camera_id, options, message):
    with pytest.raises(ConfigError) as caught:
        open_camera(camera_id, options, lambda cam, read: None)
    assert message in str(caught.value)


def test_checked_options_and_defaults():
    checked = check_camera_options("front", {**DAHUA, "zone": "Asia/Urumqi"})

    assert isinstance(checked, CameraOptions)
    assert (checked.kind, checked.url, checked.username) == (
        "dahua",
        DAHUA["url"],
        "admin",
    )
    assert str(checked.zone) == "Asia/Urumqi"
    assert (checked.reconnect_min_s, checked.reconnect_max_s) == (1.0, 30.0)
    assert str(check_camera_options("gate", {"kind": "vzenith"}).zone) == (
        "Asia/Shanghai"
    )


def test_kinds_give_their_sources():
    listener = CameraListener()
    assert isinstance(open_camera("f", DAHUA, print), DahuaStream)
    source = open_camera("g", {"kind": "vzenith"}, print, listener=listener)
    assert isinstance(source, PushCamera) and source.kind == "vzenith"
    with pytest.raises(ValueError, match="listener"):
        open_camera("h", {"kind": "hikvision"}, print)


async def test_every_kind_delivers_the_plates_unchanged():
    plates = Plates()
    listener = CameraListener(port=0)
    dahua_sim = SimulatedDahuaCamera(heartbeat_s=0.2)
    await listener.start()
    await dahua_sim.start()
    dahua_options = {
        "kind": "dahua",
        "url": dahua_sim.url,
        "username": dahua_sim.username,
        "password": dahua_sim.password,
        "reconnect_min_s": 0.05,
    }
    sources = [
        open_camera("hik", {"kind": "hikvision"}, plates, listener=listener),
        open_camera("vz", {"kind": "vzenith"}, plates, listener=listener),
        open_camera("dh", dahua_options, plates),
    ]
    try:
        for source in sources:
            await source.start()
        await asyncio.wait_for(sources[2].connected.wait(), 10)
        hik = SimulatedCamera(sources[0].url, name="hik")
        vz = SimulatedVzenithCamera(sources[1].url, name="vz")
        for plate in PLATES:
            assert (await hik.post(plate, when=WHEN)).status_code == 200
            assert (await vz.post(plate, when=WHEN)).status_code == 200
            dahua_sim.snap(plate, when=WHEN)
        await plates.wait_for(9)
    finally:
        for source in sources:
            await source.stop()
        await dahua_sim.stop()
        await listener.stop()

    for camera_id in ("hik", "vz", "dh"):
        seen = [(p, t) for cam, p, t in plates.seen if cam == camera_id]
        assert seen == [(p, WHEN) for p in PLATES], camera_id
    assert sources[0].stats["events"] == 3 and sources[1].stats["events"] == 3


async def test_listener_serves_each_camera_with_its_own_parser(caplog):
    caplog.set_level(logging.WARNING, logger="zhichao.transports.camera_listener")
    plates = Plates()
    listener = CameraListener(port=0)
    await listener.start()
    hik = open_camera("hik", {"kind": "hikvision"}, plates, listener=listener)
    vz = open_camera("vz", {"kind": "vzenith"}, plates, listener=listener)
    await hik.start()
    await vz.start()
    try:
        # each camera's body sent to the other camera's address is refused
        wrong = SimulatedVzenithCamera(hik.url)
        refused = await wrong.post("晋E12345", when=WHEN)
        other = SimulatedCamera(vz.url)
        refused_too = await other.post("晋E12345", when=WHEN)
        unknown = await SimulatedCamera(listener.url("side")).post("晋E12345")
        await vz.stop()
        gone = await SimulatedVzenithCamera(listener.url("vz")).post("晋E12345")
        accepted = await SimulatedCamera(hik.url).post("晋E12345", when=WHEN)
        await plates.wait_for(1)
    finally:
        await hik.stop()
        await listener.stop()

    assert (refused.status_code, refused_too.status_code) == (400, 400)
    assert (unknown.status_code, gone.status_code) == (404, 404)
    assert accepted.status_code == 200
    assert [(cam, p) for cam, p, _ in plates.seen] == [("hik", "晋E12345")]
    assert listener.camera_stats["hik"] == {"events": 1, "rejected": 1}
    assert listener.camera_stats["vz"]["rejected"] == 1


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b'{"AlarmInfoPlate": ', "application/json", "broken JSON"),
        (b'{"AlarmInfoPlate": {}}', "application/json", "without AlarmInfoPlate"),
        (None, "", "no plate"),
        ("晋E12", "", "晋E12"),
    ],
    ids=["broken", "no-result", "no-plate", "bad-plate"],
)
async def test_vzenith_bad_posts_are_400_logged_once_and_counted(
    body, content_type, message, caplog
):
    caplog.set_level(logging.WARNING, logger="zhichao.transports.camera_listener")
    plates = Plates()
    listener = CameraListener(port=0)
    await listener.start()
    source = open_camera("vz", {"kind": "vzenith"}, plates, listener=listener)
    await source.start()
    camera = SimulatedVzenithCamera(source.url)
    try:
        if isinstance(body, bytes):
            refused = await camera.post_raw(body, content_type)
        else:
            refused = await camera.post(body, when=WHEN)
        accepted = await camera.post("鲁A1234挂", when=WHEN)
        await plates.wait_for(1)
    finally:
        await listener.stop()

    assert refused.status_code == 400 and message in refused.text
    assert accepted.status_code == 200
    assert source.stats == {"events": 1, "rejected": 1}
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 1 and "camera vz post refused" in logged[0]
