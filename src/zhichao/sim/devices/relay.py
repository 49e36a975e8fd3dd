"""A simulated barrier relay board: a real Modbus TCP server.

It accepts write-coil requests as a relay board would and records each write
with its time, so a test or the demo can see "barrier opened" and for how long.
Its discrete inputs are what a test sets (``set_input``, ``pulse_input``): the
light curtains, ground loops and axle-switch pulses wired to a real board.
"""

import asyncio
import functools
import logging
from dataclasses import dataclass
from datetime import datetime

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import SimData, SimDevice
from pymodbus.simulator.simutils import DataType, SimUtils

from zhichao.timeutil import utcnow

logger = logging.getLogger(__name__)

READ_DISCRETE_INPUTS = 2
WRITE_COIL = 5
WRITE_COILS = 15


@dataclass(frozen=True)
class CoilWrite:
    """One coil write the relay received."""

    unit_id: int
    coil: int
    on: bool
    at: float  # event-loop clock, seconds
    wall: datetime  # UTC


class SimulatedRelay:
    """Relay board with ``coils`` outputs answering unit ids ``unit_ids``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        unit_ids: tuple[int, ...] = (1,),
        coils: int = 16,
    ) -> None:
        self._address = (host, port)
        self._unit_ids = unit_ids
        self._coils = coils
        self._server: ModbusTcpServer | None = None
        self._written = asyncio.Condition()
        self.writes: list[CoilWrite] = []
        self.port: int | None = None
        self.inputs = [False] * coils
        self.input_reads = 0

    def coil_state(self, coil: int, unit_id: int | None = None) -> bool:
        """The last value written to ``coil`` (False before any write)."""
        unit_id = unit_id or self._unit_ids[0]
        for write in reversed(self.writes):
            if write.coil == coil and write.unit_id == unit_id:
                return write.on
        return False

    def set_input(self, number: int, on: bool) -> None:
        """Set discrete input ``number`` (same value for every unit id)."""
        self.inputs[number] = on

    async def pulse_input(
        self, number: int, count: int = 1, high_s: float = 0.05, low_s: float = 0.05
    ) -> None:
        """Close input ``number`` ``count`` times, as an axle switch does."""
        for index in range(count):
            self.set_input(number, True)
            await asyncio.sleep(high_s)
            self.set_input(number, False)
            if index + 1 < count:
                await asyncio.sleep(low_s)

    async def start(self) -> None:
        devices = [self._device(unit_id) for unit_id in self._unit_ids]
        self._server = ModbusTcpServer(devices, address=self._address)
        await self._server.serve_forever(background=True)
        self.port = self._server.transport.sockets[0].getsockname()[1]
        logger.info("relay board on %s:%s", self._address[0], self.port)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None

    async def wait_for_writes(self, count: int, timeout: float = 5.0) -> None:
        async with self._written:
            await asyncio.wait_for(
                self._written.wait_for(lambda: len(self.writes) >= count), timeout
            )

    def _device(self, unit_id: int) -> SimDevice:
        bits = [SimData(0, count=self._coils, values=False, datatype=DataType.BITS)]
        words = [SimData(0, values=0, datatype=DataType.REGISTERS)]
        return SimDevice(
            id=unit_id,
            simdata=(bits, list(bits), words, list(words)),
            action=functools.partial(self._on_access, unit_id),
        )

    async def _on_access(
        self, unit_id, function_code, _start, address, _count, registers, values
    ):
        if function_code == READ_DISCRETE_INPUTS:
            self.input_reads += 1
            padded = self.inputs + [False] * (16 * len(registers))
            registers[:] = SimUtils.bitsToRegisters(padded[: 16 * len(registers)])
            return None
        if function_code not in (WRITE_COIL, WRITE_COILS) or values is None:
            return None
        loop_time = asyncio.get_running_loop().time()
        for offset, value in enumerate(values):
            write = CoilWrite(
                unit_id, address + offset, bool(value), loop_time, utcnow()
            )
            self.writes.append(write)
            logger.info(
                "relay unit %s coil %s %s", unit_id, write.coil, _word(write.on)
            )
        async with self._written:
            self._written.notify_all()
        return None


def _word(on: bool) -> str:
    return "on" if on else "off"
