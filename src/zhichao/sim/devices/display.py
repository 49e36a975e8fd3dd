"""A simulated LED screen: a TCP server (or a pty) that shows what it is sent.

It speaks zhichao's plain GBK framing (``protocol="text"``) or Onbon frames
(``protocol="onbon"``). Frames are cut with the same framer the format
defines; the current text and every screen shown are kept, each change is
logged, and a refused frame is counted.
"""

import asyncio
import contextlib
import logging
import os

from zhichao.errors import ProtocolError
from zhichao.protocols import display_text, onbon
from zhichao.sim.devices.barrier import read_master
from zhichao.sim.devices.scale import open_pty_pair

logger = logging.getLogger(__name__)

PROTOCOLS = {
    "text": (display_text.ScreenFramer, display_text.decode_screen),
    "onbon": (onbon.OnbonFramer, onbon.decode_screen),
}


class SimulatedDisplay:
    """LED screen controller on ``host:port`` (port 0 picks a free one)."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, protocol: str = "text"
    ) -> None:
        self._new_framer, self._decode = PROTOCOLS[protocol]
        self.protocol = protocol
        self._host = host
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self._shown = asyncio.Condition()
        self.port: int | None = None
        self.current: tuple[str, ...] = ()
        self.history: list[tuple[str, ...]] = []
        self.bad_frames = 0
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self._host, self._requested_port
        )
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info("screen on %s:%s", self._host, self.port)

    async def stop(self) -> None:
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def wait_for_screens(self, count: int, timeout: float = 5.0) -> None:
        """Wait until ``count`` screens have been shown in all."""
        async with self._shown:
            await asyncio.wait_for(
                self._shown.wait_for(lambda: len(self.history) >= count), timeout
            )

    async def _accept(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        framer = self._new_framer()
        self._writers.add(writer)
        try:
            while data := await reader.read(4096):
                for frame in framer.feed(data):
                    await self._show(frame)
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _show(self, frame: bytes) -> None:
        try:
            lines = self._decode(frame)
        except ProtocolError as err:
            self.bad_frames += 1
            logger.warning("screen refused a frame: %s", err)
            return
        self.current = lines
        self.history.append(lines)
        logger.info("screen shows %s", " / ".join(lines) or "(blank)")
        async with self._shown:
            self._shown.notify_all()


class SimulatedSerialDisplay(SimulatedDisplay):
    """The same screen on the master side of a pty; ``path`` is its port."""

    def __init__(self, *, protocol: str = "text") -> None:
        super().__init__(protocol=protocol)
        self.path: str | None = None
        self._fd = -1
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._fd, self.path = open_pty_pair()
        framer = self._new_framer()

        async def serve() -> None:
            while True:
                for frame in framer.feed(await read_master(self._fd)):
                    await self._show(frame)

        self._task = asyncio.create_task(serve(), name="simulated serial screen")
        logger.info("screen (%s) on %s", self.protocol, self.path)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
