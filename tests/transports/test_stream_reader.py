"""FrameReader over a real pseudo-terminal and a real TCP socket."""

import asyncio
import functools
import logging
import os

import pytest

from zhichao.protocols.axle_line import AxleLineFramer, decode_axle_line
from zhichao.protocols.readings import AxleReading
from zhichao.protocols.registry import get_scale_protocol
from zhichao.sim.devices.axle import SimulatedAxleCounter
from zhichao.sim.devices.scale import SimulatedIndicator, WeightModel, open_pty_pair
from zhichao.transports.stream_reader import FrameReader

TF0 = get_scale_protocol("xk3190-tf0")


class Collector:
    def __init__(self):
        self.readings = []
        self._changed = asyncio.Event()

    def __call__(self, reading):
        self.readings.append(reading)
        self._changed.set()

    async def until(self, predicate, timeout=5.0):
        async def wait():
            while not predicate(self.readings):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)


@pytest.fixture
async def indicator(tmp_path):
    master, path = open_pty_pair(tmp_path / "ttyScale")
    model = WeightModel(flicker=0.0)
    sim = SimulatedIndicator(master, rate=20, model=model, link=tmp_path / "ttyScale")
    sim.set_weight(49380)
    sim.start()
    yield sim, path
    await sim.stop()
    sim.close()


def _scale_reader(path, collector, **kwargs):
    return FrameReader(
        path,
        TF0.new_framer,
        functools.partial(TF0.decode, unit="kg"),
        collector,
        lane="01",
        device="scale",
        backoff_min_s=0.05,
        backoff_max_s=0.2,
        **kwargs,
    )


async def test_indicator_frames_become_readings(indicator):
    sim, path = indicator
    collector = Collector()
    reader = _scale_reader(path, collector)

    reader.start()
    await collector.until(lambda r: len(r) >= 5)
    await reader.stop()

    assert {r.weight_kg for r in collector.readings} == {49380}
    assert all(
        r.raw == bytes.fromhex("022b30343933383030314403") for r in collector.readings
    )
    assert reader.stats["bad_frames"] == 0


async def test_garbage_and_bad_xor_are_counted_logged_once_and_skipped(
    indicator, caplog
):
    sim, path = indicator
    collector = Collector()
    reader = _scale_reader(path, collector)
    reader.start()
    await collector.until(lambda r: len(r) >= 2)
    caplog.set_level(logging.WARNING, logger="zhichao.transports.stream_reader")
    startup_discards = reader.stats["discarded_bytes"]  # joined mid-frame

    sim.inject(b"\xff\x00garbage" * 20)
    sim.inject_bad_checksum()
    sim.inject_bad_checksum()
    before = len(collector.readings)
    await collector.until(lambda r: len(r) >= before + 5)
    await reader.stop()

    assert reader.stats["bad_frames"] == 2
    assert {r.weight_kg for r in collector.readings} == {49380}
    warnings = [r.getMessage() for r in caplog.records]
    # each kind once with its raw bytes, then one summary of the rest of it
    assert len(warnings) == 3, warnings
    assert warnings[0].startswith("lane 01 scale discarded 180 bytes: ff 00 67 61")
    assert warnings[1].startswith("lane 01 scale bad frame (XOR of bytes 1-8 is")
    assert warnings[1].endswith(": 02 2b 30 34 39 33 38 30 30 30 30 03")
    assert "1 more checksum errors" in warnings[2]
    assert reader.stats["discarded_bytes"] == 180 + startup_discards


