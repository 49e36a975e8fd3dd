"""The vehicle register from the platform to the lane's flags, end to end: a
platform under uvicorn holding vehicles and pairs, a station that downloads
the register, a pty indicator, HTTP cameras and a TCP axle identifier; the
flags on the stored and the uploaded record; the register after a restart
without the platform."""

import asyncio
import functools
import random

import httpx
import pytest

from zhichao.platform.db import make_engine, make_sessionmaker, session_scope
from zhichao.platform.models import VehiclePair
from zhichao.platform.vehicles import VehicleData, save_vehicle
from zhichao.protocols.readings import PlateColor
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
from zhichao.station.runtime import Station

UNIT = UNITS[0]  # 泽州县, city of Jincheng


def _combination(front: str, rear: str, axles: int, gross_kg: int) -> Vehicle:
    groups = {5: (1, 1, 3), 6: (1, 2, 3)}[axles]
    return Vehicle(
        front_plate=front,
        rear_plate=rear,
        color=PlateColor.YELLOW,
        axles=axles,
        groups=groups,
        kind="combination",
        gross_kg=gross_kg,
        unloaded_kg=gross_kg,
    )


# registered with 6 axles, and known to pull 鲁A1234挂; counted with 5 here
KNOWN = _combination("晋E12345", "鲁A1234挂", 5, 40_000)
# 晋E6789挂 is known with 晋E22222, not with this tractor
OTHER_TRACTOR = _combination("晋E33333", "晋E6789挂", 6, 45_000)
# in no vehicle and no pair of the register
STRANGER = _combination("晋E77777", "晋E7777挂", 5, 40_000)


def _seed_register(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            save_vehicle(
                session,
                VehicleData("晋E12345", PlateColor.YELLOW, 6, region_code="140525"),
            )
            for tractor, trailer in (
                ("晋E12345", "鲁A1234挂"),
                ("晋E22222", "晋E6789挂"),
            ):
                session.add(
                    VehiclePair(
                        tractor_plate=tractor, trailer_plate=trailer, region_code=None
                    )
                )
    finally:
        engine.dispose()


async def _until(predicate, what: str, timeout_s: float = 30.0) -> None:
    for _ in range(int(timeout_s / 0.1)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _uploaded(platform: PlatformThread, record_ids: set[str]) -> dict:
    """The platform's rows of ``record_ids``, once they have all arrived."""
    async with httpx.AsyncClient(headers=platform.auth_headers) as client:
        for _ in range(120):
            answer = await client.get(f"{platform.url}/api/v1/records")
            assert answer.status_code == 200, answer.text
            rows = {r["record_id"]: r for r in answer.json()["records"]}
            if record_ids <= set(rows):
                return rows
            await asyncio.sleep(0.25)
    raise AssertionError(f"records not on the platform: {record_ids - set(rows)}")


@pytest.fixture
async def synced(tmp_path):
    """A platform with the register, and a lane whose station has fetched it."""
    db_url = f"sqlite:///{tmp_path / 'platform.db'}"
    platform = PlatformThread(
        db_url, tmp_path / "evidence", "127.0.0.1", free_port(), require_enrolment=True
    )
    register_units(db_url, [UNIT])
    _seed_register(db_url)
    await platform.start()
    lane = await start_lane(
        UNIT,
        platform.url,
        tmp_path / "stations",
        random.Random(11),
        settings_extra={"upload": {"backoff_initial_s": 0.05, "backoff_max_s": 0.5}},
        enrol=functools.partial(enrol_lanes, db_url),
    )
    register = lane.station.register
    await _until(lambda: register.index.vehicle_count == 1, "the register download")
    yield lane, platform
    await stop_lane(lane)
    await platform.stop()


async def test_the_register_s_flags_reach_the_stored_and_uploaded_records(synced):
    lane, platform = synced
    assert lane.station.register.index.pair_count == 2

    known = await weigh(lane, KNOWN, KNOWN.gross_kg)
    other = await weigh(lane, OTHER_TRACTOR, OTHER_TRACTOR.gross_kg)
    stranger = await weigh(lane, STRANGER, STRANGER.gross_kg)

    assert known["axles"] == 5
    assert "axle_mismatch" in known["flags"]
    assert "unknown_pair" not in known["flags"]  # the pair is a known one
    assert "unknown_pair" in other["flags"]
    assert "axle_mismatch" not in other["flags"]  # 晋E33333 is not registered
    for flag in ("axle_mismatch", "unknown_pair", "plate_mismatch"):
        assert flag not in stranger["flags"]

    rows = await _uploaded(platform, {r["record_id"] for r in (known, other, stranger)})
    assert "axle_mismatch" in rows[known["record_id"]]["flags"]
    assert "unknown_pair" in rows[other["record_id"]]["flags"]
    assert not {"axle_mismatch", "unknown_pair"} & set(
        rows[stranger["record_id"]]["flags"]
    )


async def test_the_register_survives_a_restart_without_the_platform(synced):
    lane, platform = synced
    await platform.stop()
    settings = lane.station.settings
    await lane.station.stop()

    lane.station = Station(settings)
    await lane.station.start()
    sync = lane.station.register_sync
    await _until(lambda: sync.stats["failures"] >= 1, "a failed download")

    lookups = lane.runtime.lookups
    assert lookups.known_axles("晋E12345") == 6
    assert lookups.known_pairs("晋E33333", "晋E6789挂") is False
    record = await weigh(lane, KNOWN, KNOWN.gross_kg)
    assert record is not None
    assert "axle_mismatch" in record["flags"]
    assert lane.station.store.record_status(record["record_id"]) == "pending"
