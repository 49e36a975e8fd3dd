"""ModbusRelay against the simulated relay board, a real Modbus TCP server."""

import asyncio

import pytest

from zhichao.errors import DeviceError
from zhichao.sim.demo import free_port
from zhichao.sim.devices.relay import SimulatedRelay
from zhichao.transports.relay import ModbusRelay


@pytest.fixture
async def board():
    relay = SimulatedRelay()
    await relay.start()
    yield relay
    await relay.stop()


@pytest.mark.parametrize("coil", [0, 3])
async def test_pulse_switches_coil_on_then_off(board, coil):
    relay = ModbusRelay("127.0.0.1", board.port, unit_id=1, coil=coil, pulse_s=0.2)

    await relay.pulse()
    await relay.close()

    assert [(w.coil, w.on) for w in board.writes] == [(coil, True), (coil, False)]
    assert 0.18 <= board.writes[1].at - board.writes[0].at < 0.5
    assert board.coil_state(coil) is False


async def test_second_pulse_reuses_or_reopens_connection(board):
    relay = ModbusRelay("127.0.0.1", board.port, coil=1, pulse_s=0.01)

    await relay.pulse()
    await relay.close()  # as if the board dropped the link
    await relay.pulse()

    assert [w.on for w in board.writes] == [True, False, True, False]
    await relay.close()


async def test_cancelled_pulse_still_switches_off(board):
    relay = ModbusRelay("127.0.0.1", board.port, coil=2, pulse_s=5)

    task = asyncio.create_task(relay.pulse())
    await board.wait_for_writes(1)
    await asyncio.sleep(0.1)  # now inside the pulse
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await board.wait_for_writes(2)
    await relay.close()

    assert board.coil_state(2) is False


async def test_unreachable_board_is_device_error_and_recovers_later():
    port = free_port()
    relay = ModbusRelay("127.0.0.1", port, pulse_s=0.01, timeout_s=0.3)

    with pytest.raises(DeviceError, match="relay 127.0.0.1"):
        await relay.pulse()

    board = SimulatedRelay(port=port)
    await board.start()
    try:
        await relay.pulse()
    finally:
        await relay.close()
        await board.stop()
    assert [w.on for w in board.writes] == [True, False]


async def test_coil_outside_the_board_is_device_error(board):
    relay = ModbusRelay("127.0.0.1", board.port, coil=200, pulse_s=0.01)

    with pytest.raises(DeviceError, match="refused"):
        await relay.pulse()
    await relay.close()