async def test_reader_recovers_when_pty_closes_and_reopens(indicator, caplog):
    sim, path = indicator
    collector = Collector()
    reader = _scale_reader(path, collector)
    reader.start()
    await collector.until(lambda r: len(r) >= 2)
    caplog.set_level(logging.INFO, logger="zhichao.transports.stream_reader")

    sim.close()
    # a loaded machine may take a while to report the hang-up: wait for it
    for _ in range(100):
        if not reader.connected:
            break
        await asyncio.sleep(0.1)
    assert not reader.connected
    await asyncio.sleep(0.3)  # a few failed reopen attempts
    sim.reopen()
    sim.set_weight(25000)
    await collector.until(lambda r: r[-1].weight_kg == 25000)
    await reader.stop()

    messages = [r.getMessage() for r in caplog.records]
    assert sum("lost" in m for m in messages) == 1
    assert sum("cannot be opened" in m for m in messages) <= 1
    assert sum("recovered" in m for m in messages) == 1
    assert reader.stats["connects"] == 2


async def test_frames_are_paced_like_a_9600_baud_line(tmp_path):
    master, path = open_pty_pair()
    sim = SimulatedIndicator(master, rate=10)
    sim.set_weight(1000)
    chunks = []

    async def read_side():
        fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        loop = asyncio.get_running_loop()
        got = asyncio.Event()

        def ready():
            chunks.append((loop.time(), os.read(fd, 100)))
            got.set()

        loop.add_reader(fd, ready)
        try:
            await asyncio.sleep(0.55)
        finally:
            loop.remove_reader(fd)
            os.close(fd)

    sim.start()
    await read_side()
    await sim.stop()
    sim.close()

    data = b"".join(chunk for _, chunk in chunks)
    assert data.count(b"\x02") >= 4  # about ten frames a second
    first, last = chunks[0][0], chunks[-1][0]
    frames = data.count(b"\x03")
    # bytes arrive spread out, not in one write per frame
    assert len(chunks) > 2 * frames
    assert last - first > 0.3


async def test_reader_counts_unopenable_port_and_keeps_trying(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="zhichao.transports.stream_reader")
    reader = _scale_reader(str(tmp_path / "nothing"), Collector())

    reader.start()
    await asyncio.sleep(0.4)
    await reader.stop()

    opened = [r for r in caplog.records if "cannot be opened" in r.getMessage()]
    assert len(opened) == 1


async def test_axle_identifier_over_tcp_through_socket_url():
    counter = SimulatedAxleCounter()
    await counter.start()
    collector = Collector()
    reader = FrameReader(
        f"socket://127.0.0.1:{counter.port}",
        AxleLineFramer,
        decode_axle_line,
        collector,
        lane="01",
        device="axle",
        backoff_min_s=0.05,
    )
    reader.start()
    await reader.wait_connected(5)
    await counter.wait_for_clients(1)

    await counter.vehicle_passed(6, (1, 2, 3))
    await counter.vehicle_passed(2)
    await collector.until(lambda r: len(r) == 2)
    await reader.stop()
    await counter.stop()

    assert collector.readings == [
        AxleReading(6, (1, 2, 3), raw=b"AXLE,6,1-2-3\r\n"),
        AxleReading(2, None, raw=b"AXLE,2\r\n"),
    ]


async def test_async_callback_and_callback_error_do_not_stop_the_loop(indicator):
    sim, path = indicator
    seen = []

    async def on_reading(reading):
        seen.append(reading)
        if len(seen) == 1:
            raise RuntimeError("lane bug")

    reader = _scale_reader(path, on_reading)
    reader.start()
    for _ in range(100):
        if len(seen) >= 3:
            break
        await asyncio.sleep(0.05)
    await reader.stop()

    assert len(seen) >= 3
    assert reader.stats["callback_errors"] == 1


async def test_silent_stream_is_treated_as_lost_and_reopened():
    counter = SimulatedAxleCounter()
    await counter.start()
    reader = FrameReader(
        f"socket://127.0.0.1:{counter.port}",
        AxleLineFramer,
        decode_axle_line,
        Collector(),
        idle_timeout_s=0.2,
        backoff_min_s=0.05,
    )

    reader.start()
    for _ in range(100):
        if reader.stats["connects"] >= 2:
            break
        await asyncio.sleep(0.05)
    await reader.stop()
    await counter.stop()

    assert reader.stats["connects"] >= 2
