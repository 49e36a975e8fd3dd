"""Lane timing through the real ``LaneRuntime``, and a 4-lane station's CPU and memory.

- decision → barrier and screen: the lane is fed weight frames under a manual
  clock, so the one-second stability window costs no real time, while the store
  (SQLite, fsync), the screen (TCP) and the relay (Modbus TCP) are real. The
  latency runs from the call that hands the lane the deciding frame to the
  moment the simulated relay received "coil on" and the simulated screen
  received the decision text.
- settling → decision: a simulated indicator streams XK3190 frames over a
  pseudo-terminal at 10 and 20 frames/s; the weight counts as settled at the
  first frame after which every frame stays within one division of the weight
  the lane decided on.
  A second figure counts from the moment the simulated deck stops swinging
  (its swing under half a division; a flicker-free twin of the weight model
  gives that moment), so the window's own second and the swing's tail can be
  told apart.
- the stability detector alone, in process, on generated streams: how often
  independent ±2 e noise is accepted in a 15 s wait, the fastest creep it
  accepts at some moment (and how many of 20 starts at 20 and 50 kg/s), how
  long a weight that is already settled takes when it flickers by one division
  (a fifth or a tenth of the readings) or sits 50/50 on two readings, and how
  long a truck driven on takes, through the tail of its swing (``python -m
  bench.lane`` runs only this).
- a station process with 4 lanes at 20 frames/s (``zhichao station run``),
  trucks driven through each lane with camera posts, its CPU share and memory.
"""

import asyncio
import contextlib
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.cpu import cpu_s, memory_kib
from bench.server import free_port
from zhichao.chain import StationKey
from zhichao.lane.clock import ManualClock
from zhichao.lane.events import StoreRecord
from zhichao.lane.stability import (
    StabilityConfig,
    StabilityDetector,
    StabilityKind,
    StabilityResult,
)
from zhichao.protocols.readings import (
    AxleReading,
    PlateColor,
    PlateRead,
    WeightReading,
    WeightStatus,
)
from zhichao.sim.devices.camera import SimulatedCamera
from zhichao.sim.devices.display import SimulatedDisplay
from zhichao.sim.devices.relay import SimulatedRelay
from zhichao.sim.devices.scale import SimulatedIndicator, WeightModel, open_pty_pair
from zhichao.sim.traffic import make_plate
from zhichao.station.config import parse_settings
from zhichao.station.runtime import LaneRuntime
from zhichao.station.store import StationStore
from zhichao.station.uploader import Uploader
from zhichao.timeutil import utcnow

STATION = "1405259001"
DIVISION_KG = 20
RAMP_S = 1.5  # drive-on time in the settling benchmark
REST_SCAN_S = 6.0  # how long after the ramp to look for the end of the swing
REST_STEP_S = 0.002
GROSS_KG = 45_000  # a six-axle combination under its 49 t limit: released


