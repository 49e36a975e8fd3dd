"""Barriers of every kind against their simulators over real I/O."""

import asyncio

import pytest

from zhichao.errors import ConfigError, DeviceError
from zhichao.sim.demo import free_port
from zhichao.sim.devices.barrier import SimulatedHikvisionBarrier, SimulatedRtuBoard
from zhichao.sim.devices.relay import SimulatedRelay
from zhichao.transports.barriers import ISAPI_BODY, open_barrier


@pytest.fixture
async def tcp_board():
    board = SimulatedRelay()
    await board.start()
    yield board
    await board.stop()


@pytest.fixture
async def rtu_board():
    board = SimulatedRtuBoard(unit_id=3)
    await board.start()
    yield board
    await board.stop()


@pytest.fixture
async def hikvision():
    barrier = SimulatedHikvisionBarrier()
    await barrier.start()
    yield barrier
    await barrier.stop()


async def test_modbus_tcp_barrier_pulses_open_and_close_coils(tcp_board):
    barrier = open_barrier(
        {
            "kind": "modbus-tcp",
            "host": "127.0.0.1",
            "port": tcp_board.port,
            "open_coil": 1,
            "close_coil": 2,
            "pulse_s": 0.05,
        }
    )
    await barrier.open()
    await barrier.close()
    await barrier.aclose()

    assert [(w.coil, w.on) for w in tcp_board.writes] == [
        (1, True),
        (1, False),
        (2, True),
        (2, False),
    ]


async def test_modbus_rtu_barrier_over_a_pty(rtu_board):
    barrier = open_barrier(
        {
            "kind": "modbus-rtu",
            "port": rtu_board.path,
            "unit_id": 3,
            "open_coil": 0,
            "pulse_s": 0.05,
        }
    )
    await barrier.open()
    await barrier.aclose()

    on, off = changes(rtu_board.writes)
    assert [(on.unit_id, on.coil, on.on), (off.unit_id, off.coil, off.on)] == [
        (3, 0, True),
        (3, 0, False),
    ]
    # held at least pulse_s; the upper bound only catches a coil left on
    assert 0.04 <= off.at - on.at < 5


def changes(writes):
    """The writes that changed a coil: a request asked again repeats its write."""
    out = []
    for write in writes:
        if not out or (out[-1].coil, out[-1].on) != (write.coil, write.on):
            out.append(write)
    return out


async def test_modbus_rtu_hold_mode_keeps_the_coil_on_until_close(rtu_board):
    # timeout_s only bounds a hang: the board answers at once, or not at all
    options = {"kind": "modbus-rtu", "port": rtu_board.path, "unit_id": 3}
    barrier = open_barrier({**options, "hold": True, "open_coil": 4, "timeout_s": 10})
    await barrier.open()
    assert rtu_board.coil_state(4) is True
    await barrier.close()
    await barrier.aclose()
    assert rtu_board.coil_state(4) is False
    assert [(w.coil, w.on) for w in changes(rtu_board.writes)] == [
        (4, True),
        (4, False),
    ]


async def test_modbus_rtu_reply_lost_on_the_line_is_asked_again(rtu_board):
    rtu_board.lose_replies = 1
    barrier = open_barrier(
        {"kind": "modbus-rtu", "port": rtu_board.path, "unit_id": 3}
        | {"timeout_s": 0.3, "pulse_s": 0.05}
    )
    await barrier.open()
    await barrier.aclose()

    assert rtu_board.requests == 3  # on (lost, then again), off
    assert [(w.coil, w.on) for w in rtu_board.writes] == [
        (0, True),
        (0, True),
        (0, False),
    ]


async def test_modbus_rtu_replies_lost_every_time_is_device_error(rtu_board):
    rtu_board.lose_replies = 10
    barrier = open_barrier(
        {"kind": "modbus-rtu", "port": rtu_board.path, "unit_id": 3}
        | {"timeout_s": 0.3, "retries": 2}
    )
    with pytest.raises(DeviceError, match="no reply within 0.3 s"):
        await barrier.open()
    await barrier.aclose()
    assert rtu_board.requests == 3 + 3  # on, and the off sent when it failed


