"""``zhichao demo``: a county platform and simulated source units, all real bytes.

Everything runs on this machine: the platform on SQLite under uvicorn; per
source unit one station with one lane, whose indicator streams XK3190 frames
over a pseudo-terminal, whose ANPR cameras push Hikvision multipart events over
HTTP, whose axle identifier sends lines over TCP, whose LED screen takes GBK
text over TCP and whose barrier relay is a Modbus TCP server.
"""

import asyncio
import contextlib
import functools
import logging
import random
import shutil
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from zhichao.protocols.readings import PlateColor
from zhichao.sim.devices.axle import SimulatedAxleCounter
from zhichao.sim.devices.camera import (
    SimulatedCamera,
    SimulatedDahuaCamera,
    SimulatedVzenithCamera,
)
from zhichao.sim.devices.display import SimulatedDisplay
from zhichao.sim.devices.relay import SimulatedRelay
from zhichao.sim.devices.scale import SimulatedIndicator, WeightModel, open_pty_pair
from zhichao.sim.traffic import Vehicle, next_vehicle
from zhichao.station.config import parse_settings
from zhichao.station.keys import init_keys
from zhichao.station.runtime import LaneRuntime, Station

logger = logging.getLogger(__name__)

DECISION_TIMEOUT_S = 40.0


@dataclass(frozen=True)
class DemoUnit:
    """A simulated source unit (源头单位) with one weighbridge lane.

    Units own different brands of equipment, as a county's units do: the
    indicator protocol, the front camera's kind and the screen differ.
    """

    station_code: str
    name: str
    kind: str
    county_code: str
    scale_protocol: str = "xk3190-tf0"
    front_camera: str = "hikvision"  # hikvision | vzenith | dahua
    display: str = "text"  # text | onbon


UNITS = (
    DemoUnit("1405250001", "泽州县示范煤矿（模拟）", "coal_mine", "140525"),
    DemoUnit(
        "1405810001",
        "高平市示范洗煤厂（模拟）",
        "washery",
        "140581",
        "toledo-continuous",
        "vzenith",
        "onbon",
    ),
    DemoUnit(
        "1405220001",
        "阳城县示范石料厂（模拟）",
        "quarry",
        "140522",
        "ascii-line",
        "dahua",
    ),
    DemoUnit(
        "1405210001", "沁水县示范煤矿（模拟）", "coal_mine", "140521", "xk3190-a12"
    ),
    DemoUnit(
        "1405240001",
        "陵川县示范砂石厂（模拟）",
        "sand_gravel",
        "140524",
        "xk3190-tf1",
        "hikvision",
        "onbon",
    ),
)


@dataclass
class SimulatedLane:
    """The devices of one simulated lane and the station that runs it."""

    unit: DemoUnit
    indicator: SimulatedIndicator
    relay: SimulatedRelay
    display: SimulatedDisplay
    axles: SimulatedAxleCounter
    front: SimulatedCamera | SimulatedDahuaCamera | None = None
    rear: SimulatedCamera | None = None
    station: Station | None = None
    passes: int = field(default=0)

    @property
    def runtime(self) -> LaneRuntime:
        return self.station.lanes[0]