class TimedDisplay(SimulatedDisplay):
    """The simulated screen, noting when each screen arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    async def _show(self, frame: bytes) -> None:
        self.times.append(asyncio.get_running_loop().time())
        await super()._show(frame)


def _quantiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "n": len(values),
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def _lane_settings(work: Path, relay, display, scale_port: str) -> tuple:
    settings = parse_settings(
        {
            "station_code": STATION,
            "platform_url": f"http://127.0.0.1:{free_port()}",
            "data_dir": str(work),
            "lanes": [
                {
                    "lane_no": "01",
                    "scale": {"port": scale_port},
                    "display": {"host": "127.0.0.1", "port": display.port},
                    "barrier": {
                        "host": "127.0.0.1",
                        "port": relay.port,
                        "pulse_s": 0.05,
                    },
                }
            ],
        }
    )
    return settings, settings.lanes[0]


def _watch_decisions(runtime: LaneRuntime, times: list[float]) -> None:
    """Note the loop time at which each deciding event reached the lane."""
    handle = runtime.lane.handle
    loop = asyncio.get_running_loop()

    def timed(event):
        started = loop.time()
        actions = handle(event)
        stores = [a for a in actions if isinstance(a, StoreRecord)]
        if stores and stores[0].record.get("kind", "pass") == "pass":
            times.append(started)
        return actions

    runtime.lane.handle = timed


async def _until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.002)
    return True


async def decision_latency(work: Path, passes: int) -> dict:
    relay, display = SimulatedRelay(), TimedDisplay()
    await relay.start()
    await display.start()
    station, lane = _lane_settings(work, relay, display, "/dev/null")
    store = StationStore(work / "decision.db")
    clock = ManualClock(start=utcnow())
    runtime = LaneRuntime(
        station,
        lane,
        store,
        Uploader(store, station.platform_url),
        clock=clock,
        key=StationKey.generate(),
    )
    decisions: list[float] = []
    _watch_decisions(runtime, decisions)
    barrier, screen = [], []
    rng = random.Random(3)
    stable = WeightReading(float(GROSS_KG), None, WeightStatus.OK, b"")
    empty = WeightReading(0.0, None, WeightStatus.OK, b"")
    try:
        await runtime.dispatch_idle_screen()
        for _ in range(passes):
            await _one_pass(runtime, clock, rng, stable, decisions)
            made = len(decisions)
            await _until(lambda made=made: sum(w.on for w in relay.writes) >= made, 5)
            decided = decisions[-1]
            on = [w.at for w in relay.writes if w.on and w.at >= decided]
            shown = [t for t in display.times if t >= decided]
            if on:
                barrier.append(on[0] - decided)
            if shown:
                screen.append(shown[0] - decided)
            await _until(
                lambda made=made: sum(not w.on for w in relay.writes) >= made, 5
            )
            clock.advance(0.1)
            await runtime.on_weight(empty)
    finally:
        await runtime.stop()
        store.close()
        await relay.stop()
        await display.stop()
    return {
        "passes": passes,
        "decision_to_barrier": _quantiles(barrier),
        "decision_to_screen": _quantiles(screen),
    }


async def _one_pass(runtime, clock, rng, stable, decisions) -> None:
    now = utcnow()
    await runtime.on_plate(PlateRead(make_plate(rng), PlateColor.YELLOW, now), "front")
    rear = make_plate(rng, trailer=True)
    await runtime.on_plate(PlateRead(rear, PlateColor.YELLOW, now), "rear")
    await runtime.on_axles(AxleReading(6, (1, 2, 3)))
    before = len(decisions)
    for _ in range(200):
        clock.advance(0.05)
        await runtime.on_weight(stable)
        if len(decisions) > before:
            return
    raise RuntimeError("the lane did not decide on a steady weight")


# -- settling to decision over a pty ---------------------------------------


async def settle_latency(work: Path, rate: float, passes: int) -> dict:
    relay, display = SimulatedRelay(), SimulatedDisplay()
    await relay.start()
    await display.start()
    master, path = open_pty_pair()
    rng = random.Random(int(rate))
    indicator = SimulatedIndicator(master, rate=rate, model=WeightModel(rng=rng))
    indicator.start()
    folder = work / f"settle-{int(rate)}"
    folder.mkdir(parents=True, exist_ok=True)
    station, lane = _lane_settings(folder, relay, display, path)
    store = StationStore(folder / "lane.db")
    runtime = LaneRuntime(
        station,
        lane,
        store,
        Uploader(store, station.platform_url),
        key=StationKey.generate(),
    )
    loop = asyncio.get_running_loop()
    frames: list[tuple[float, float | None]] = []
    original = runtime.on_weight

    async def on_weight(reading):
        frames.append((loop.time(), reading.weight_kg))
        await original(reading)

    runtime.on_weight = on_weight
    decisions: list[float] = []
    latencies, from_rest, timeouts = [], [], 0
    try:
        await runtime.start()
        _watch_decisions(runtime, decisions)
        for _ in range(passes):
            before, start = len(decisions), loop.time()
            await _one_pass_plates(runtime, rng)
            kg = rng.randrange(30_000, 48_000, DIVISION_KG)
            driven = loop.time()
            indicator.drive_on(kg, ramp_s=RAMP_S)
            rest = _rest_after(kg, driven, RAMP_S)  # a few ms, during the ramp
            if not await _until(lambda before=before: len(decisions) > before, 20):
                timeouts += 1
            else:
                gross = runtime.last_record["gross_kg"]
                settled = _settled_at(frames, start, decisions[-1], gross)
                if settled is not None:
                    latencies.append(decisions[-1] - settled)
                from_rest.append(decisions[-1] - rest)
            indicator.drive_off(ramp_s=0.5)
            await asyncio.sleep(1.5)
    finally:
        await runtime.stop()
        await indicator.stop()
        indicator.close()
        store.close()
        await relay.stop()
        await display.stop()
    return {
        "frames_per_s": rate,
        "timeouts": timeouts,
        **_quantiles(latencies),
        "from_rest": _quantiles(from_rest),
    }


async def _one_pass_plates(runtime, rng) -> None:
    now = utcnow()
    await runtime.on_plate(PlateRead(make_plate(rng), PlateColor.YELLOW, now), "front")
    await runtime.on_axles(AxleReading(6, (1, 2, 3)))


def _settled_at(frames, start: float, decided: float, gross: int) -> float | None:
    """The first frame after which every frame up to the decision is in band."""
    window = [(t, w) for t, w in frames if start <= t <= decided]
    settled = None
    for t, w in window:
        inside = w is not None and abs(w - gross) <= DIVISION_KG
        if not inside:
            settled = None
        elif settled is None:
            settled = t
    return settled


def _rest_after(kg: int, now: float, ramp_s: float) -> float:
    """When a truck driven on at ``now`` stops swinging, by a flicker-free twin.

    The model's settling after the ramp is deterministic but for its flicker:
    a twin without flicker shows exactly ``kg`` from the moment the swing is
    under half a division. The deck is empty before each drive-on.
    """
    twin = WeightModel(flicker=0.0)
    twin.set_target(kg, now, ramp_s)
    last_off = now + ramp_s
    for k in range(round(REST_SCAN_S / REST_STEP_S)):
        t = now + ramp_s + k * REST_STEP_S
        if twin.displayed(t) != kg:
            last_off = t
    return last_off + REST_STEP_S


# -- the stability detector alone, in process -----------------------------

STABILITY_WAITS = {"tiny": 20}  # waits per trial; 2000 at the other sizes
WAIT_S = 15.0  # the default stability timeout
CENTRE_KG = 49_000


def _decide(samples, config: StabilityConfig) -> StabilityResult | None:
    detector = StabilityDetector(config)
    detector.reset(samples[0][0])
    for t, kg in samples:
        result = detector.add(t, WeightReading(float(kg), None, WeightStatus.OK, b""))
        if result is not None:
            return result
    return None


def _stream(fps: int, seconds: float, weight) -> list[tuple[float, int]]:
    return [(k / fps, weight(k / fps)) for k in range(round(seconds * fps))]


def noise_acceptance(fps: int, waits: int, config: StabilityConfig) -> dict:
    """Independent noise of ±2 e: the share of 15 s waits that end stable."""
    accepted = 0
    for seed in range(waits):
        rng = random.Random(seed)
        levels = [rng.randint(-2, 2) for _ in range(round((WAIT_S + 1) * fps))]
        samples = [
            (k / fps, CENTRE_KG + DIVISION_KG * level) for k, level in enumerate(levels)
        ]
        result = _decide(samples, config)
        accepted += result.kind is StabilityKind.STABLE
    return {"waits": waits, "accepted": accepted, "share": accepted / waits}


def fastest_creep_accepted(fps: int, config: StabilityConfig) -> int | None:
    """The highest creep rate (whole kg/s) accepted at some moment of a wait.

    Each rate is tried from 20 starting points one kilogram apart, shown
    quantised to the division as an indicator would.
    """
    fastest = None
    for rate in range(5, 61):
        for offset in range(DIVISION_KG):
            samples = _stream(
                fps, WAIT_S + 1, lambda t, r=rate, o=offset: _shown(48_000 + o + r * t)
            )
            if _decide(samples, config).kind is StabilityKind.STABLE:
                fastest = rate
                break
    return fastest


def _shown(kg: float) -> int:
    return DIVISION_KG * round(kg / DIVISION_KG)


def creep_accepted(fps: int, rate: float, config: StabilityConfig) -> dict:
    """A truck creeping on at ``rate`` kg/s: how many of 20 starting points end stable.

    The starting points are one kilogram apart, shown quantised to the division.
    """
    accepted = 0
    for offset in range(DIVISION_KG):
        samples = _stream(
            fps, WAIT_S + 1, lambda t, o=offset: _shown(48_000 + o + rate * t)
        )
        accepted += _decide(samples, config).kind is StabilityKind.STABLE
    return {"starts": DIVISION_KG, "accepted": accepted}


def _timed(streams, config: StabilityConfig) -> dict:
    """Decision times of waits that start at the first sample of each stream."""
    times, timeouts = [], 0
    for samples in streams:
        result = _decide(samples, config)
        if result.kind is StabilityKind.STABLE:
            times.append(result.at - samples[0][0])
        else:
            timeouts += 1
    return {"timeouts": timeouts, **_quantiles(times)}


def settled_flicker(
    fps: int, waits: int, config: StabilityConfig, flicker: float = 0.2
) -> dict:
    """A weight already at rest that flickers as the simulated indicator does.

    ``flicker`` is the share of readings one division off, to either side at
    random (a fifth in the simulated indicator). The time to the decision
    counts from the first reading: one window is the least it can be.
    """

    def streams():
        for seed in range(waits):
            model = WeightModel(flicker=flicker, rng=random.Random(seed))
            model.settle_at(40_000)
            yield _stream(fps, WAIT_S + 1, model.displayed)

    return _timed(streams(), config)


def two_readings(
    fps: int, waits: int, config: StabilityConfig, beyond: float = 0.0
) -> dict:
    """A weight at rest on the boundary between two readings, shown 50/50.

    ``beyond`` is the share of readings one division further out, to either
    side (a flicker on top of the boundary). Timed like ``settled_flicker``.
    """

    def streams():
        for seed in range(waits):
            rng = random.Random(seed)

            def shown(_t, rng=rng):
                level = rng.random() < 0.5
                if rng.random() < beyond:
                    level = 2 if level else -1
                return 40_000 + DIVISION_KG * level

            yield _stream(fps, WAIT_S + 1, shown)

    return _timed(streams(), config)


def arrival(
    fps: int, waits: int, config: StabilityConfig, jitter_s: float = 0.0
) -> dict:
    """Trucks driven on in the simulated indicator's model, read at exact times.

    The same two figures as the pseudo-terminal benchmark, without its timing
    noise: from the first reading after which every reading stays within one
    division of the decided weight, and from the end of the swing. With
    ``jitter_s`` each reading arrives up to that much late (uniformly), as
    frames read from a serial port on a busy machine do.
    """
    in_band, from_rest, timeouts = [], [], 0
    for seed in range(waits):
        rng = random.Random(seed)
        model = WeightModel(rng=rng)
        kg = rng.randrange(30_000, 48_000, DIVISION_KG)
        rest = _rest_after(kg, 0.0, RAMP_S)
        model.set_target(kg, 0.0, RAMP_S)
        late = random.Random(-1 - seed)
        count = round((WAIT_S + 1) * fps)
        stamps = [k / fps + late.uniform(0, jitter_s) for k in range(count)]
        samples = [(t, model.displayed(t)) for t in stamps]
        result = _decide(samples, config)
        if result.kind is not StabilityKind.STABLE:
            timeouts += 1
            continue
        settled = _settled_at(samples, 0.0, result.at, result.weight_kg)
        in_band.append(result.at - settled)
        from_rest.append(result.at - rest)
    return {
        "timeouts": timeouts,
        "from_in_band": _quantiles(in_band),
        "from_rest": _quantiles(from_rest),
    }


def stability_trials(waits: int, config: StabilityConfig = StabilityConfig()) -> dict:
    """The detector's acceptance of noise and creep, and its speed, per frame rate."""
    out = {}
    trucks = min(waits, 500)
    for fps in (10, 20):
        out[f"{fps}_fps"] = {
            "iid_noise_2e": noise_acceptance(fps, waits, config),
            "fastest_creep_accepted_kg_s": fastest_creep_accepted(fps, config),
            "creep_20_kg_s": creep_accepted(fps, 20, config),
            "creep_50_kg_s": creep_accepted(fps, 50, config),
            "settled_flicker": settled_flicker(fps, trucks, config),
            "settled_flicker_10": settled_flicker(fps, trucks, config, 0.1),
            "two_readings_50_50": two_readings(fps, trucks, config),
            "two_readings_50_50_flicker_10": two_readings(fps, trucks, config, 0.1),
            "arrival": arrival(fps, trucks, config),
            "arrival_jitter_30_ms": arrival(fps, trucks, config, 0.03),
        }
    return out


