"""A station process for kill tests: the real Station, passes driven in-process.

``python kill_driver.py CONFIG run`` starts the station (store, chain, uploader,
heartbeats, events) and weighs trucks one after another by handing the lane
weight frames and plate reads directly, printing ``stored <record_id>`` once a
pass is durably stored (the moment the barrier would open). The test kills it
with SIGKILL at random moments. ``drain`` starts the station, weighs nothing,
and exits once the platform has everything.
"""

import asyncio
import hashlib
import sys
from datetime import UTC, datetime

from zhichao.lane.events import PlateEvent, WeightEvent
from zhichao.protocols.readings import (
    Picture,
    PlateColor,
    PlateRead,
    WeightReading,
    WeightStatus,
)
from zhichao.station.config import load_settings
from zhichao.station.keys import init_keys
from zhichao.station.runtime import Station

FRAME_S = 0.02


def _weight(kg: int) -> WeightReading:
    return WeightReading(weight_kg=kg, stable=True, status=WeightStatus.OK, raw=b"")


def _read(plate: str, n: int) -> PlateRead:
    jpeg = b"\xff\xd8" + hashlib.sha256(f"{plate}-{n}".encode()).digest() * 64
    return PlateRead(
        plate=plate,
        color=PlateColor.YELLOW,
        camera_time=datetime.now(UTC),
        pictures=(Picture("plate.jpg", jpeg + b"\xff\xd9", "plate"),),
        camera="front",
    )


async def weigh(runtime, n: int) -> None:
    plate = f"晋E{n % 100000:05d}"
    before = runtime.last_record
    await runtime.dispatch(PlateEvent(_read(plate, n), "front"))
    for _ in range(40):
        await runtime.dispatch(WeightEvent(_weight(15_000 + 20 * (n % 50))))
        await asyncio.sleep(FRAME_S)
        if runtime.last_record is not before:
            break
    if runtime.last_record is not before:
        print("stored", runtime.last_record["record_id"], flush=True)
    for _ in range(3):
        await runtime.dispatch(WeightEvent(_weight(0)))
        await asyncio.sleep(FRAME_S)


async def main(config: str, mode: str) -> None:
    settings = load_settings(config)
    init_keys(settings)
    station = Station(settings)
    await station.start()
    print("ready", flush=True)
    runtime = station.lanes[0]
    if mode == "drain":
        for _ in range(600):
            depth = station.store.queue_depth()
            if depth["records"] == 0 and depth["photos"] == 0:
                break
            await asyncio.sleep(0.1)
        print("drained", station.store.queue_depth(), flush=True)
        await station.stop()
        return
    n = int(datetime.now(UTC).timestamp() * 1000) % 10_000_000
    while True:
        n += 1
        await weigh(runtime, n)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
