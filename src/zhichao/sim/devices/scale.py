"""A simulated weighing indicator streaming any supported format to a pty or TCP.

The weight behaves like a truck on a weighbridge: it ramps up over a few
seconds as the truck drives on, swings and settles to within one division,
and ramps off again. Frames go out ``rate`` times a second, each one byte by
byte at the pace of a real 8N1 line at ``baudrate`` (ten bits per byte), so a
reader sees the same partial reads it would see on hardware.

``protocol`` picks the format by its registry name (XK3190 tF=0 by default).
A command-mode format (``xk3190-tf1``) sends nothing until polled: each request
read from the line is answered with one reply. ``listen_tcp()`` adds a TCP
server, as a serial-to-Ethernet converter in server mode offers: every client
gets the same bytes as the pty.
"""

import asyncio
import contextlib
import logging
import math
import os
import random
import tty
from collections.abc import Callable
from pathlib import Path

from zhichao.errors import ProtocolError
from zhichao.protocols import ascii_line, toledo, xk3190
from zhichao.protocols.framing import DelimitedFramer
from zhichao.protocols.readings import WeightStatus
from zhichao.protocols.xk3190 import encode_tf0

logger = logging.getLogger(__name__)

POLL_READ_S = 0.005  # how often a polled indicator looks for a request
BITS_PER_BYTE = 10  # start bit, 8 data bits, stop bit
XOR_FIELD = slice(9, 11)  # the two ASCII hex digits of a tF=0 frame
# where each format keeps its checksum, for inject_bad_checksum()
CHECK_FIELDS = {
    "xk3190-tf0": XOR_FIELD,
    "xk3190-tf1": slice(11, 13),
    "xk3190-a12": slice(11, 13),
    "toledo-continuous": slice(17, 18),
}
TF1_REQUEST = xk3190.TF1_REQUEST_LEN
MOTION_DIVISIONS = 1  # a change of more than this between frames is motion

FrameEncoder = Callable[[int, bool], bytes]


def frame_encoder(protocol: str = "xk3190-tf0") -> FrameEncoder:
    """``encode(kg, stable)`` for a format, as an indicator set to it sends."""
    encoders: dict[str, FrameEncoder] = {
        "xk3190-tf0": lambda kg, stable: encode_tf0(kg),
        "xk3190-tf1": lambda kg, stable: xk3190.encode_tf1_reply(kg),
        "xk3190-eq": lambda kg, stable: xk3190.encode_eq(kg),
        "xk3190-a12": lambda kg, stable: xk3190.encode_a12(kg),
        "toledo-continuous": lambda kg, stable: toledo.encode_toledo(kg, stable=stable),
        "ascii-line": lambda kg, stable: ascii_line.encode_ascii_line(
            kg, stable=stable
        ),
    }
    try:
        return encoders[protocol]
    except KeyError:
        raise ValueError(
            f"the simulated indicator speaks {', '.join(encoders)}, not {protocol!r}"
        ) from None


def overload_frame(protocol: str) -> bytes:
    """The frame a format sends when the display is over range."""
    if protocol == "xk3190-a12":
        return xk3190.encode_a12(None, status=WeightStatus.OVERLOAD)
    if protocol == "toledo-continuous":
        return toledo.encode_toledo(None, status=WeightStatus.OVERLOAD)
    if protocol == "ascii-line":
        return ascii_line.encode_ascii_line(None, status=WeightStatus.OVERLOAD)
    raise ValueError(f"{protocol} has no over-range frame")


def open_pty_pair(link: str | os.PathLike | None = None) -> tuple[int, str]:
    """Open a pseudo-terminal; return (master fd, path a reader opens).

    The slave side is set raw (no echo, no line editing) and closed again, so
    the reader is its only user. With ``link`` the path is a symlink to the
    slave, re-pointed on every call: a stable name, as udev gives a USB port.
    """
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    os.close(slave)
    os.set_blocking(master, False)
    if link is None:
        return master, path

    link = Path(link)
    staging = link.with_name(link.name + ".new")
    with contextlib.suppress(FileNotFoundError):
        staging.unlink()
    staging.symlink_to(path)
    staging.replace(link)
    return master, str(link)