# -- a station process ----------------------------------------------------


def _station_toml(work: Path, lanes: list[dict], camera_port: int) -> Path:
    lines = [
        f'station_code = "{STATION}"',
        f'platform_url = "http://127.0.0.1:{free_port()}"',
        f'data_dir = "{work / "station-data"}"',
        "",
        "[camera_listen]",
        'host = "127.0.0.1"',
        f"port = {camera_port}",
    ]
    for i, lane in enumerate(lanes, start=1):
        lines += [
            "",
            "[[lanes]]",
            f'lane_no = "{i:02d}"',
            "[lanes.scale]",
            f'port = "{lane["pty"]}"',
            "[lanes.cameras]",
            f'front = "l{i}f"',
            f'rear = "l{i}r"',
            "[lanes.display]",
            'host = "127.0.0.1"',
            f"port = {lane['display'].port}",
            "[lanes.barrier]",
            'host = "127.0.0.1"',
            f"port = {lane['relay'].port}",
            "pulse_s = 0.5",
        ]
    path = work / "station.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def station_footprint(work: Path, lane_count: int, seconds: float) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    lanes = []
    for i in range(lane_count):
        master, path = open_pty_pair()
        relay, display = SimulatedRelay(), SimulatedDisplay()
        await relay.start()
        await display.start()
        model = WeightModel(rng=random.Random(i))
        indicator = SimulatedIndicator(master, rate=20.0, model=model)
        indicator.start()
        lanes.append(
            {"pty": path, "relay": relay, "display": display, "indicator": indicator}
        )
    camera_port = free_port()
    config = _station_toml(work, lanes, camera_port)
    zhichao = [sys.executable, "-m", "zhichao"]
    subprocess.run(
        [*zhichao, "station", "init", "--config", str(config)],
        check=True,
        capture_output=True,
    )
    log = open(work / "station.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [*zhichao, "station", "run", "--config", str(config)], stdout=log, stderr=log
    )
    try:
        await asyncio.sleep(3.0)  # start-up is not part of the steady figure
        cpu0, t0 = cpu_s(proc.pid), time.perf_counter()
        traffic = [
            asyncio.create_task(_drive(lane, i + 1, camera_port))
            for i, lane in enumerate(lanes)
        ]
        await asyncio.sleep(seconds)
        for task in traffic:
            task.cancel()
        for task in traffic:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        used, wall = cpu_s(proc.pid) - cpu0, time.perf_counter() - t0
        rss, peak = memory_kib(proc.pid), memory_kib(proc.pid, "VmHWM")
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        for lane in lanes:
            await lane["indicator"].stop()
            lane["indicator"].close()
            await lane["relay"].stop()
            await lane["display"].stop()
    return {
        "lanes": lane_count,
        "frames_per_s_per_lane": 20,
        "seconds": round(wall, 1),
        "records_made": _count_records(work / "station-data"),
        "cpu_share_of_one_core": round(used / wall, 3),
        "rss_mib": round(rss / 1024, 1) if rss else None,
        "peak_rss_mib": round(peak / 1024, 1) if peak else None,
    }