async def test_modbus_rtu_refused_coil_is_device_error(rtu_board):
    barrier = open_barrier(
        {"kind": "modbus-rtu", "port": rtu_board.path, "unit_id": 3, "open_coil": 99}
    )
    with pytest.raises(DeviceError, match="refused"):
        await barrier.open()
    await barrier.aclose()


async def test_modbus_rtu_wrong_unit_times_out_as_device_error(rtu_board):
    barrier = open_barrier(
        {"kind": "modbus-rtu", "port": rtu_board.path, "unit_id": 9, "timeout_s": 0.3}
    )
    with pytest.raises(DeviceError, match="rtu .*: no reply within 0.3 s"):
        await barrier.open()
    await barrier.aclose()
    assert rtu_board.writes == []


async def test_hikvision_barrier_that_never_answers_says_so():
    async def hold(reader, writer):
        await reader.read()  # read the request, answer nothing

    server = await asyncio.start_server(hold, "127.0.0.1", free_port())
    port = server.sockets[0].getsockname()[1]
    barrier = open_barrier(
        {"kind": "hikvision-isapi", "url": f"http://127.0.0.1:{port}"}
        | {"timeout_s": 0.3}
    )
    try:
        with pytest.raises(DeviceError, match="open: ReadTimeout, no answer"):
            await barrier.open()
    finally:
        await barrier.aclose()
        server.close()


async def test_hikvision_barrier_opens_and_closes_with_digest_auth(hikvision):
    barrier = open_barrier(
        {
            "kind": "hikvision-isapi",
            "url": hikvision.url,
            "username": "admin",
            "password": "sim12345",
        }
    )
    await barrier.open()
    assert hikvision.is_open
    await barrier.close()
    await barrier.aclose()

    assert hikvision.commands == [(1, "open"), (1, "close")]
    assert hikvision.refused >= 1  # the first request of a client is challenged
    assert b"<ctrlMode>open</ctrlMode>" in hikvision.bodies[0]
    assert hikvision.bodies[0].decode().startswith('<?xml version="1.0"')
    assert ISAPI_BODY.split("<ctrlMode>")[0].startswith("<?xml")


async def test_hikvision_wrong_password_is_device_error(hikvision):
    barrier = open_barrier(
        {
            "kind": "hikvision-isapi",
            "url": hikvision.url,
            "username": "admin",
            "password": "wrong",
        }
    )
    with pytest.raises(DeviceError, match="401"):
        await barrier.open()
    await barrier.aclose()
    assert hikvision.commands == []


async def test_hikvision_unreachable_is_device_error():
    barrier = open_barrier(
        {"kind": "hikvision-isapi", "url": "http://127.0.0.1:9", "timeout_s": 0.5}
    )
    with pytest.raises(DeviceError):
        await barrier.open()
    await barrier.aclose()


async def test_cancelled_open_pulse_still_switches_off(rtu_board):
    barrier = open_barrier(
        {"kind": "modbus-rtu", "port": rtu_board.path, "unit_id": 3, "pulse_s": 5}
    )
    task = asyncio.create_task(barrier.open())
    await rtu_board.wait_for_writes(1)
    await asyncio.sleep(0.2)  # now inside the pulse
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await rtu_board.wait_for_writes(2)
    await barrier.aclose()
    assert rtu_board.coil_state(0) is False


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "barrier.kind: required"),
        ({"kind": "gpio"}, "barrier.kind: 'gpio' is not one of"),
        ({"kind": "modbus-rtu"}, 'barrier.port: required for kind "modbus-rtu"'),
        ({"kind": "modbus-tcp"}, 'barrier.host: required for kind "modbus-tcp"'),
        ({"kind": "hikvision-isapi"}, "barrier.url: required"),
        ({"kind": "modbus-tcp", "host": "h", "port": "502"}, "barrier.port: must be"),
        ({"kind": "modbus-rtu", "port": "/dev/x", "parity": "Q"}, "barrier.parity"),
        ({"kind": "modbus-tcp", "host": "h", "pulse_s": -1}, "barrier.pulse_s"),
    ],
)
def test_bad_options_name_the_key(options, message):
    with pytest.raises(ConfigError, match=message):
        open_barrier(options)
