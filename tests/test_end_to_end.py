"""One lane end to end: pty indicator, HTTP cameras, TCP axle counter and screen,
Modbus relay, SQLite station store, HTTP upload, platform on SQLite and PostgreSQL.
"""

import asyncio
import functools
import logging
import random

import httpx
import pytest

from zhichao.sim.demo import (
    UNITS,
    PlatformThread,
    enrol_lanes,
    free_port,
    register_units,
    start_lane,
    stop_lane,
    weigh,
)
from zhichao.sim.traffic import Vehicle

TRUCK = Vehicle(
    front_plate="晋E12345",
    rear_plate="鲁A1234挂",
    color="yellow",
    axles=6,
    groups=(1, 2, 3),
    kind="combination",
    gross_kg=52_340,
    unloaded_kg=48_600,
    tyres="SDDWWW",  # wide single trailer tyres: reported, and lower nothing
)


async def _platform_records(
    platform: PlatformThread, count: int, timeout_s: float = 20.0
) -> list:
    """The platform's passes through its read API, with an officer's token."""
    async with httpx.AsyncClient(headers=platform.auth_headers) as client:
        for _ in range(int(timeout_s / 0.25)):
            answer = await client.get(f"{platform.url}/api/v1/records")
            assert answer.status_code == 200, answer.text
            if len(answer.json()["records"]) >= count:
                return answer.json()["records"]
            await asyncio.sleep(0.25)
    raise AssertionError(f"platform has fewer than {count} records")


async def _photo_on_platform(url: str, sha256: str, timeout_s: float = 10.0) -> bool:
    async with httpx.AsyncClient() as client:
        for _ in range(int(timeout_s / 0.25)):
            if (await client.head(f"{url}/api/v1/photos/{sha256}")).status_code == 200:
                return True
            await asyncio.sleep(0.25)
    return False


def _stored(platform: PlatformThread, record_id: str) -> tuple[str, dict]:
    """The platform's verification result and stored copy of a record."""
    import sqlalchemy as sa

    engine = sa.create_engine(platform.settings.database_url)
    with engine.connect() as conn:
        verification, raw = conn.execute(
            sa.select(sa.column("verification"), sa.column("raw", sa.JSON()))
            .select_from(sa.table("weighing_records"))
            .where(sa.column("record_id") == record_id)
        ).one()
    engine.dispose()
    return verification, raw


def _verification(platform: PlatformThread, record_id: str) -> str:
    return _stored(platform, record_id)[0]


def _screen_with(lane, text: str) -> tuple[str, ...]:
    for screen in reversed(lane.display.history):
        if text in screen:
            return screen
    raise AssertionError(f"no screen showed {text!r}: {lane.display.history}")


@pytest.fixture
async def lane_and_platform(db_url, tmp_path):
    unit = UNITS[0]
    platform = PlatformThread(
        db_url,
        tmp_path / "evidence",
        "127.0.0.1",
        free_port("127.0.0.1", 0),
        require_enrolment=True,
    )
    register_units(db_url, [unit])
    await platform.start()
    lane = await start_lane(
        unit,
        platform.url,
        tmp_path / "stations",
        random.Random(7),
        enrol=functools.partial(enrol_lanes, db_url),
    )
    yield lane, platform
    await stop_lane(lane)
    await platform.stop()