class PlatformThread:
    """The platform app under uvicorn in a thread of its own."""

    def __init__(
        self,
        database_url: str,
        evidence_dir: Path,
        host: str,
        port: int,
        **settings,
    ):
        from zhichao.platform.app import create_app
        from zhichao.platform.migrations import run_migrations
        from zhichao.platform.settings import load_settings

        run_migrations(database_url)
        self.settings = load_settings(
            None, database_url=database_url, evidence_dir=evidence_dir, **settings
        )
        self.admin_username, self.admin_password, token = _demo_admin(database_url)
        # for programs that read the platform's API as a remote monitor would
        self.auth_headers = {"authorization": f"Bearer {token}"}
        app = create_app(self.settings)
        config = uvicorn.Config(app, host=host, port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.host, self.port = host, port
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the platform could not start on port {self.port}")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.to_thread(self._thread.join, 10)


def _demo_admin(database_url: str) -> tuple[str, str, str]:
    """An administrator of the whole platform with a generated password, and a
    read token of theirs: (username, password, token)."""
    import secrets

    from zhichao.platform.auth import TOKEN_SCOPES, create_user, issue_token
    from zhichao.platform.db import make_engine, make_sessionmaker, session_scope

    password = secrets.token_urlsafe(12)
    engine = make_engine(database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            user = create_user(session, "admin", password, "admin", "000000")
            token, _ = issue_token(session, user.id, "demo", list(TOKEN_SCOPES), 2)
    finally:
        engine.dispose()
    return "admin", password, token


def register_units(database_url: str, units) -> None:
    from zhichao.platform.db import make_engine, make_sessionmaker, session_scope
    from zhichao.platform.services import register_station

    engine = make_engine(database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            for unit in units:
                register_station(
                    session,
                    unit.station_code,
                    "出场称重站",
                    unit.name,
                    unit.kind,
                    unit.county_code,
                )
    finally:
        engine.dispose()


def enrol_lanes(database_url: str, enrolments) -> None:
    """Register lanes' enrolment codes on the platform, as an officer would."""
    from zhichao.platform.db import make_engine, make_sessionmaker, session_scope
    from zhichao.platform.registry import enrol_lane

    engine = make_engine(database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            for enrolment in enrolments:
                enrol_lane(session, enrolment, via="demo")
    finally:
        engine.dispose()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port(host: str = "127.0.0.1", preferred: int = 0) -> int:
    """``preferred`` if it is free, else a free port outside the ephemeral range.

    A port the kernel hands out for outgoing connections must not be chosen
    for a server that starts later: a client connecting to it before the
    server is up may be given that same port as its own source port and
    connect to itself, and the server then cannot bind.

    ``preferred`` is probed as the servers bind it, with SO_REUSEADDR: the
    connections a demo just stopped leave in TIME_WAIT do not make its port
    look taken, only a server listening on it does.
    """
    if preferred:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, preferred))
                return preferred
            except OSError:
                pass
    low, high = _ephemeral_range()
    candidates = [p for p in range(10_000, 65_536) if not low <= p <= high]
    for port in random.sample(candidates, min(200, len(candidates))):
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port outside the ephemeral range")


async def start_lane(
    unit: DemoUnit,
    platform_url: str,
    data_dir: Path,
    rng,
    settings_extra: dict | None = None,
    enrol=None,
):
    """Start one unit's simulated devices, then the station that uses them.

    ``settings_extra`` adds or replaces top-level station settings (tests use it
    for short upload back-offs or a small photo quota). ``enrol``, when given,
    receives the lanes' enrolments (``zhichao.chain.Enrolment``) before the
    station starts, as a county officer would register their codes.
    """
    master, pty_path = open_pty_pair()
    indicator = SimulatedIndicator(
        master, rate=10.0, model=WeightModel(rng=rng), protocol=unit.scale_protocol
    )
    relay, axles = SimulatedRelay(), SimulatedAxleCounter()
    display = SimulatedDisplay(protocol=unit.display)
    dahua = SimulatedDahuaCamera(name=f"{unit.station_code}-front")
    devices = (relay, display, axles) + (
        (dahua,) if unit.front_camera == "dahua" else ()
    )
    for device in devices:
        await device.start()
    indicator.start()
    lane = SimulatedLane(unit, indicator, relay, display, axles)
    front: str | dict = "front"
    if unit.front_camera == "vzenith":
        front = {"id": "front", "kind": "vzenith"}
    elif unit.front_camera == "dahua":
        front = {
            "id": "front",
            "kind": "dahua",
            "url": dahua.url,
            "username": dahua.username,
            "password": dahua.password,
        }

    settings = parse_settings(
        {
            "station_code": unit.station_code,
            "name": unit.name,
            "platform_url": platform_url,
            "data_dir": str(data_dir / unit.station_code),
            "camera_listen": {"host": "127.0.0.1", "port": free_port("127.0.0.1", 0)},
            "lanes": [
                {
                    "lane_no": "01",
                    "scale": {"port": pty_path, "protocol": unit.scale_protocol},
                    "cameras": {"front": front, "rear": "rear"},
                    "axle": {"host": "127.0.0.1", "port": axles.port},
                    "display": {
                        "kind": f"{unit.display}-tcp",
                        "host": "127.0.0.1",
                        "port": display.port,
                    },
                    "barrier": {
                        "host": "127.0.0.1",
                        "port": relay.port,
                        "open_coil": 0,
                        "pulse_s": 1.0,
                    },
                }
            ],
        }
        | (settings_extra or {}),
        source=f"demo unit {unit.station_code}",
    )
    keys = init_keys(settings)  # one signing key per lane, kept if already there
    if enrol is not None:
        enrol([key.enrolment for key in keys])
    lane.station = Station(settings)
    await lane.station.start()
    base = f"http://127.0.0.1:{lane.station.cameras.port}/cameras"
    name = f"{unit.station_code}-front"
    if unit.front_camera == "dahua":
        lane.front = dahua
        await asyncio.wait_for(dahua.client_joined.wait(), timeout=10)
    elif unit.front_camera == "vzenith":
        lane.front = SimulatedVzenithCamera(f"{base}/front", name=name)
    else:
        lane.front = SimulatedCamera(f"{base}/front", name=name)
    lane.rear = SimulatedCamera(f"{base}/rear", name=f"{unit.station_code}-rear")
    return lane


async def stop_lane(lane: SimulatedLane) -> None:
    if lane.station:
        await lane.station.stop()
    await lane.indicator.stop()
    lane.indicator.close()
    for device in (lane.relay, lane.display, lane.axles):
        await device.stop()
    if isinstance(lane.front, SimulatedDahuaCamera):
        await lane.front.stop()


async def weigh(lane: SimulatedLane, vehicle: Vehicle, gross_kg: int) -> dict | None:
    """Drive one vehicle on, wait for the lane's decision, return its record."""
    before = lane.runtime.last_record
    if isinstance(lane.front, SimulatedDahuaCamera):
        lane.front.snap(vehicle.front_plate, color=vehicle.color)
    else:
        await lane.front.post(vehicle.front_plate, color=vehicle.color)
    await lane.rear.post(vehicle.rear_plate, color=PlateColor.YELLOW)
    await lane.axles.vehicle_passed(vehicle.axles, vehicle.groups, vehicle.tyres)
    lane.indicator.drive_on(gross_kg, ramp_s=3.0)

    waited = 0.0
    while lane.runtime.last_record is before and waited < DECISION_TIMEOUT_S:
        await asyncio.sleep(0.2)
        waited += 0.2
    record = lane.runtime.last_record
    if record is before:
        logger.warning("%s: no decision for %s", lane.unit.name, vehicle.front_plate)
        record = None
    await asyncio.sleep(2.5)  # barrier opens, or the driver reads the screen
    lane.indicator.drive_off(ramp_s=2.0)
    await asyncio.sleep(3.0)
    return record


async def drive_traffic(
    lane: SimulatedLane, rng: random.Random, early_overload: bool = False
) -> None:
    """Trucks, one after another, for as long as the demo runs.

    With ``early_overload`` the lane's second truck is overloaded, so the held
    and re-weighed path shows within the demo's first minute.
    """
    await asyncio.sleep(rng.uniform(0.5, 4.0))
    while True:
        forced = True if early_overload and lane.passes == 1 else None
        vehicle = next_vehicle(rng, overloaded=forced)
        record = await weigh(lane, vehicle, vehicle.gross_kg)
        lane.passes += 1
        if record and record["overloaded"]:
            await asyncio.sleep(rng.uniform(6, 12))  # unloading
            await weigh(lane, vehicle, vehicle.unloaded_kg)
            lane.passes += 1
        await asyncio.sleep(rng.uniform(3, 10))


async def run_demo(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    lanes: int = 3,
    seed: int | None = None,
    data_dir: Path = Path("var/demo"),
    duration_s: float | None = None,
    on_ready=print,
) -> list[SimulatedLane]:
    """Run the demo until cancelled (or for ``duration_s``)."""
    if not 1 <= lanes <= len(UNITS):
        raise ValueError(f"lanes must be 1 to {len(UNITS)}")
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    rng = random.Random(seed)
    units = UNITS[:lanes]

    database_url = f"sqlite:///{data_dir / 'platform.db'}"
    platform = PlatformThread(
        database_url,
        data_dir / "evidence",
        host,
        free_port(host, port),
        require_enrolment=True,
    )
    register_units(database_url, units)
    await platform.start()
    started: list[SimulatedLane] = []
    tasks: list[asyncio.Task] = []
    try:
        for unit in units:
            lane = await start_lane(
                unit,
                platform.url,
                data_dir / "stations",
                rng,
                enrol=functools.partial(enrol_lanes, database_url),
            )
            started.append(lane)
            lane_rng = random.Random(rng.random())
            early = len(started) == 1
            tasks.append(asyncio.create_task(drive_traffic(lane, lane_rng, early)))
        on_ready(
            platform.url,
            f"登录 sign in: {platform.admin_username} / {platform.admin_password}",
        )
        if duration_s is None:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(duration_s)
            await _drain(started)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for lane in started:
            await stop_lane(lane)
        await platform.stop()
    return started


async def _drain(lanes: list[SimulatedLane], timeout_s: float = 10.0) -> None:
    """Give the uploaders a moment to send what is queued."""
    for _ in range(int(timeout_s / 0.2)):
        depth = [lane.station.store.queue_depth() for lane in lanes]
        if all(d["records"] == 0 and d["photos"] == 0 for d in depth):
            return
        for lane in lanes:
            lane.station.uploader.wake()
        await asyncio.sleep(0.2)
