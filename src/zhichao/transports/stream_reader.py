"""Read a device byte stream, cut it into frames and deliver decoded readings.

One ``FrameReader`` per device stream: a serial port through pyserial (a path
such as ``/dev/ttyUSB0`` or ``/dev/pts/5``, or pyserial's ``socket://host:port``
for a serial-to-Ethernet converter or an axle identifier on TCP). It is generic
over the framer and the decoder, so the same loop serves every protocol.

Bad frames and discarded bytes are counted and logged (rate-limited) and never
become readings; a lost port is reopened with backoff, logged once when lost and
once when it recovers.

``state`` tells callers whether the device is working: ``FAULT`` from the first
failure to open, a lost connection, or (with ``idle_timeout_s``) that long
without a good frame, until the device works again. A command-mode device is
polled: ``poll_request`` is written every ``poll_interval_s`` seconds.
"""

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

import serial
import serial_asyncio_fast

from zhichao.errors import ChecksumError, ProtocolError
from zhichao.protocols.registry import Framer
from zhichao.tasks import cancel_and_wait
from zhichao.transports.badinput import BadInputLog

logger = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 2.0  # how long a lost connection may take to close

READ_SIZE = 4096
GARBAGE_RUN = 256  # discarded bytes reported together, as one bad input

Decode = Callable[[bytes], Any]
Deliver = Callable[[Any], Awaitable[None] | None]
OpenStream = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


class ReaderState(StrEnum):
    """Whether a device stream is working (设备状态)."""

    STARTING = "starting"  # not yet opened
    OK = "ok"
    FAULT = "fault"  # cannot be opened, lost, or silent too long


OnState = Callable[[ReaderState, str | None], None]