async def _drive(lane: dict, number: int, camera_port: int) -> None:
    rng = random.Random(number)
    base = f"http://127.0.0.1:{camera_port}/cameras"
    front = SimulatedCamera(f"{base}/l{number}f", name=f"l{number}f")
    rear = SimulatedCamera(f"{base}/l{number}r", name=f"l{number}r")
    await asyncio.sleep(number * 0.7)
    while True:
        plate = make_plate(rng)
        with contextlib.suppress(Exception):
            await front.post(plate)
            await rear.post(make_plate(rng, trailer=True))
        lane["indicator"].drive_on(rng.randrange(30_000, 48_000, 20), ramp_s=2.0)
        await asyncio.sleep(6.0)
        lane["indicator"].drive_off(ramp_s=1.0)
        await asyncio.sleep(2.5)


def _count_records(data_dir: Path) -> int | None:
    for db in data_dir.glob("station-*.db"):
        with contextlib.closing(sqlite3.connect(db)) as conn:
            return conn.execute(
                "SELECT count(*) FROM records WHERE kind = 'pass'"
            ).fetchone()[0]
    return None


def bench_lane(work: Path, size) -> dict:
    work.mkdir(parents=True, exist_ok=True)

    async def main() -> dict:
        decision = await decision_latency(work, size.lane_decisions)
        settle = await asyncio.gather(
            settle_latency(work, 10.0, size.settle_passes),
            settle_latency(work, 20.0, size.settle_passes),
        )
        station = await station_footprint(
            work / "station", size.station_lanes, size.station_seconds
        )
        return {
            "decision": decision,
            "settle_to_decision": {"10_fps": settle[0], "20_fps": settle[1]},
            "station": station,
        }

    results = asyncio.run(main())
    results["stability"] = stability_trials(STABILITY_WAITS.get(size.name, 2000))
    return results


if __name__ == "__main__":
    print(json.dumps(stability_trials(STABILITY_WAITS.get("default", 2000)), indent=2))
