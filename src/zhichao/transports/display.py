"""LED screen on TCP, speaking zhichao's plain screen framing.

``show(lines)`` sends one ``encode_screen`` frame. The connection is opened on
first use and reopened when the screen dropped it (controllers often close idle
connections); one failed send is retried on a fresh connection before it
becomes a DeviceError.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from zhichao.errors import DeviceError
from zhichao.protocols.display_text import encode_screen

logger = logging.getLogger(__name__)

TIMEOUT_S = 2.0


class TcpDisplay:
    """One LED screen controller reachable at ``host:port``."""

    def __init__(self, host: str, port: int, *, timeout_s: float = TIMEOUT_S) -> None:
        self.host = host
        self.port = port
        self._timeout_s = timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()
        self._failing = False
        self._tag = f"display {host}:{port}"

    async def show(self, lines: Sequence[str]) -> None:
        """Put ``lines`` on the screen; EncodingError for text it cannot show."""
        frame = encode_screen(lines)
        async with self._lock:
            try:
                await self._send(frame)
            except (OSError, TimeoutError) as first:
                logger.debug("%s send failed (%s), reconnecting", self._tag, first)
                await self._drop()
                try:
                    await self._send(frame)
                except (OSError, TimeoutError) as err:
                    await self._drop()
                    self._note_failure(err)
                    raise DeviceError(f"{self._tag}: {err or 'timeout'}") from err
        self._note_success()

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def _send(self, frame: bytes) -> None:
        if self._writer is None or self._reader.at_eof():
            await self._drop()
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self._timeout_s
            )
        logger.debug("%s tx %s", self._tag, frame.hex(" "))
        self._writer.write(frame)
        await asyncio.wait_for(self._writer.drain(), self._timeout_s)

    async def _drop(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), self._timeout_s)

    def _note_failure(self, err: Exception) -> None:
        if not self._failing:
            logger.warning("%s lost: %s", self._tag, err or "timeout")
            self._failing = True

    def _note_success(self) -> None:
        if self._failing:
            logger.info("%s recovered", self._tag)
            self._failing = False