class FrameReader:
    """Keep a device stream open and turn its bytes into readings.

    ``decode`` takes one frame and returns a reading or raises ProtocolError;
    for a scale protocol pass ``functools.partial(protocol.decode, unit="kg")``.
    ``on_reading`` may be a plain function or a coroutine function.
    ``idle_timeout_s`` (None: wait forever) treats a stream that brings no
    good frame for that long as lost, for devices that send continuously or
    are polled; the stream is then a fault until a good frame arrives.
    ``on_state(state, reason)`` is called on every change of ``state``.
    """

    def __init__(
        self,
        url: str,
        new_framer: Callable[[], Framer],
        decode: Decode,
        on_reading: Deliver,
        *,
        baudrate: int = 9600,
        lane: str = "",
        device: str = "",
        idle_timeout_s: float | None = None,
        backoff_min_s: float = 0.2,
        backoff_max_s: float = 30.0,
        open_stream: OpenStream | None = None,
        poll_request: bytes | None = None,
        poll_interval_s: float | None = None,
        on_state: OnState | None = None,
    ) -> None:
        self.url = url
        self._new_framer = new_framer
        self._decode = decode
        self._on_reading = on_reading
        self._baudrate = baudrate
        self._tag = f"lane {lane or '-'} {device or url}"
        self._idle_timeout_s = idle_timeout_s
        self._backoff_min_s = backoff_min_s
        self._backoff_max_s = backoff_max_s
        self._open_stream = open_stream or self._open_serial
        self._bad = BadInputLog(logger, self._tag)
        self._task: asyncio.Task | None = None
        self._synced = False
        self._garbage = bytearray()
        self._connected = asyncio.Event()
        self._poll_request = poll_request
        self._poll_interval_s = poll_interval_s or 0.1
        self._on_state = on_state
        self.state = ReaderState.STARTING
        self._last_frame = 0.0
        self.fault_reason: str | None = None
        self.stats = {
            "frames": 0,
            "bad_frames": 0,
            "discarded_bytes": 0,
            "connects": 0,
            "callback_errors": 0,
            "polls": 0,
        }

    @property
    def faulted(self) -> bool:
        return self.state is ReaderState.FAULT

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    def start(self) -> None:
        """Run the read loop as a task of the running event loop."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name=f"reader {self._tag}")

    async def stop(self) -> None:
        if self._task is None:
            return
        await cancel_and_wait([self._task], what=self._tag)
        self._task = None
        self._bad.flush(force=True)

    async def run(self) -> None:
        """Read until cancelled, reopening the stream whenever it is lost."""
        delay = self._backoff_min_s
        while True:
            try:
                reader, writer = await self._open_stream()
            except (OSError, serial.SerialException) as err:
                self._fault(f"cannot be opened: {err}")
                logger.debug("%s retry in %.1f s", self._tag, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff_max_s)
                continue

            delay = self._backoff_min_s
            if self._idle_timeout_s is None:
                self._working("connected")
            reason = await self._serve(reader, writer)
            self._fault(f"lost: {reason}")

    def _fault(self, reason: str) -> None:
        """Enter the fault state; only the first failure of an outage is logged."""
        if self.state is not ReaderState.FAULT:
            logger.warning("%s %s", self._tag, reason)
            self._set_state(ReaderState.FAULT, reason)
        else:
            logger.debug("%s still failing: %s", self._tag, reason)

    def _working(self, how: str) -> None:
        if self.state is ReaderState.OK:
            return
        recovered = self.state is ReaderState.FAULT
        logger.info("%s %s", self._tag, "recovered" if recovered else how)
        self._set_state(ReaderState.OK, None)

    def _set_state(self, state: ReaderState, reason: str | None) -> None:
        self.state, self.fault_reason = state, reason
        if self._on_state is not None:
            try:
                self._on_state(state, reason)
            except Exception:
                logger.exception("%s state callback failed", self._tag)

    async def _open_serial(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await serial_asyncio_fast.open_serial_connection(
            url=self.url, baudrate=self._baudrate
        )

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> str:
        """Read one connection until it ends; return why it ended."""
        framer = self._new_framer()
        self._synced = False  # joining a running stream usually cuts one frame
        self.stats["connects"] += 1
        self._connected.set()
        poller = None
        if self._poll_request is not None:
            poller = asyncio.create_task(self._poll(writer), name=f"poll {self._tag}")
        try:
            return await self._read_loop(reader, framer)
        finally:
            if poller is not None:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await poller
            self._connected.clear()
            self._report_garbage()
            self._synced = False  # a frame cut by the loss is no line fault
            framer.flush()
            self._collect_garbage(framer)
            writer.close()
            # bounded: a serial transport whose background close never reports
            # back must not hang the reader's stop (and the lane's) for ever
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT_S)

    async def _poll(self, writer: asyncio.StreamWriter) -> None:
        """Ask a command-mode device for its reading, again and again."""
        while True:
            logger.debug("%s tx %s", self._tag, self._poll_request.hex(" "))
            writer.write(self._poll_request)
            await writer.drain()
            self.stats["polls"] += 1
            await asyncio.sleep(self._poll_interval_s)

    async def _read_loop(self, reader: asyncio.StreamReader, framer: Framer) -> str:
        loop = asyncio.get_running_loop()
        self._last_frame = loop.time()
        got_bytes = False
        while True:
            timeout = None
            if self._idle_timeout_s is not None:
                since = loop.time() - self._last_frame
                timeout = max(self._idle_timeout_s - since, 0.0)
            try:
                data = await asyncio.wait_for(reader.read(READ_SIZE), timeout)
            except TimeoutError:
                if got_bytes:
                    return f"no valid frame for {self._idle_timeout_s} s"
                return f"silent for {self._idle_timeout_s} s"
            except (OSError, serial.SerialException) as err:
                return str(err) or type(err).__name__
            if not data:
                return "end of stream"
            got_bytes = True

            logger.debug("%s rx %s", self._tag, data.hex(" "))
            frames = framer.feed(data)
            self._collect_garbage(framer)
            if frames or len(self._garbage) >= GARBAGE_RUN:
                self._report_garbage()
            for frame in frames:
                await self._handle_frame(frame)
            self._bad.flush()

    async def _handle_frame(self, frame: bytes) -> None:
        try:
            reading = self._decode(frame)
        except ProtocolError as err:
            self.stats["bad_frames"] += 1
            kind = "checksum errors" if isinstance(err, ChecksumError) else "bad frames"
            self._bad.report(f"bad frame ({err})", frame, kind)
            return

        self.stats["frames"] += 1
        self._synced = True
        self._last_frame = asyncio.get_running_loop().time()
        self._working("receiving")
        try:
            result = self._on_reading(reading)
            if inspect.isawaitable(result):
                await result
        except Exception:
            self.stats["callback_errors"] += 1
            logger.exception("%s reading callback failed", self._tag)

    def _collect_garbage(self, framer: Framer) -> None:
        discarded = framer.take_discarded()
        if not discarded:
            return
        self.stats["discarded_bytes"] += len(discarded)
        if self._synced:
            self._garbage += discarded
        else:
            logger.debug(
                "%s skipped %d bytes before a frame", self._tag, len(discarded)
            )

    def _report_garbage(self) -> None:
        """Report the run of discarded bytes since the last frame as one input."""
        if self._garbage:
            run, self._garbage = bytes(self._garbage), bytearray()
            self._bad.report(f"discarded {len(run)} bytes", run, "discarded runs")
