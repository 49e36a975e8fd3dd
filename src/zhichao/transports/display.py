"""LED screens (显示屏) on a byte stream: TCP or a serial line.

``StreamDisplay.show(lines)`` sends one frame made by its ``encode`` function
(zhichao's plain GBK framing, or Onbon's). The stream is opened on first use
and reopened when the screen dropped it (controllers often close idle
connections); one failed send is retried on a fresh stream before it becomes a
DeviceError. ``TcpDisplay`` is the plain framing over TCP.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

import serial
import serial_asyncio_fast

from zhichao.errors import DeviceError
from zhichao.protocols.display_text import encode_screen

logger = logging.getLogger(__name__)

TIMEOUT_S = 2.0

Encode = Callable[[Sequence[str]], bytes]
OpenStream = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
ERRORS = (OSError, TimeoutError, serial.SerialException)


def tcp_opener(host: str, port: int) -> OpenStream:
    async def open_tcp():
        return await asyncio.open_connection(host, port)

    return open_tcp


def serial_opener(url: str, baudrate: int = 9600) -> OpenStream:
    async def open_serial():
        return await serial_asyncio_fast.open_serial_connection(
            url=url, baudrate=baudrate
        )

    return open_serial


class StreamDisplay:
    """One LED screen controller behind a stream that ``open_stream`` opens."""

    def __init__(
        self,
        open_stream: OpenStream,
        encode: Encode = encode_screen,
        *,
        tag: str = "display",
        timeout_s: float = TIMEOUT_S,
        fit: Callable[[Sequence[str]], Sequence[str]] | None = None,
    ) -> None:
        self._open_stream = open_stream
        self._encode = encode
        self._fit = fit
        self._timeout_s = timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()
        self._failing = False
        self._tag = tag

    async def show(self, lines: Sequence[str]) -> None:
        """Put ``lines`` on the screen; EncodingError for text it cannot show."""
        if self._fit is not None:
            lines = self._fit(lines)
        frame = self._encode(lines)
        async with self._lock:
            try:
                await self._send(frame)
            except ERRORS as first:
                logger.debug("%s send failed (%s), reconnecting", self._tag, first)
                await self._drop()
                try:
                    await self._send(frame)
                except ERRORS as err:
                    await self._drop()
                    self._note_failure(err)
                    raise DeviceError(f"{self._tag}: {str(err) or 'timeout'}") from err
        self._note_success()

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def _send(self, frame: bytes) -> None:
        if self._writer is None or self._reader.at_eof():
            await self._drop()
            self._reader, self._writer = await asyncio.wait_for(
                self._open_stream(), self._timeout_s
            )
        logger.debug("%s tx %s", self._tag, frame.hex(" "))
        self._writer.write(frame)
        await asyncio.wait_for(self._writer.drain(), self._timeout_s)

    async def _drop(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(*ERRORS):
                await asyncio.wait_for(writer.wait_closed(), self._timeout_s)

    def _note_failure(self, err: Exception) -> None:
        if not self._failing:
            logger.warning("%s lost: %s", self._tag, str(err) or "timeout")
            self._failing = True

    def _note_success(self) -> None:
        if self._failing:
            logger.info("%s recovered", self._tag)
            self._failing = False


class TcpDisplay(StreamDisplay):
    """A screen speaking zhichao's plain GBK framing at ``host:port``."""

    def __init__(self, host: str, port: int, *, timeout_s: float = TIMEOUT_S) -> None:
        super().__init__(
            tcp_opener(host, port),
            encode_screen,
            tag=f"display {host}:{port}",
            timeout_s=timeout_s,
        )
        self.host = host
        self.port = port
