"""Axle pulses: counted per vehicle with a gap, over Modbus TCP and RTU."""

import asyncio

import pytest

from zhichao.errors import ConfigError
from zhichao.protocols.readings import AxleReading
from zhichao.sim.devices.axle import SimulatedAxleCounter, pulse_axles
from zhichao.sim.devices.barrier import SimulatedRtuBoard
from zhichao.sim.devices.relay import SimulatedRelay
from zhichao.transports.axle_pulses import PulseCounter, open_axle_counter

AXLE_INPUT = 5


def test_pulse_counter_six_pulses_then_a_gap_is_one_reading():
    counter = PulseCounter(gap_s=1.0)
    readings = []
    now = 0.0
    for _ in range(6):
        for level in (True, True, False, False, False):
            readings.append(counter.update(now, level))
            now += 0.02
    while now < 3.0:
        readings.append(counter.update(now, False))
        now += 0.02
    assert [r for r in readings if r] == [AxleReading(axles=6)]


def test_pulse_counter_two_vehicles_are_two_readings():
    counter = PulseCounter(gap_s=0.5)
    out = []
    for start, count in ((0.0, 2), (5.0, 3)):
        now = start
        for _ in range(count):
            out += [counter.update(now, True), counter.update(now + 0.05, False)]
            now += 0.1
        out.append(counter.update(now + 1.0, False))
    assert [r.axles for r in out if r] == [2, 3]


async def _wait_for(readings, count, timeout=5.0):
    async def wait():
        while len(readings) < count:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


@pytest.mark.parametrize("link", ["tcp", "rtu"])
async def test_six_pulses_then_a_gap_give_one_reading_of_six_axles(link):
    board = SimulatedRelay() if link == "tcp" else SimulatedRtuBoard()
    await board.start()
    where = (
        {"host": "127.0.0.1", "port": board.port}
        if link == "tcp"
        else {"port": board.path}
    )
    readings: list[AxleReading] = []
    counter = open_axle_counter(
        {
            "kind": f"pulses-modbus-{link}",
            "input": AXLE_INPUT,
            "poll_s": 0.01,
            "gap_s": 0.5,
            **where,
        },
        readings.append,
    )
    counter.start()
    try:
        await asyncio.sleep(0.1)
        await pulse_axles(board, AXLE_INPUT, 6, high_s=0.06, low_s=0.08)
        await _wait_for(readings, 1)
        await asyncio.sleep(0.6)  # no second reading comes from the same truck
    finally:
        await counter.stop()
        await board.stop()
    assert [r.axles for r in readings] == [6]


async def test_line_kind_reads_the_axle_line_format():
    identifier = SimulatedAxleCounter()
    await identifier.start()
    readings: list[AxleReading] = []
    reader = open_axle_counter(
        {"kind": "line-tcp", "host": "127.0.0.1", "port": identifier.port},
        readings.append,
    )
    reader.start()
    try:
        await identifier.wait_for_clients(1)
        await identifier.vehicle_passed(6, (1, 2, 3))
        await _wait_for(readings, 1)
    finally:
        await reader.stop()
        await identifier.stop()
    assert (readings[0].axles, readings[0].groups) == (6, (1, 2, 3))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kind": "line-serial"}, 'axle.port: required for kind "line-serial"'),
        ({"kind": "line-tcp", "host": "h"}, 'axle.port: required for kind "line-tcp"'),
        ({"kind": "pulses-modbus-tcp", "host": "h"}, "axle.input: required"),
        ({"kind": "pulses-modbus-rtu", "input": 0}, "axle.port: required"),
        (
            {"kind": "pulses-modbus-tcp", "host": "h", "input": 0, "gap_s": 0.001},
            "axle.gap_s",
        ),
        ({"kind": "counter"}, "axle.kind"),
    ],
)
def test_bad_options_name_the_key(options, message):
    with pytest.raises(ConfigError, match=message):
        open_axle_counter(options, print)
