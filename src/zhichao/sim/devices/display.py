"""A simulated LED screen: a TCP server that shows what it is sent.

Frames are cut with the same framer the screen format defines; the current
text and every screen shown are kept, and each change is logged.
"""

import asyncio
import contextlib
import logging

from zhichao.errors import FrameError
from zhichao.protocols.display_text import ScreenFramer, decode_screen

logger = logging.getLogger(__name__)


class SimulatedDisplay:
    """LED screen controller on ``host:port`` (port 0 picks a free one)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
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
        framer = ScreenFramer()
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
            lines = decode_screen(frame)
        except FrameError as err:
            self.bad_frames += 1
            logger.warning("screen refused a frame: %s", err)
            return
        self.current = lines
        self.history.append(lines)
        logger.info("screen shows %s", " / ".join(lines) or "(blank)")
        async with self._shown:
            self._shown.notify_all()
