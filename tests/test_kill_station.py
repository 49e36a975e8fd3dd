"""Real SIGKILLs of a station process in the middle of passes and uploads.

Each trial starts the station process on the same data folder, lets it weigh
trucks and upload for a random moment, and kills it with SIGKILL. At the end a
last run drains the queue. Then: every pass the station reported stored is in
its store and on the platform exactly once, and each lane's chain is whole
(seq continuous, each prev_hash the hash of its predecessor, signatures valid).

``ZHICHAO_KILL_TRIALS`` sets the number of trials (10 by default; e.g. 500 for
a long run).
"""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from station.chain_check import assert_chain_intact
from zhichao.chain import StationKey
from zhichao.sim.demo import PlatformThread, free_port
from zhichao.station.keys import key_path
from zhichao.station.store import StationStore

TRIALS = int(os.environ.get("ZHICHAO_KILL_TRIALS", "10"))
DRIVER = Path(__file__).parent / "station" / "kill_driver.py"
STATION = "1405250001"

CONFIG = """
station_code = "{station}"
platform_url = "{url}"
data_dir = "{data}"
heartbeat_s = 0.5
photo_quota_bytes = 200000

[camera_listen]
port = {camera_port}

[upload]
batch_size = 3
backoff_initial_s = 0.02
backoff_max_s = 0.2
idle_poll_s = 0.05

[[lanes]]
lane_no = "01"
[lanes.scale]
port = "socket://127.0.0.1:{dead_port}"
[lanes.stability]
window_s = 0.2
"""


def _start(config: Path, mode: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(DRIVER), str(config), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _wait_ready(proc: subprocess.Popen, said: list[str]) -> None:
    for line in proc.stdout:
        said.append(line.strip())
        if line.startswith("ready"):
            return
    raise AssertionError(f"the station process did not start: {said[-5:]}")


@pytest.fixture
async def platform(tmp_path):
    thread = PlatformThread(
        f"sqlite:///{tmp_path / 'platform.db'}",
        tmp_path / "evidence",
        "127.0.0.1",
        free_port("127.0.0.1", 0),
    )
    await thread.start()
    yield thread
    await thread.stop()


async def test_sigkill_during_passes_and_uploads_loses_and_duplicates_nothing(
    platform, tmp_path
):
    data = tmp_path / "station"
    config = tmp_path / "station.toml"
    config.write_text(
        CONFIG.format(
            station=STATION,
            url=platform.url,
            data=data,
            dead_port=free_port("127.0.0.1", 0),
            camera_port=free_port("127.0.0.1", 0),
        ),
        encoding="utf-8",
    )
    rng = random.Random(int(os.environ.get("ZHICHAO_KILL_SEED", "4")))
    reported: list[str] = []

    for _ in range(TRIALS):
        proc = _start(config, "run")
        said: list[str] = []
        _wait_ready(proc, said)
        time.sleep(rng.uniform(0.05, 2.0))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        said += out.splitlines()
        reported += [line.split()[1] for line in said if line.startswith("stored ")]

    drain = _start(config, "drain")
    out, _ = drain.communicate(timeout=120)
    assert drain.returncode == 0 and "drained" in out, out[-2000:]

    store = StationStore(data / f"station-{STATION}.db")
    stored = store.lane_records("01")
    store.close()
    key = StationKey.load(key_path(data, "01"))
    assert_chain_intact([r.record for r in stored], key.public_key)
    stored_ids = {r.record["record_id"] for r in stored}
    passes = [r.record["record_id"] for r in stored if r.record["kind"] == "pass"]
    assert set(reported) <= stored_ids, "a pass reported stored is missing"
    assert len(reported) >= 1, "no pass was completed in any trial"
    assert all(r.status != "pending" for r in stored)

    async with httpx.AsyncClient(headers=platform.auth_headers) as client:
        rows = (await client.get(f"{platform.url}/api/v1/records?limit=500")).json()
    on_platform = [r["record_id"] for r in rows["records"]]
    assert len(on_platform) == len(set(on_platform)), "a record is duplicated"
    assert set(passes) <= set(on_platform), "a stored pass never reached the platform"