class WeightModel:
    """The true load on the deck over time, as the indicator would display it."""

    def __init__(
        self,
        division_kg: int = 20,
        settle_tau_s: float = 0.7,
        sway_hz: float = 1.3,
        flicker: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        self.division_kg = division_kg
        self._settle_tau_s = settle_tau_s
        self._sway_hz = sway_hz
        self._flicker = flicker
        self._rng = rng or random.Random()
        self._start_kg = 0.0
        self.target_kg = 0.0
        self._ramp_start = 0.0
        self._ramp_s = 0.0

    def set_target(self, kg: float, now: float, ramp_s: float) -> None:
        self._start_kg = self._true(now)
        self.target_kg = kg
        self._ramp_start = now
        self._ramp_s = max(ramp_s, 0.0)

    def settle_at(self, kg: float) -> None:
        """Be at ``kg`` already, with only the last-division flicker left."""
        self._start_kg = self.target_kg = kg
        self._ramp_start = float("-inf")
        self._ramp_s = 0.0

    def displayed(self, now: float) -> int:
        """The displayed weight at ``now``, rounded to the division."""
        e = self.division_kg
        return round(self._true(now) / e) * e

    def _true(self, now: float) -> float:
        elapsed = now - self._ramp_start
        if elapsed < self._ramp_s:
            share = elapsed / self._ramp_s
            vibration = self._rng.uniform(-3, 3) * self.division_kg
            return (
                self._start_kg + (self.target_kg - self._start_kg) * share + vibration
            )
        if self.target_kg == 0:
            return 0.0  # an empty deck reads zero: zero tracking
        return self.target_kg + self._settling(elapsed - self._ramp_s)

    def _settling(self, since: float) -> float:
        swing = max(abs(self.target_kg - self._start_kg) * 0.02, 5 * self.division_kg)
        amplitude = swing * math.exp(-since / self._settle_tau_s)
        if amplitude >= self.division_kg / 2:
            return amplitude * math.sin(2 * math.pi * self._sway_hz * since)
        if self._rng.random() < self._flicker:
            return self._rng.choice((-1, 1)) * self.division_kg
        return 0.0


class SimulatedIndicator:
    """Writes indicator frames to the master side of a pty and to TCP clients.

    ``master_fd`` may be -1 for an indicator reached only over TCP.
    ``encode(kg)`` overrides the format's encoder (kept for older callers).
    """

    def __init__(
        self,
        master_fd: int,
        *,
        rate: float = 10.0,
        baudrate: int = 9600,
        model: WeightModel | None = None,
        encode: Callable[[int], bytes] | None = None,
        link: str | os.PathLike | None = None,
        protocol: str = "xk3190-tf0",
    ) -> None:
        self._fd = master_fd
        self._period_s = 1.0 / rate
        self._byte_s = BITS_PER_BYTE / baudrate
        self.model = model or WeightModel()
        self.protocol = protocol
        self._frame = frame_encoder(protocol)
        if encode is not None:
            self._frame = lambda kg, stable: encode(kg)
        self._encode = lambda kg: self._frame(kg, self._stable(kg))
        self._last_kg: int | None = None
        self._link = link
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self.polls_answered = 0
        self._injected: list[bytes] = []
        self._task: asyncio.Task | None = None
        self.frames_sent = 0
        self.bytes_dropped = 0

    @property
    def master_fd(self) -> int:
        return self._fd

    def drive_on(self, kg: float, ramp_s: float = 3.0) -> None:
        """A truck of ``kg`` gross drives onto the deck."""
        self.model.set_target(kg, _now(), ramp_s)

    def drive_off(self, ramp_s: float = 2.0) -> None:
        self.model.set_target(0, _now(), ramp_s)

    def set_weight(self, kg: float) -> None:
        """Jump to ``kg`` at once (already settled apart from the flicker)."""
        self.model.settle_at(kg)

    def inject(self, raw: bytes) -> None:
        """Send ``raw`` (garbage, a fragment) before the next frame."""
        self._injected.append(bytes(raw))

    def inject_bad_checksum(self) -> None:
        """Send one frame whose checksum does not match its content."""
        field = CHECK_FIELDS.get(self.protocol)
        if field is None:
            raise ValueError(f"{self.protocol} frames carry no checksum")
        frame = bytearray(self._encode(self.model.displayed(_now())))
        bad = b"00"[: field.stop - field.start]
        frame[field] = bad if bytes(frame[field]) != bad else b"FF"[: len(bad)]
        self.inject(bytes(frame))

    def inject_overload(self) -> None:
        """Send one over-range frame (for the formats that have one)."""
        self.inject(overload_frame(self.protocol))

    @property
    def polled(self) -> bool:
        return self.protocol == "xk3190-tf1"

    async def listen_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve the stream on TCP as well; return the port."""
        self._server = await asyncio.start_server(self._client, host, port)
        return self._server.sockets[0].getsockname()[1]

    async def _client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._clients.add(writer)
        try:
            while data := await reader.read(256):
                if self.polled:
                    await self._answer(data, writer)
        except OSError:
            pass
        finally:
            self._clients.discard(writer)
            writer.close()

    def _stable(self, kg: int) -> bool:
        last, self._last_kg = self._last_kg, kg
        if last is None:
            return True
        return abs(kg - last) <= MOTION_DIVISIONS * self.model.division_kg

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="simulated indicator")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._server is not None:
            self._server.close()
            for writer in list(self._clients):
                writer.close()
            self._server = None

    def close(self) -> None:
        """Close the master side: the reader sees the port vanish.

        The link goes too, as udev removes a USB adapter's name when it is
        unplugged. Left in place it would name a pty number the system hands
        to the next pty anyone opens, and a reader trying the link again would
        read (and flush) another program's line.
        """
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._link is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._link)

    def reopen(self) -> str:
        """Close the pty and open a new one (at the same link, if any)."""
        self.close()
        self._fd, path = open_pty_pair(self._link)
        logger.info("indicator reopened at %s", path)
        return path

    async def run(self) -> None:
        if self.polled:
            await self._serve_polls()
            return
        loop = asyncio.get_running_loop()
        next_frame = loop.time()
        while True:
            for raw in self._take_injected():
                await self._write_paced(raw)
            await self._write_paced(self._encode(self.model.displayed(_now())))
            self.frames_sent += 1
            next_frame += self._period_s
            await asyncio.sleep(max(0.0, next_frame - loop.time()))

    async def _serve_polls(self) -> None:
        """Answer each request read from the pty (TCP clients are served apart).

        The master side is polled rather than watched: until a reader opens the
        slave side, reading the master fails with EIO, and it must be tried
        again later rather than given up.
        """
        while True:
            try:
                data = os.read(self._fd, 256) if self._fd >= 0 else b""
            except BlockingIOError:
                data = b""
            except OSError:  # EIO: nobody has the slave side open (yet)
                await asyncio.sleep(0.05)
                continue
            if data:
                await self._answer(data, None)
            else:
                await asyncio.sleep(POLL_READ_S)

    async def _answer(self, data: bytes, writer: asyncio.StreamWriter | None) -> None:
        framer = DelimitedFramer(start=b"\x02", end=b"\x03", max_len=TF1_REQUEST)
        for frame in framer.feed(data):
            try:
                address, command = xk3190.decode_tf1_request(frame)
            except ProtocolError:
                continue
            kg = self.model.displayed(_now())
            reply = self._take_injected() + [
                xk3190.encode_tf1_reply(kg, address=address, command=command)
            ]
            self.polls_answered += 1
            for raw in reply:
                if writer is None:
                    await self._write_paced(raw)
                else:
                    writer.write(raw)
                    await writer.drain()

    def _take_injected(self) -> list[bytes]:
        injected, self._injected = self._injected, []
        return injected

    async def _write_paced(self, data: bytes) -> None:
        """Write byte by byte, each when the line would have finished it."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, byte in enumerate(data):
            due = start + (index + 1) * self._byte_s
            await asyncio.sleep(max(0.0, due - loop.time()))
            self._write(bytes([byte]))

    def _write(self, data: bytes) -> None:
        if not self.polled:
            for writer in list(self._clients):
                writer.write(data)
        if self._fd < 0:
            if not self._clients:
                self.bytes_dropped += len(data)
            return
        try:
            os.write(self._fd, data)
        except (BlockingIOError, OSError):
            # Nobody is reading the line: the bytes are lost, as on a real wire.
            self.bytes_dropped += len(data)


def _now() -> float:
    return asyncio.get_running_loop().time()