async def test_overloaded_truck_is_held_then_reweighed_and_released(
    lane_and_platform,
):
    lane, platform = lane_and_platform

    held = await weigh(lane, TRUCK, TRUCK.gross_kg)

    assert held is not None, "the lane made no decision"
    assert held["verdict"] == "held"
    assert held["overloaded"] is True
    assert held["limit_kg"] == 49_000
    assert held["vehicle_kind"] == "combination"
    assert held["axles"] == 6
    assert (held["axle_groups"], held["axle_tyres"]) == ([1, 2, 3], "SDDWWW")
    assert "wide_tyres" in held["flags"]
    assert held["front_plate"] == "晋E12345"
    assert held["rear_plate"] == "鲁A1234挂"
    assert abs(held["gross_kg"] - TRUCK.gross_kg) <= 20
    assert lane.relay.writes == [], "the barrier must not open for an overloaded truck"
    held_screen = _screen_with(lane, "请退回卸载")
    assert any(line.startswith("超限") for line in held_screen)

    released = await weigh(lane, TRUCK, TRUCK.unloaded_kg)

    assert released["verdict"] == "released"
    assert released["reweigh_of"] == held["record_id"]
    await lane.relay.wait_for_writes(2, timeout=5)
    assert [w.on for w in lane.relay.writes[:2]] == [True, False]
    assert _screen_with(lane, "正常 请通行")[0] == "晋E12345"

    rows = await _platform_records(platform, 2)
    by_id = {row["record_id"]: row for row in rows}
    assert by_id[held["record_id"]]["verdict"] == "held"
    assert by_id[held["record_id"]]["overloaded"] is True
    assert by_id[held["record_id"]]["over_kg"] == held["gross_kg"] - 49_000
    assert by_id[held["record_id"]]["rear_plate"] == "鲁A1234挂"
    assert by_id[released["record_id"]]["verdict"] == "released"
    for photo in held["photos"]:
        assert await _photo_on_platform(platform.url, photo["sha256"])
    assert len(held["photos"]) >= 2

    verification, stored = _stored(platform, held["record_id"])
    assert verification == "verified"  # the signature covers the tyres
    assert (stored["axle_groups"], stored["axle_tyres"]) == ([1, 2, 3], "SDDWWW")
    assert _verification(platform, released["record_id"]) == "verified"

    async with httpx.AsyncClient(headers=platform.auth_headers) as client:
        page = await client.get(f"{platform.url}/records/{held['record_id']}")
    assert page.status_code == 200
    assert "鲁A1234挂" in page.text
    assert "第三条" in page.text  # the basis of the verdict is shown
    assert "加宽单胎" in page.text  # and the tyres it was judged with


async def _until(condition, timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.1)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


def _bad_input_lines(caplog) -> list[str]:
    loggers = ("zhichao.transports.stream_reader", "zhichao.transports.camera_listener")
    return [r.getMessage() for r in caplog.records if r.name in loggers]


async def test_bad_device_input_is_counted_and_the_lane_keeps_running(
    lane_and_platform, caplog
):
    lane, platform = lane_and_platform
    reader = lane.runtime.scale_reader
    cameras = lane.station.cameras
    caplog.set_level(logging.WARNING, logger="zhichao.transports")
    await _until(lambda: reader.stats["frames"] > 0)
    bad_frames = reader.stats["bad_frames"]
    discarded = reader.stats["discarded_bytes"]
    rejected = cameras.stats["rejected"]

    lane.indicator.inject(b"\x02+0\xff\xfe garbage \x00\x01")
    lane.indicator.inject_bad_checksum()
    async with httpx.AsyncClient() as client:
        broken = await client.post(
            lane.front.url,
            content=b"<EventNotificationAlert><ANPR>",
            headers={"Content-Type": "application/xml"},
        )
    no_plate = await lane.front.post_raw(
        *lane.front.event(None)  # a camera event that carries no plate
    )
    await _until(lambda: reader.stats["bad_frames"] > bad_frames)
    await _until(lambda: any("discarded" in m for m in _bad_input_lines(caplog)))

    # each refused and counted ...
    assert (broken.status_code, no_plate.status_code) == (400, 400)
    assert cameras.stats["rejected"] == rejected + 2
    assert reader.stats["bad_frames"] == bad_frames + 1
    assert reader.stats["discarded_bytes"] >= discarded + 16
    # ... and each logged once, with its raw bytes as hex
    lines = _bad_input_lines(caplog)
    garbage = [m for m in lines if "lane 01 scale discarded" in m]
    xor = [m for m in lines if "lane 01 scale bad frame (XOR" in m]
    xml = [m for m in lines if "broken XML" in m]
    plate = [m for m in lines if "post refused (event carries no plate)" in m]
    assert len(garbage) == len(xor) == len(xml) == len(plate) == 1, lines
    assert "ff fe 20 67 61 72 62 61 67 65 20 00 01" in garbage[0]
    assert xor[0].endswith(" 03") and ": 02 2b " in xor[0]
    assert xml[0].endswith(b"<EventNotificationAlert><ANPR>".hex(" "))
    assert ": 2d 2d " in plate[0]  # the multipart body as it came

    record = await weigh(
        lane,
        TRUCK,
        47_000,
    )
    assert record is not None and record["verdict"] == "released"
    rows = await _platform_records(platform, 1)
    assert rows[0]["record_id"] == record["record_id"]
    assert rows[0]["gross_kg"] == record["gross_kg"]
