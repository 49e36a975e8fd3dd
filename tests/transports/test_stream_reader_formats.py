"""Every indicator format from the simulator into FrameReader: pty, TCP, polling,
and the fault state of a silent device."""

import asyncio
import functools
import logging

import pytest

from zhichao.protocols.readings import WeightStatus
from zhichao.protocols.registry import build_scale_protocol
from zhichao.sim.devices.scale import SimulatedIndicator, WeightModel, open_pty_pair
from zhichao.transports.stream_reader import FrameReader, ReaderState

FORMATS = [
    "xk3190-tf0",
    "xk3190-tf1",
    "xk3190-eq",
    "xk3190-a12",
    "toledo-continuous",
    "ascii-line",
]


class Collector:
    def __init__(self):
        self.readings = []

    def __call__(self, reading):
        self.readings.append(reading)

    async def until(self, predicate, timeout=5.0):
        async def wait():
            while not predicate(self.readings):
                await asyncio.sleep(0.02)

        await asyncio.wait_for(wait(), timeout)


def reader_for(url, protocol, collector, **kwargs):
    return FrameReader(
        url,
        protocol.new_framer,
        functools.partial(protocol.decode, unit="kg"),
        collector,
        lane="01",
        device="scale",
        backoff_min_s=0.05,
        backoff_max_s=0.2,
        poll_request=protocol.poll_request,
        poll_interval_s=protocol.poll_interval_s,
        **kwargs,
    )


@pytest.mark.parametrize("name", FORMATS)
async def test_each_format_over_a_pty(name):
    master, path = open_pty_pair()
    sim = SimulatedIndicator(
        master, rate=20, model=WeightModel(flicker=0.0), protocol=name
    )
    sim.set_weight(49380)
    sim.start()
    protocol = build_scale_protocol(name)
    collector = Collector()
    reader = reader_for(path, protocol, collector)

    reader.start()
    try:
        await collector.until(lambda r: len(r) >= 4)
        sim.inject(b"\xff\x00junk")
        if name != "xk3190-eq":
            sim.inject_bad_checksum() if name != "ascii-line" else sim.inject_overload()
        count = len(collector.readings)
        await collector.until(lambda r: len(r) >= count + 4)
    finally:
        await reader.stop()
        await sim.stop()
        sim.close()

    weights = {r.weight_kg for r in collector.readings if r.status is WeightStatus.OK}
    assert weights == {49380}
    assert 0 not in {r.weight_kg for r in collector.readings}
    assert reader.state is ReaderState.OK
    if name == "xk3190-tf1":
        assert reader.stats["polls"] >= 4 and sim.polls_answered >= 4
    if name in ("toledo-continuous", "ascii-line"):
        assert all(r.stable is True for r in collector.readings if r.weight_kg)


@pytest.mark.parametrize("name", ["toledo-continuous", "xk3190-tf1"])
async def test_indicator_behind_a_serial_to_ethernet_converter(name):
    sim = SimulatedIndicator(-1, rate=20, model=WeightModel(flicker=0.0), protocol=name)
    sim.set_weight(31000)
    port = await sim.listen_tcp()
    sim.start()
    protocol = build_scale_protocol(name)
    collector = Collector()
    reader = reader_for(f"socket://127.0.0.1:{port}", protocol, collector)

    reader.start()
    try:
        await collector.until(lambda r: len(r) >= 5)
    finally:
        await reader.stop()
        await sim.stop()

    assert {r.weight_kg for r in collector.readings} == {31000}


async def test_silent_device_is_a_fault_logged_once_and_recovery_once(caplog):
    master, path = open_pty_pair()
    sim = SimulatedIndicator(master, rate=20, model=WeightModel(flicker=0.0))
    sim.set_weight(20000)
    states = []
    collector = Collector()
    protocol = build_scale_protocol("xk3190-tf0")
    reader = reader_for(
        path,
        protocol,
        collector,
        idle_timeout_s=0.3,
        on_state=lambda state, reason: states.append((state, reason)),
    )
    caplog.set_level(logging.INFO, logger="zhichao.transports.stream_reader")

    reader.start()
    try:
        await asyncio.sleep(1.2)  # nothing sent: several silent periods
        assert reader.state is ReaderState.FAULT
        assert "silent for 0.3 s" in reader.fault_reason
        sim.start()
        await collector.until(lambda r: len(r) >= 3)
    finally:
        await reader.stop()
        await sim.stop()
        sim.close()

    assert reader.state is ReaderState.OK and reader.fault_reason is None
    assert [s for s, _ in states] == [ReaderState.FAULT, ReaderState.OK]
    assert reader.stats["connects"] >= 3  # reopened after each silent period
    messages = [r.getMessage() for r in caplog.records]
    assert sum("silent" in m for m in messages) == 1
    assert sum("recovered" in m for m in messages) == 1


async def test_garbage_only_stream_is_a_fault_too():
    master, path = open_pty_pair()
    sim = SimulatedIndicator(master, rate=20, protocol="xk3190-tf0")
    sim.set_weight(20000)
    protocol = build_scale_protocol("toledo-continuous")  # the wrong format
    reader = reader_for(path, protocol, Collector(), idle_timeout_s=0.3)

    sim.start()
    reader.start()
    try:
        for _ in range(100):
            if reader.faulted:
                break
            await asyncio.sleep(0.05)
    finally:
        await reader.stop()
        await sim.stop()
        sim.close()

    assert reader.faulted
    assert "no valid frame for 0.3 s" in reader.fault_reason
