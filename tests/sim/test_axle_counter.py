import asyncio

from zhichao.protocols.axle_line import AxleLineFramer, decode_axle_line
from zhichao.sim.devices.axle import SimulatedAxleCounter


async def test_every_connected_client_gets_the_line():
    counter = SimulatedAxleCounter()
    await counter.start()
    clients = [
        await asyncio.open_connection("127.0.0.1", counter.port) for _ in range(2)
    ]
    await counter.wait_for_clients(2)

    reached = await counter.vehicle_passed(5, (1, 2, 2))
    lines = [await asyncio.wait_for(r.readuntil(b"\n"), 2) for r, _ in clients]
    for _, writer in clients:
        writer.close()
    await counter.stop()

    assert reached == 2
    assert lines == [b"AXLE,5,1-2-2\r\n"] * 2
    framer = AxleLineFramer()
    assert decode_axle_line(framer.feed(lines[0])[0]).groups == (1, 2, 2)


async def test_tyres_reach_the_reading_over_tcp():
    counter = SimulatedAxleCounter()
    await counter.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", counter.port)
    await counter.wait_for_clients(1)

    await counter.vehicle_passed(3, (1, 2), tyres="SDD")
    line = await asyncio.wait_for(reader.readuntil(b"\n"), 10)
    writer.close()
    await counter.stop()

    reading = decode_axle_line(line)
    assert (reading.axles, reading.groups, reading.tyres) == (3, (1, 2), "SDD")


async def test_no_client_means_nobody_reached():
    counter = SimulatedAxleCounter()
    await counter.start()

    assert await counter.vehicle_passed(2) == 0
    await counter.stop()
    assert counter.sent == [b"AXLE,2\r\n"]
