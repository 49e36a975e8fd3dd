"""Position sensors: classification, debounce, and polling real boards."""

import asyncio
import contextlib

import pytest

from zhichao.errors import ConfigError
from zhichao.protocols.readings import DeckReading, DeckState
from zhichao.sim.devices.barrier import SimulatedRtuBoard
from zhichao.sim.devices.relay import SimulatedRelay
from zhichao.transports.position import Debouncer, deck_state, open_position_sensor

FRONT, REAR, LOOP = 0, 1, 2


@pytest.mark.parametrize(
    ("roles", "inputs", "state"),
    [
        (("front", "rear"), (False, False), DeckState.WHOLLY),
        (("front", "rear"), (True, False), DeckState.PARTLY),
        (("front", "rear"), (False, True), DeckState.PARTLY),
        (("front", "rear", "presence"), (False, False, False), DeckState.EMPTY),
        (("front", "rear", "presence"), (False, False, True), DeckState.WHOLLY),
        (("front", "rear", "presence"), (False, True, True), DeckState.PARTLY),
        (("rear",), (True,), DeckState.PARTLY),
    ],
)
def test_deck_state_from_inputs(roles, inputs, state):
    assert deck_state(roles, inputs) is state


def test_debouncer_ignores_a_flicker_shorter_than_the_hold():
    debouncer = Debouncer(0.2)
    assert debouncer.update(0.0, (False,)) is None
    assert debouncer.update(0.2, (False,)) == (False,)
    settled = []
    for step in range(1, 41):  # the input flips every 50 ms for 2 s
        value = debouncer.update(0.2 + step * 0.05, (step % 2 == 1,))
        if value is not None:
            settled.append(value)
    assert settled == []
    assert debouncer.update(3.0, (True,)) is None
    assert debouncer.update(3.2, (True,)) == (True,)


async def _collect(sensor, readings, until, timeout=5.0):
    async def wait():
        while not until(readings):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


async def test_modbus_tcp_curtains_report_partly_then_wholly():
    board = SimulatedRelay()
    await board.start()
    readings: list[DeckReading] = []
    sensor = open_position_sensor(
        {
            "kind": "modbus-tcp",
            "host": "127.0.0.1",
            "port": board.port,
            "inputs": {"front": FRONT, "rear": REAR, "presence": LOOP},
            "poll_s": 0.02,
            "debounce_s": 0.1,
        },
        readings.append,
    )
    sensor.start()
    try:
        await _collect(sensor, readings, lambda r: len(r) >= 1)
        board.set_input(REAR, True)
        board.set_input(LOOP, True)
        await _collect(sensor, readings, lambda r: r[-1].state is DeckState.PARTLY)
        board.set_input(REAR, False)
        await _collect(sensor, readings, lambda r: r[-1].state is DeckState.WHOLLY)
    finally:
        await sensor.stop()
        await board.stop()

    assert [r.state for r in readings] == [
        DeckState.EMPTY,
        DeckState.PARTLY,
        DeckState.WHOLLY,
    ]
    assert readings[-1].inputs == (False, False, True)


async def test_a_flickering_curtain_is_debounced_over_rtu():
    board = SimulatedRtuBoard()
    await board.start()
    readings: list[DeckReading] = []
    sensor = open_position_sensor(
        {
            "kind": "modbus-rtu",
            "port": board.path,
            "inputs": {"front": FRONT, "rear": REAR},
            "poll_s": 0.01,
            "debounce_s": 0.3,
        },
        readings.append,
    )
    sensor.start()
    try:
        await _collect(sensor, readings, lambda r: len(r) >= 1)
        for _ in range(10):  # a beam flickering every 50 ms for 1 s
            board.set_input(FRONT, True)
            await asyncio.sleep(0.05)
            board.set_input(FRONT, False)
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.4)
        flickered = list(readings)
        board.set_input(FRONT, True)  # now blocked for good
        await _collect(sensor, readings, lambda r: r[-1].state is DeckState.PARTLY)
    finally:
        await sensor.stop()
        await board.stop()

    assert [r.state for r in flickered] == [DeckState.WHOLLY]
    assert sensor.stats["polls"] > 20


async def test_inverted_inputs_for_normally_closed_curtains():
    board = SimulatedRelay()
    await board.start()
    board.set_input(FRONT, True)  # a closed contact: beam clear
    board.set_input(REAR, True)
    readings: list[DeckReading] = []
    sensor = open_position_sensor(
        {
            "kind": "modbus-tcp",
            "host": "127.0.0.1",
            "port": board.port,
            "inputs": {"front": FRONT, "rear": REAR},
            "invert": True,
            "poll_s": 0.02,
            "debounce_s": 0.05,
        },
        readings.append,
    )
    sensor.start()
    try:
        await _collect(sensor, readings, lambda r: len(r) >= 1)
    finally:
        await sensor.stop()
        await board.stop()
    assert readings[0].state is DeckState.WHOLLY


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"kind": "modbus-tcp", "host": "h"},
            'position.inputs: required for kind "modbus-tcp"',
        ),
        ({"kind": "modbus-rtu", "inputs": {"front": 0}}, "position.port: required"),
        ({"kind": "modbus-tcp", "host": "h", "inputs": {"side": 0}}, "unknown role"),
        (
            {"kind": "modbus-tcp", "host": "h", "inputs": {"presence": 0}},
            "front or a rear",
        ),
        (
            {"kind": "modbus-tcp", "host": "h", "inputs": {"front": 0, "rear": 0}},
            "share",
        ),
        ({"kind": "modbus-tcp", "host": "h", "inputs": {"front": -1}}, "inputs.front"),
        ({"kind": "gpio"}, "position.kind"),
    ],
)
def test_bad_options_name_the_key(options, message):
    with pytest.raises(ConfigError, match=message):
        open_position_sensor(options, print)


class _SwallowingInputs:
    """Inputs read through a client that swallows a cancellation, as some
    Modbus clients do when a request is cancelled in flight."""

    def __init__(self) -> None:
        self.reads = 0

    async def read(self, start, count):
        self.reads += 1
        # swallowed: the read returns as if nothing had happened
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.02)
        return (False,) * count

    async def close(self) -> None:
        pass


@pytest.mark.timeout(30)
async def test_stop_ends_the_poller_even_when_its_client_swallows_the_cancel():
    from zhichao.transports.position import DeckSensor

    source = _SwallowingInputs()
    sensor = DeckSensor(source, {"front": 0, "rear": 1}, lambda r: None, poll_s=0.0)
    sensor.start()
    while source.reads < 3:
        await asyncio.sleep(0.01)

    await asyncio.wait_for(sensor.stop(), 5)

    reads = source.reads
    await asyncio.sleep(0.1)
    assert source.reads == reads  # no polling after stop
