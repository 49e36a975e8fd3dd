"""A simulated axle identifier: a TCP server that reports each vehicle, or
an axle switch that pulses a relay-board input once per axle.

Clients (the station) connect and stay connected; when the simulation says a
vehicle passed, every client gets one ``AXLE,...`` line.
"""

import asyncio
import contextlib
import logging

from zhichao.protocols.axle_line import encode_axle_line
from zhichao.protocols.readings import AxleReading

logger = logging.getLogger(__name__)


class SimulatedAxleCounter:
    """Axle identifier on ``host:port`` (port 0 picks a free one)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self._client_change = asyncio.Condition()
        self.port: int | None = None
        self.sent: list[bytes] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self._host, self._requested_port
        )
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info("axle identifier on %s:%s", self._host, self.port)

    async def stop(self) -> None:
        for writer in list(self._clients):
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def wait_for_clients(self, count: int = 1, timeout: float = 5.0) -> None:
        async with self._client_change:
            await asyncio.wait_for(
                self._client_change.wait_for(lambda: len(self._clients) >= count),
                timeout,
            )

    async def vehicle_passed(
        self,
        axles: int,
        groups: tuple[int, ...] | None = None,
        tyres: str | None = None,
    ) -> int:
        """Send the line for one vehicle to every client; return how many got it."""
        line = encode_axle_line(AxleReading(axles, groups, tyres=tyres))
        self.sent.append(line)
        reached = 0
        for writer in list(self._clients):
            try:
                writer.write(line)
                await writer.drain()
                reached += 1
            except (ConnectionError, OSError):
                self._clients.discard(writer)
        logger.info("axle identifier: %s to %d clients", line.strip(), reached)
        return reached

    async def _accept(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        async with self._client_change:
            self._clients.add(writer)
            self._client_change.notify_all()
        try:
            while await reader.read(1024):
                pass  # the identifier ignores anything a client sends
        except (ConnectionError, OSError):
            pass
        finally:
            self._clients.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


async def pulse_axles(
    board, input_no: int, axles: int, *, high_s: float = 0.06, low_s: float = 0.09
) -> None:
    """An axle switch under the road: one pulse on a board input per axle.

    ``board`` is a simulated relay board with ``pulse_input`` (the Modbus TCP
    ``SimulatedRelay`` or the RTU ``SimulatedRtuBoard``).
    """
    logger.info("axle switch: %d pulses on input %d", axles, input_no)
    await board.pulse_input(input_no, axles, high_s=high_s, low_s=low_s)
